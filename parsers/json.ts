/**
 * A JSON parser: one `JSON.parse` per event, the resulting tree stored
 * under a prefix, arrays kept as arrays and numbers as numbers.
 *
 * @module
 */

import { resolvePrefix } from "../core/prefix.ts";
import { fieldGetter, type Fields, fieldSetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";

/** Options for {@linkcode jsonParser}. */
export interface JsonParserOptions {
  /**
   * Where the parsed object goes: `"json"` stores it at `json.*`, a dotted
   * prefix (`"vm.alert"`) nests it, and `""` merges its keys into the top of
   * the field tree. Leading and trailing dots are ignored, so syslog-ng's
   * `".json."` works too.
   * @default {"json"}
   */
  prefix?: string;
  /** The field (or macro) holding the JSON text. @default {"MSG"} */
  field?: string;
  /**
   * What to do with integers too large to be exact as a JavaScript number
   * (Docker's `timeNano`): `"number"` keeps `JSON.parse`'s rounded number,
   * `"string"` keeps their exact digits as a string. `"string"` costs one
   * regular-expression test per line, and a slower parse (with a reviver)
   * for lines that hold a number of 16 or more digits.
   * @default {"number"}
   */
  largeIntegers?: "number" | "string";
  /** A name for stats. */
  name?: string;
}

/**
 * Parses a JSON object into the field tree. Nested objects stay a tree
 * (`${json.alert.rule}` addresses them), arrays stay arrays and numbers stay
 * numbers. Text that is not a JSON object (invalid JSON, an array, a bare
 * string or number) makes `parse()` return `false` and leaves the event as
 * it was, raw message included.
 *
 * With a non-empty prefix and nothing object-like stored there yet, the
 * parsed tree is assigned as it is, without a copy; otherwise its top-level
 * keys are merged into what is there.
 *
 * @param options Prefix, source field and large-integer handling.
 * @returns The parser.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When the prefix names a macro or has empty segments.
 *
 * @example Parse a YARA alert line
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonParser } from "./json.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const parser = jsonParser({ prefix: "alert" });
 * const event = createEvent('{"rule":"Mimikatz_Strings","meta":{"score":90}}');
 * assert.ok(parser.parse(event));
 * assert.ok(getField(event, "alert.meta.score") === 90);
 * ```
 */
export function jsonParser(options: JsonParserOptions = {}): Parser {
  const prefix = resolvePrefix("jsonParser", options.prefix ?? "json");
  const field = options.field ?? "MSG";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`jsonParser: "field" must be a non-empty string, got ${_show(field)}`);
  }
  const largeIntegers = options.largeIntegers ?? "number";
  if (largeIntegers !== "number" && largeIntegers !== "string") {
    throw new RangeError(
      `jsonParser: "largeIntegers" must be "number" or "string", got ${_show(largeIntegers)}`,
    );
  }
  const read = field === "MSG" || field === "MESSAGE" ? null : fieldGetter(field);
  const store = _store(prefix);
  const exact = largeIntegers === "string";
  return {
    kind: "json",
    ...(options.name ? { name: options.name } : {}),
    parse(event: LogEvent): boolean {
      const text = read === null ? event.message : read(event);
      if (typeof text !== "string") return false;
      // Throwing is slow: reject text that cannot start an object before parsing.
      let i = 0;
      let c = text.charCodeAt(0);
      while (c === 32 || c === 9 || c === 10 || c === 13) c = text.charCodeAt(++i);
      if (c !== 123) return false;
      let tree: unknown;
      try {
        tree = exact && _LONG_DIGITS.test(text)
          ? JSON.parse(text, _exactIntegers as (k: string, v: unknown) => unknown)
          : JSON.parse(text);
      } catch {
        return false;
      }
      if (tree === null || typeof tree !== "object" || Array.isArray(tree)) return false;
      store(event, tree as Fields);
      return true;
    },
  };
}

// A number token of 16 or more digits: after `:`, `[` or `,`, so that long
// digit runs inside strings (hashes, ids) rarely send a line down the slow path.
const _LONG_DIGITS = /[:,[]\s*-?\d{16}/;

function _exactIntegers(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source) {
    const source = context.source;
    // Only integers: a float such as 1e400 or 0.1 keeps its number value.
    if (/^-?\d+$/.test(source)) return source;
  }
  return value;
}

function _store(prefix: string): (event: LogEvent, tree: Fields) => void {
  if (prefix === "") return (event, tree) => _merge(event.fields, tree);
  const get = fieldGetter(prefix);
  const set = fieldSetter(prefix);
  return (event, tree) => {
    const there = get(event);
    if (there === null || typeof there !== "object" || Array.isArray(there)) set(event, tree);
    else _merge(there as Fields, tree);
  };
}

function _merge(target: Fields, tree: Fields): void {
  for (const key in tree) {
    if (key === "__proto__") {
      Object.defineProperty(target, key, {
        value: tree[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else target[key] = tree[key];
  }
}

function _show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}
