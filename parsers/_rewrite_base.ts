/**
 * What the rewrites of parsers/rewrites.ts and parsers/group_set.ts share:
 * their options, a rewrite with a condition, and field writers with clear
 * errors.
 *
 * @module
 */

import { fieldSetter, isMacro, type LogEvent } from "../core/event.ts";
import type { Filter, Rewrite } from "../core/types.ts";
import { showValue as _show } from "./_filter_base.ts";

/** Options every rewrite takes. */
export interface RewriteOptions {
  /**
   * Rewrite only events this filter or predicate keeps, like syslog-ng's
   * `condition()`; the others pass unchanged.
   */
  condition?: Filter | ((event: LogEvent) => boolean);
  /** A name for stats. */
  name?: string;
}

/**
 * A rewrite of `kind` that runs `apply` on the events its `condition` (a
 * filter or predicate) keeps, with an optional stats name.
 *
 * @param kind The rewrite's kind.
 * @param options Condition and name.
 * @param apply What it does to an event.
 * @returns The rewrite.
 * @throws {TypeError} When the condition is neither a filter nor a function.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rewriteOf } from "./_rewrite_base.ts";
 * import { createEvent } from "../core/event.ts";
 * const upper = rewriteOf("upper", { condition: (e) => e.host === "a" }, (e) => {
 *   e.message = e.message.toUpperCase();
 * });
 * const event = createEvent("x", { host: "a" });
 * upper.apply(event);
 * assert.equal(event.message, "X");
 * ```
 */
export function rewriteOf(
  kind: string,
  options: RewriteOptions,
  apply: (e: LogEvent) => void,
): Rewrite {
  const condition = options.condition;
  let run = apply;
  if (condition !== undefined) {
    const keep = typeof condition === "function"
      ? condition
      : condition !== null && typeof condition === "object" &&
          typeof (condition as Filter).test === "function"
      ? (e: LogEvent) => condition.test(e)
      : null;
    if (keep === null) {
      throw new TypeError(
        `${kind}: "condition" must be a filter or a predicate function, got ${_show(condition)}`,
      );
    }
    run = (e) => {
      if (keep(e)) apply(e);
    };
  }
  return options.name ? { kind, name: options.name, apply: run } : { kind, apply: run };
}

/**
 * A writer of a field or macro, with errors that name the rewrite; with
 * `optional`, a read-only macro is skipped instead of refused.
 *
 * @param kind The rewrite, for errors.
 * @param name The field or macro.
 * @param optional Whether a read-only macro is silently skipped.
 * @returns The writer.
 * @throws {TypeError} On a bad name or a read-only macro.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setterOf } from "./_rewrite_base.ts";
 * import { createEvent } from "../core/event.ts";
 * const event = createEvent("x");
 * setterOf("set", "meta.site")(event, "home");
 * assert.deepEqual(event.fields.meta, { site: "home" });
 * ```
 */
export function setterOf(
  kind: string,
  name: unknown,
  optional?: boolean,
): (e: LogEvent, v: unknown) => void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`${kind}: a field name must be a non-empty string, got ${_show(name)}`);
  }
  try {
    return fieldSetter(name);
  } catch {
    if (optional && isMacro(name)) return () => {};
    throw new TypeError(`${kind}: "${name}" is a read-only macro and cannot be written`);
  }
}
