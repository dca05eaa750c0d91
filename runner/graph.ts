/**
 * Renders a pipeline's graph as text for `check`: sources → steps → sinks.
 *
 * @module
 */

import type { PathDefinition, PipelineDefinition } from "../core/pipeline.ts";
import type { Sink, Source, Step } from "../core/types.ts";

function _name(
  c: { kind: string; name?: string } | string,
  names: Map<unknown, string>,
  byName: Record<string, { kind: string }>,
): string {
  if (typeof c === "string") return byName[c] ? `${byName[c].kind}(${c})` : c;
  const named = names.get(c) ?? c.name;
  return named ? `${c.kind}(${named})` : c.kind;
}

function _step(step: Step): string {
  if (typeof step === "function") return `predicate(${step.name || "anonymous"})`;
  return step.name ? `${step.kind}(${step.name})` : step.kind;
}

/**
 * Describes a pipeline, one line per path, embedded paths indented:
 * `paths[0]: tcp(net) → json → sqlite(db), jsonl [final]`.
 *
 * @param pipeline The pipeline.
 * @returns The lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePipeline } from "./graph.ts";
 * import { generatorSource } from "../sources/generator.ts";
 * import { blackholeSink } from "../sinks/blackhole.ts";
 * const lines = describePipeline({ paths: [{ from: [generatorSource()], to: [blackholeSink()] }] });
 * assert.ok(lines[0] === "paths[0]: generator → blackhole");
 * ```
 */
export function describePipeline(pipeline: PipelineDefinition): string[] {
  const names = new Map<unknown, string>();
  for (const [k, s] of Object.entries(pipeline.sources ?? {})) names.set(s as Source, k);
  for (const [k, s] of Object.entries(pipeline.sinks ?? {})) names.set(s as Sink, k);
  const byName: Record<string, { kind: string }> = { ...pipeline.sources, ...pipeline.sinks };
  const lines: string[] = [];
  const walk = (paths: PathDefinition[], where: string, depth: number) => {
    paths.forEach((path, i) => {
      const here = path.name ?? `${where}[${i}]`;
      const parts: string[] = [];
      if (depth === 0) {
        parts.push(
          path.from?.length
            ? path.from.map((s) => _name(s, names, byName)).join(", ")
            : "(all sources)",
        );
      }
      for (const step of path.steps ?? []) parts.push(_step(step));
      if (path.to?.length) parts.push(path.to.map((s) => _name(s, names, byName)).join(", "));
      const flags = [
        ...(path.flags ?? []),
        ...(path.onUnparsed === "continue" ? ["unparsed continue"] : []),
      ];
      lines.push(
        `${"  ".repeat(depth)}${here}: ${parts.join(" → ") || "(no steps)"}${
          flags.length ? ` [${flags.join(", ")}]` : ""
        }`,
      );
      if (path.paths) walk(path.paths, `${here}.paths`, depth + 1);
    });
  };
  walk(pipeline.paths, "paths", 0);
  if (pipeline.deadLetter) lines.push(`dead letter → ${_name(pipeline.deadLetter, names, byName)}`);
  return lines;
}
