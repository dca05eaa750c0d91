/**
 * What the filter functions of parsers/filters.ts and parsers/netmask.ts
 * share: building a {@linkcode Filter} from a test, reading a field as
 * text, compiling a pattern, and showing a bad argument in an error.
 *
 * @module
 */

import { fieldGetter, type LogEvent, valueToString } from "../core/event.ts";
import type { Filter } from "../core/types.ts";

/** A test on one event. */
export type FilterTest = (event: LogEvent) => boolean;

/**
 * A filter of `kind` with an optional stats name.
 *
 * @param kind The filter's kind (`match`, `netmask` …).
 * @param name A name for stats, if given.
 * @param test The test.
 * @returns The filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filterOf } from "./_filter_base.ts";
 * import { createEvent } from "../core/event.ts";
 * const f = filterOf("always", undefined, () => true);
 * assert.equal(f.test(createEvent("x")), true);
 * ```
 */
export function filterOf(kind: string, name: string | undefined, test: FilterTest): Filter {
  return name ? { kind, name, test } : { kind, test };
}

/**
 * A value as an error message shows it: strings quoted, arrays as JSON,
 * functions and objects by their kind.
 *
 * @param value Anything.
 * @returns A short text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showValue } from "./_filter_base.ts";
 * assert.equal(showValue("x"), '"x"');
 * assert.equal(showValue({}), "an object");
 * ```
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/**
 * Reads a field or macro of an event as text (`MSG`/`MESSAGE` is the
 * message itself).
 *
 * @param name The field or macro.
 * @returns A reader.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textOf } from "./_filter_base.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.equal(textOf("MSG")(createEvent("hello")), "hello");
 * ```
 */
export function textOf(name: string): (event: LogEvent) => string {
  if (name === "MSG" || name === "MESSAGE") return (e) => e.message;
  const get = fieldGetter(name);
  return (e) => valueToString(get(e));
}

/**
 * Compiles a pattern as syslog-ng's `type()` says: `"regexp"` searches
 * anywhere, `"string"` compares the whole value, `"glob"` matches the
 * whole value against `*` and `?`; a RegExp is used as given (without
 * `g`/`y`).
 *
 * @param kind The filter, for errors.
 * @param pattern A string or RegExp.
 * @param options The type and case folding.
 * @returns A test on text.
 * @throws {TypeError | RangeError | SyntaxError} On a bad pattern or type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePattern } from "./_filter_base.ts";
 * const test = compilePattern("program", "ssh*", { type: "glob" });
 * assert.equal(test("sshd"), true);
 * assert.equal(test("xsshd"), false);
 * ```
 */
export function compilePattern(
  kind: string,
  pattern: unknown,
  options: { type?: string; ignoreCase?: boolean },
): (text: string) => boolean {
  const type = options.type ?? "regexp";
  const fold = options.ignoreCase === true;
  if (type !== "regexp" && type !== "string" && type !== "glob") {
    throw new RangeError(
      `${kind}: "type" must be "regexp", "string" or "glob", got ${showValue(type)}`,
    );
  }
  if (pattern instanceof RegExp) {
    if (type !== "regexp") {
      throw new TypeError(`${kind}: a RegExp pattern needs "type" "regexp", got "${type}"`);
    }
    let flags = pattern.flags.replace(/[gy]/g, "");
    if (fold && !flags.includes("i")) flags += "i";
    const re = flags === pattern.flags ? pattern : new RegExp(pattern.source, flags);
    return (text) => re.test(text);
  }
  if (typeof pattern !== "string") {
    throw new TypeError(
      `${kind}: the pattern must be a string or a RegExp, got ${showValue(pattern)}`,
    );
  }
  if (type === "string") {
    if (!fold) return (text) => text === pattern;
    const lower = pattern.toLowerCase();
    return (text) => text.length === lower.length && text.toLowerCase() === lower;
  }
  let source = pattern;
  if (type === "glob") {
    source = "^" + pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^]*")
      .replace(/\?/g, "[^]") +
      "$";
  }
  let re: RegExp;
  try {
    re = new RegExp(source, fold ? "i" : "");
  } catch (error) {
    throw new SyntaxError(
      `${kind}: "${pattern}" is not a valid regular expression: ${(error as Error).message}`,
    );
  }
  return (text) => re.test(text);
}
