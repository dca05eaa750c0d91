/**
 * The `prefix` option every parser takes: validated once, and resolved to
 * the object the parser writes into.
 *
 * @module
 */

import { fieldGetter, type Fields, fieldSetter, isMacro, type LogEvent } from "./event.ts";

/**
 * Validates a parser's `prefix` option: a dotted field path (leading and
 * trailing dots ignored) or `""` for the top of the field tree.
 *
 * @param factory The factory's name, for the error message.
 * @param prefix The option's value.
 * @returns The normalised path.
 * @throws {TypeError} When it is not a string.
 * @throws {RangeError} When it names a macro or has empty segments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolvePrefix } from "./prefix.ts";
 * assert.equal(resolvePrefix("kvParser", ".fw."), "fw");
 * assert.throws(() => resolvePrefix("kvParser", "HOST"), RangeError);
 * ```
 */
export function resolvePrefix(factory: string, prefix: unknown): string {
  if (typeof prefix !== "string") {
    const shown = typeof prefix === "string" ? `"${prefix}"` : String(prefix);
    throw new TypeError(`${factory}: "prefix" must be a string, got ${shown}`);
  }
  const path = prefix.replace(/^\.+|\.+$/g, "");
  if (path !== "" && (path.split(".").includes("") || isMacro(path))) {
    throw new RangeError(
      `${factory}: "prefix" must be a dotted field path, not a macro or empty segments, got "${prefix}"`,
    );
  }
  return path;
}

/**
 * Compiles a resolved prefix into a function returning the object a parser
 * writes into, creating it (or replacing a non-object value) on demand.
 *
 * @param prefix A path from {@linkcode resolvePrefix}.
 * @returns A function from event to its target object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prefixTarget } from "./prefix.ts";
 * import { createEvent } from "./event.ts";
 * const event = createEvent("x");
 * prefixTarget("sshd")(event).user = "root";
 * assert.deepEqual(event.fields, { sshd: { user: "root" } });
 * ```
 */
export function prefixTarget(prefix: string): (event: LogEvent) => Fields {
  if (prefix === "") return (event) => event.fields;
  const get = fieldGetter(prefix);
  const set = fieldSetter(prefix);
  return (event) => {
    let there = get(event);
    if (there === null || typeof there !== "object" || Array.isArray(there)) {
      there = {};
      set(event, there);
    }
    return there as Fields;
  };
}
