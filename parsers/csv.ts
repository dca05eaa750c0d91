/**
 * A delimiter-separated values parser (CSV, TSV, space-separated lines such
 * as addrwatch's).
 *
 * @module
 */

import { resolvePrefix } from "../core/prefix.ts";
import { fieldGetter, type Fields, fieldSetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";

/** Options for {@linkcode csvParser}. */
export interface CsvParserOptions {
  /**
   * Column names, in order. A dotted name nests (`"src.ip"`); an empty name
   * skips its column.
   */
  columns: readonly string[];
  /**
   * The delimiters. A string is a set of one-character delimiters, as in
   * syslog-ng's `delimiters(" ,")` (either a blank or a comma splits); an
   * array lists delimiters that may be longer than one character
   * (`["::", ";"]`).
   * @default {","}
   */
  delimiters?: string | readonly string[];
  /** The quote character; `""` turns quoting off. @default {'"'} */
  quote?: string;
  /**
   * How a quote is written inside a quoted value: `"double"` (`""`, as in
   * RFC 4180), `"backslash"` (`\"`, and `\\` for a backslash) or `"none"`.
   * @default {"double"}
   */
  escape?: "double" | "backslash" | "none";
  /** The last column takes the rest of the text, delimiters and all. @default {false} */
  greedy?: boolean;
  /** A value that stands for "no value" (`"-"`, `"NULL"`); such columns are set to `null`. */
  nullValue?: string;
  /** Trims blanks around each value (inside quotes they stay). @default {false} */
  stripWhitespace?: boolean;
  /**
   * Where the columns go; `""` is the top of the field tree. Leading and
   * trailing dots are ignored.
   * @default {"csv"}
   */
  prefix?: string;
  /** The field (or macro) holding the text. @default {"MSG"} */
  field?: string;
  /** A name for stats. */
  name?: string;
}

/**
 * Splits text into named columns. A line with fewer values than columns, or
 * more without {@linkcode CsvParserOptions.greedy}, is not of this shape:
 * `parse()` returns `false` and sets nothing. Values stay strings.
 *
 * Lines without a quote are split with `indexOf`; quoted values are read
 * character by character. Text after a closing quote and before the next
 * delimiter is kept as part of the value.
 *
 * @param options Columns, delimiters, quoting, greedy, null value, prefix.
 * @returns The parser.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When columns are missing or a delimiter is empty or clashes with the quote.
 *
 * @example addrwatch lines (`facility timestamp interface vlan MAC IP type`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { csvParser } from "./csv.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const parser = csvParser({
 *   columns: ["facility", "timestamp", "interface", "vlan", "mac", "ip", "type"],
 *   delimiters: " ",
 *   prefix: "arp",
 * });
 * const event = createEvent("daemon 1700000000 eth0 0 52:54:00:12:34:56 192.168.1.23 ARP_REQ");
 * assert.ok(parser.parse(event));
 * assert.ok(getField(event, "arp.mac") === "52:54:00:12:34:56");
 * ```
 */
export function csvParser(options: CsvParserOptions): Parser {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`csvParser: options with "columns" are required, got ${_show(options)}`);
  }
  const columns = options.columns;
  if (!Array.isArray(columns) || columns.some((c) => typeof c !== "string")) {
    throw new TypeError(`csvParser: "columns" must be an array of strings, got ${_show(columns)}`);
  }
  if (columns.length === 0) {
    throw new RangeError(`csvParser: "columns" must name at least one column, got []`);
  }
  for (const column of columns) {
    if (column !== "" && column.split(".").includes("")) {
      throw new RangeError(`csvParser: "columns" has an invalid name "${column}"`);
    }
  }
  const delimiters = _delimiters(options.delimiters ?? ",");
  const quote = options.quote ?? '"';
  if (typeof quote !== "string") {
    throw new TypeError(`csvParser: "quote" must be a string, got ${_show(quote)}`);
  }
  if (quote.length > 1 || (quote !== "" && delimiters.some((d) => d.includes(quote)))) {
    throw new RangeError(
      `csvParser: "quote" must be one character that is not a delimiter, or "", got "${quote}"`,
    );
  }
  const escape = options.escape ?? "double";
  if (escape !== "double" && escape !== "backslash" && escape !== "none") {
    throw new RangeError(
      `csvParser: "escape" must be "double", "backslash" or "none", got ${_show(escape)}`,
    );
  }
  const nullValue = options.nullValue;
  if (nullValue !== undefined && typeof nullValue !== "string") {
    throw new TypeError(`csvParser: "nullValue" must be a string, got ${_show(nullValue)}`);
  }
  const greedy = options.greedy ?? false;
  const strip = options.stripWhitespace ?? false;
  const prefix = resolvePrefix("csvParser", options.prefix ?? "csv");
  const field = options.field ?? "MSG";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`csvParser: "field" must be a non-empty string, got ${_show(field)}`);
  }
  const read = field === "MSG" || field === "MESSAGE" ? null : fieldGetter(field);
  const store = _store(prefix);
  const names = columns.slice();
  const nested = names.map((n) => (n.includes(".") ? n.split(".") : null));
  const ncols = names.length;
  const quoteCode = quote === "" ? -1 : quote.charCodeAt(0);
  const single = delimiters.every((d) => d.length === 1);
  // A one-character delimiter set becomes a lookup table for the scan.
  const isDelim = new Uint8Array(128);
  const wideDelims = new Set<number>();
  if (single) {
    for (const d of delimiters) {
      const c = d.charCodeAt(0);
      if (c < 128) isDelim[c] = 1;
      else wideDelims.add(c);
    }
  }
  const onlyDelim = single && delimiters.length === 1 ? delimiters[0] as string : null;
  const blankIsDelim = single && (isDelim[32] === 1 || isDelim[9] === 1);
  const values: Array<string | null> = new Array(ncols);

  // Finds the next delimiter at or after `from`, or -1.
  const nextDelim = onlyDelim !== null
    ? (s: string, from: number) => s.indexOf(onlyDelim, from)
    : single
    ? (s: string, from: number) => {
      for (let j = from; j < s.length; j++) {
        const c = s.charCodeAt(j);
        if (c < 128 ? isDelim[c] === 1 : wideDelims.has(c)) return j;
      }
      return -1;
    }
    : (s: string, from: number) => {
      let best = -1;
      for (const d of delimiters) {
        const j = s.indexOf(d, from);
        if (j >= 0 && (best < 0 || j < best)) best = j;
      }
      return best;
    };
  // The length of the longest delimiter at `at`.
  const delimAt = (s: string, at: number): number => {
    if (single) {
      const c = s.charCodeAt(at);
      return (c < 128 ? isDelim[c] === 1 : wideDelims.has(c)) ? 1 : 0;
    }
    let len = 0;
    for (const d of delimiters) if (d.length > len && s.startsWith(d, at)) len = d.length;
    return len;
  };
  const trim = (v: string): string => (strip ? v.trim() : v);

  const split = (s: string): boolean => {
    const n = s.length;
    let pos = 0;
    let col = 0;
    while (true) {
      if (greedy && col === ncols - 1) {
        values[col++] = trim(s.slice(pos));
        return true;
      }
      if (strip && !blankIsDelim) {
        let c = s.charCodeAt(pos);
        while (c === 32 || c === 9) c = s.charCodeAt(++pos);
      }
      let end: number;
      if (quoteCode >= 0 && s.charCodeAt(pos) === quoteCode) {
        // A quoted value: read to the closing quote, then to the next delimiter.
        let out = "";
        let from = pos + 1;
        let j = from;
        let closed = false;
        while (j < n) {
          const c = s.charCodeAt(j);
          if (escape === "backslash" && c === 92 && j + 1 < n) {
            out += s.slice(from, j);
            from = j + 1;
            j += 2;
            continue;
          }
          if (c === quoteCode) {
            if (escape === "double" && s.charCodeAt(j + 1) === quoteCode) {
              out += s.slice(from, j + 1);
              j += 2;
              from = j;
              continue;
            }
            out += s.slice(from, j);
            closed = true;
            j++;
            break;
          }
          j++;
        }
        if (!closed) out += s.slice(from, j);
        end = j >= n ? -1 : nextDelim(s, j);
        const rest = end < 0 ? s.slice(j) : s.slice(j, end);
        values[col++] = strip ? out + rest.trim() : out + rest;
      } else {
        end = nextDelim(s, pos);
        values[col++] = trim(end < 0 ? s.slice(pos) : s.slice(pos, end));
      }
      if (end < 0) return col === ncols;
      if (col === ncols) return false;
      pos = end + (single ? 1 : delimAt(s, end));
    }
  };

  return {
    kind: "csv",
    ...(options.name ? { name: options.name } : {}),
    parse(event: LogEvent): boolean {
      const text = read === null ? event.message : read(event);
      if (typeof text !== "string") return false;
      if (!split(text)) return false;
      const out: Fields = {};
      for (let i = 0; i < ncols; i++) {
        const name = names[i] as string;
        if (name === "") continue;
        const raw = values[i] as string;
        const value = raw === nullValue ? null : raw;
        const path = nested[i];
        if (path) _deep(out, path, value);
        else if (name === "__proto__") _define(out, name, value);
        else out[name] = value;
      }
      store(event, out);
      return true;
    },
  };
}

