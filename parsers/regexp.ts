/**
 * A regular-expression parser: named groups become fields.
 *
 * @module
 */

import { prefixTarget, resolvePrefix } from "../core/prefix.ts";
import { fieldGetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";

/** Options for {@linkcode regexpParser}. */
export interface RegexpParserOptions {
  /**
   * Where the named groups go: `"ssh"` stores group `user` at `ssh.user`;
   * `""` stores them at the top of the field tree. Leading and trailing dots
   * are ignored.
   * @default {""}
   */
  prefix?: string;
  /** The field (or macro) to match. @default {"MSG"} */
  field?: string;
  /** A name for stats. */
  name?: string;
}

/**
 * Matches text against one or more patterns; the first that matches wins
 * and its named groups (`(?<user>\S+)`) are stored as strings. Groups that
 * took no part in the match are not set. No pattern matching makes
 * `parse()` return `false`.
 *
 * Strings are compiled without flags; pass a `RegExp` for flags (`/…/i`).
 * The `g` and `y` flags are dropped, since they would make matching depend
 * on the previous event.
 *
 * @param patterns A pattern or a list tried in order.
 * @param options Prefix and source field.
 * @returns The parser.
 * @throws {TypeError} When a pattern is neither a string nor a RegExp.
 * @throws {SyntaxError} When a string is not a valid regular expression.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { regexpParser } from "./regexp.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const parser = regexpParser(
 *   [/^Accepted (?<method>\S+) for (?<user>\S+)/, "^Failed (?<method>\\S+) for (?<user>\\S+)"],
 *   { prefix: "ssh" },
 * );
 * const event = createEvent("Failed password for root from 192.0.2.7 port 22 ssh2");
 * assert.ok(parser.parse(event) && getField(event, "ssh.user") === "root");
 * ```
 */
export function regexpParser(
  patterns: string | RegExp | readonly (string | RegExp)[],
  options: RegexpParserOptions = {},
): Parser {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  if (list.length === 0) {
    throw new RangeError(`regexpParser: "patterns" must hold at least one pattern, got []`);
  }
  const regexps = list.map((p, i) => _compile(p, i));
  const prefix = resolvePrefix("regexpParser", options.prefix ?? "");
  const field = options.field ?? "MSG";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`regexpParser: "field" must be a non-empty string, got ${_show(field)}`);
  }
  const read = field === "MSG" || field === "MESSAGE" ? null : fieldGetter(field);
  const target = prefixTarget(prefix);
  return {
    kind: "regexp",
    ...(options.name ? { name: options.name } : {}),
    parse(event: LogEvent): boolean {
      let text = read === null ? event.message : read(event);
      if (typeof text !== "string") {
        if (typeof text !== "number" && typeof text !== "boolean") return false;
        text = String(text);
      }
      for (const re of regexps) {
        const m = re.exec(text as string);
        if (m === null) continue;
        const groups = m.groups;
        if (groups !== undefined) {
          const out = target(event);
          for (const key in groups) {
            const value = groups[key];
            if (value !== undefined) out[key] = value;
          }
        }
        return true;
      }
      return false;
    },
  };
}

function _compile(pattern: unknown, index: number): RegExp {
  if (pattern instanceof RegExp) {
    const flags = pattern.flags.replace(/[gy]/g, "");
    return flags === pattern.flags ? pattern : new RegExp(pattern.source, flags);
  }
  if (typeof pattern !== "string") {
    throw new TypeError(
      `regexpParser: pattern ${index} must be a string or a RegExp, got ${_show(pattern)}`,
    );
  }
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new SyntaxError(
      `regexpParser: pattern ${index} "${pattern}" is not a valid regular expression: ${
        (error as Error).message
      }`,
    );
  }
}

function _show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}
