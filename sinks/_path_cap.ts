/**
 * The JSONL sink's cap on distinct files per day: a templated path
 * (`by_vm/${HOST}.jsonl`) takes its value from the event, which any sender on
 * the network may choose, so without a cap each new name makes a new file.
 *
 * @module
 */

import type { Template } from "../core/template.ts";

/** Admits at most `max` distinct paths per UTC day; the rest become `overflow`. */
export class PathCap {
  #max: number;
  #overflow: string;
  #day = -1;
  #cappedDay = -1;
  #today = new Set<string>();
  /** Events sent to the overflow path since the last {@linkcode PathCap.take}. */
  capped = 0;

  constructor(max: number, overflow: string) {
    this.#max = max;
    this.#overflow = overflow;
  }

  /**
   * The path an event goes to: its own, or the overflow path once `max` others were
   * written today. `warn` is called once a day, when the cap is first reached.
   */
  admit(path: string, now: number, warn: (message: string) => void): string {
    if (this.#today.has(path)) return path;
    const day = Math.floor(now / 86_400_000);
    if (day !== this.#day) {
      this.#day = day;
      this.#today.clear();
    }
    if (this.#today.size < this.#max || path === this.#overflow) {
      this.#today.add(path);
      return path;
    }
    if (this.#cappedDay !== day) {
      this.#cappedDay = day;
      warn(
        `${this.#max} distinct files today (maxPathsPerDay): events for new ones go to "${this.#overflow}" until midnight UTC`,
      );
    }
    this.capped++;
    return this.#overflow;
  }

  /** Returns and resets the count of events sent to the overflow path. */
  take(): number {
    const n = this.capped;
    this.capped = 0;
    return n;
  }
}

/**
 * Where a path template overflows: `_other.jsonl` in the literal directory
 * before its first value.
 *
 * @param path The sink's path template.
 * @returns The overflow path, relative to the sink's directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { overflowPath } from "./_path_cap.ts";
 * assert.equal(overflowPath("by_vm/${HOST}.jsonl"), "by_vm/_other.jsonl");
 * assert.equal(overflowPath("${HOST}.jsonl"), "_other.jsonl");
 * ```
 */
export function overflowPath(path: Template): string {
  if (typeof path !== "string") return "_other.jsonl";
  const at = path.indexOf("$");
  const literal = at < 0 ? path : path.slice(0, at);
  return `${literal.slice(0, literal.lastIndexOf("/") + 1)}_other.jsonl`;
}