function _delimiters(value: unknown): string[] {
  let list: string[];
  if (typeof value === "string") list = [...value];
  else if (Array.isArray(value) && value.every((d) => typeof d === "string")) list = value.slice();
  else {
    throw new TypeError(
      `csvParser: "delimiters" must be a string or an array of strings, got ${_show(value)}`,
    );
  }
  if (list.length === 0 || list.some((d) => d === "")) {
    throw new RangeError(`csvParser: "delimiters" must not be empty, got ${JSON.stringify(value)}`);
  }
  return list;
}

function _deep(out: Fields, path: string[], value: unknown): void {
  let node = out;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    let next = node[key];
    if (next === null || typeof next !== "object") {
      next = {};
      if (key === "__proto__") _define(node, key, next);
      else node[key] = next;
    }
    node = next as Fields;
  }
  const last = path[path.length - 1] as string;
  if (last === "__proto__") _define(node, last, value);
  else node[last] = value;
}

function _define(out: Fields, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function _store(prefix: string): (event: LogEvent, out: Fields) => void {
  if (prefix === "") {
    return (event, out) => {
      for (const key in out) {
        if (key === "__proto__") _define(event.fields, key, out[key]);
        else event.fields[key] = out[key];
      }
    };
  }
  const get = fieldGetter(prefix);
  const set = fieldSetter(prefix);
  return (event, out) => {
    const there = get(event);
    if (there === null || typeof there !== "object" || Array.isArray(there)) set(event, out);
    else {for (const key in out) {
        if (key === "__proto__") _define(there as Fields, key, out[key]);
        else (there as Fields)[key] = out[key];
      }}
  };
}

function _show(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}
