/**
 * The line the benchmark pipelines write to their JSONL file: the parsed
 * tree back as JSON, the same work as the contenders' syslog-ng
 * `file("$(format-json --key json.*)")` and rsyslog `omfile("$!all-json")`.
 * (sluice's own `jsonLine` also writes the raw message and the well-known
 * fields: about twice the bytes; the central example's all_events.jsonl
 * uses it.)
 *
 * @module
 */

import type { LogEvent } from "../../mod.ts";

/**
 * Renders `json.*` (the json parser's tree) as one JSON line.
 *
 * @param e The event.
 * @returns The line, with its newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../../mod.ts";
 * import { parsedTree } from "./_parsed_tree.ts";
 * assert.equal(parsedTree(createEvent("x", { fields: { json: { a: 1 } } })), '{"a":1}\n');
 * ```
 */
export function parsedTree(e: LogEvent): string {
  return JSON.stringify(e.fields.json) + "\n";
}
