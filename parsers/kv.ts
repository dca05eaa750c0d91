/**
 * A key=value parser for iptables/netfilter LOG lines, logfmt and similar
 * formats.
 *
 * @module
 */

import { resolvePrefix } from "../core/prefix.ts";
import { fieldGetter, type Fields, fieldSetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";

/** Options for {@linkcode kvParser}. */
export interface KvParserOptions {
  /**
   * Where the pairs go: `"fw"` stores `SRC` at `fw.SRC`; `""` stores them at
   * the top of the field tree. Leading and trailing dots are ignored.
   * @default {"kv"}
   */
  prefix?: string;
  /** The field (or macro) holding the text. @default {"MSG"} */
  field?: string;
  /** The one character between a key and its value. @default {"="} */
  valueSeparator?: string;
  /**
   * What separates pairs. Whitespace (any run of spaces and tabs) when it is
   * blank; otherwise this exact string (`";"`, `", "`, `"&"`), with blanks
   * around keys and unquoted values trimmed.
   * @default {" "}
   */
  pairSeparator?: string;
  /**
   * Key, under the prefix, for the text before the first pair (an iptables
   * `--log-prefix` such as `"[UFW BLOCK]"`); `false` drops it.
   * @default {"_text"}
   */
  leadingTextKey?: string | false;
  /**
   * Keeps a kernel timestamp (`[86400.123456]`, the uptime the kernel puts
   * before its own lines) at the start of the leading text. By default it
   * is dropped, so that an iptables `--log-prefix` after it is the whole
   * leading text, or there is none.
   * @default {false}
   */
  keepKernelTimestamp?: boolean;
  /** A name for stats. */
  name?: string;
}

/**
 * Parses `key=value` pairs with an `indexOf`/char-code scan, no regular
 * expression and no split per pair:
 *
 * - values run to the next pair separator; an empty value (`OUT=`) is `""`;
 * - a value that starts with `"` or `'` runs to the matching quote, with
 *   `\"`, `\'`, `\\`, `\n`, `\r` and `\t` unescaped (other backslashes stay);
 *   an unclosed quote runs to the end of the text;
 * - a bare word after the first pair is a flag stored as `true`
 *   (`SYN`, `DF` in netfilter lines, `debug` in logfmt);
 * - the text before the first pair is kept under
 *   {@linkcode KvParserOptions.leadingTextKey}, without a kernel timestamp
 *   (`[86400.123456]`) at its start;
 * - values stay strings; the last of repeated keys wins.
 *
 * Text with no pair at all makes `parse()` return `false`.
 *
 * @param options Prefix, separators and the leading-text key.
 * @returns The parser.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a separator is empty, too long or clashes.
 *
 * @example Parse a netfilter LOG line
 * ```ts
 * import assert from "node:assert/strict";
 * import { kvParser } from "./kv.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const parser = kvParser({ prefix: "fw" });
 * const event = createEvent("[UFW BLOCK] IN=eth0 OUT= SRC=10.0.0.5 PROTO=TCP SYN URGP=0");
 * assert.ok(parser.parse(event));
 * assert.ok(getField(event, "fw.SRC") === "10.0.0.5");
 * assert.ok(getField(event, "fw.OUT") === "" && getField(event, "fw.SYN") === true);
 * assert.ok(getField(event, "fw._text") === "[UFW BLOCK]");
 * ```
 *
 * @example The SIEM@Home convention (`--log-prefix "A=DROP C=inet "`) after a kernel timestamp
 * ```ts
 * import assert from "node:assert/strict";
 * import { kvParser } from "./kv.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const event = createEvent("[86400.123456] A=DROP C=inet IN=eth0 SRC=203.0.113.7 DST=10.0.0.2");
 * assert.ok(kvParser({ prefix: "fw" }).parse(event));
 * assert.equal(getField(event, "fw.A"), "DROP");
 * assert.equal(getField(event, "fw._text"), undefined);
 * ```
 */
export function kvParser(options: KvParserOptions = {}): Parser {
  const prefix = resolvePrefix("kvParser", options.prefix ?? "kv");
  const field = options.field ?? "MSG";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`kvParser: "field" must be a non-empty string, got ${_show(field)}`);
  }
  const valueSeparator = options.valueSeparator ?? "=";
  if (typeof valueSeparator !== "string") {
    throw new TypeError(
      `kvParser: "valueSeparator" must be a string, got ${_show(valueSeparator)}`,
    );
  }
  if (valueSeparator.length !== 1 || /[\s"'\\]/.test(valueSeparator)) {
    throw new RangeError(
      `kvParser: "valueSeparator" must be one character other than a blank, a quote or a backslash, got "${valueSeparator}"`,
    );
  }
  const pairSeparator = options.pairSeparator ?? " ";
  if (typeof pairSeparator !== "string") {
    throw new TypeError(`kvParser: "pairSeparator" must be a string, got ${_show(pairSeparator)}`);
  }
  if (
    pairSeparator === "" || pairSeparator.includes(valueSeparator) || /["']/.test(pairSeparator)
  ) {
    throw new RangeError(
      `kvParser: "pairSeparator" must be non-empty and hold neither a quote nor the value separator, got "${pairSeparator}"`,
    );
  }
  const leadingTextKey = options.leadingTextKey ?? "_text";
  if (leadingTextKey !== false && (typeof leadingTextKey !== "string" || leadingTextKey === "")) {
    throw new TypeError(
      `kvParser: "leadingTextKey" must be a non-empty string or false, got ${
        _show(leadingTextKey)
      }`,
    );
  }
  const keepKernelTimestamp = options.keepKernelTimestamp ?? false;
  if (typeof keepKernelTimestamp !== "boolean") {
    throw new TypeError(
      `kvParser: "keepKernelTimestamp" must be a boolean, got ${_show(keepKernelTimestamp)}`,
    );
  }
  const read = field === "MSG" || field === "MESSAGE" ? null : fieldGetter(field);
  const store = _store(prefix);
  const vsep = valueSeparator.charCodeAt(0);
  const textKey = leadingTextKey === false ? null : leadingTextKey;
  // Keys seen at each position of the previous line: lines of one source
  // repeat their keys, and reusing the same string makes the stores cheaper.
  const keyCache: string[] = [];
  const scan = /^\s+$/.test(pairSeparator)
    ? (s: string) => _scanBlank(s, vsep, textKey, keyCache, keepKernelTimestamp)
    : (s: string) => _scanSeparated(s, vsep, pairSeparator, textKey, keepKernelTimestamp);
  return {
    kind: "kv",
    ...(options.name ? { name: options.name } : {}),
    parse(event: LogEvent): boolean {
      const text = read === null ? event.message : read(event);
      if (typeof text !== "string") return false;
      const out = scan(text);
      if (out === null) return false;
      store(event, out);
      return true;
    },
  };
}

function _blank(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Scans pairs separated by runs of blanks. */
function _scanBlank(
  s: string,
  vsep: number,
  textKey: string | null,
  keyCache: string[],
  keepKernelTimestamp: boolean,
): Fields | null {
  const n = s.length;
  // Lines whose only blank is the space (nearly all) find value ends with
  // the native indexOf instead of a char-by-char loop.
  const spaceOnly = s.indexOf("\t") < 0 && s.indexOf("\n") < 0 && s.indexOf("\r") < 0;
  let out: Fields | null = null;
  let leadEnd = 0;
  let pair = 0;
  let i = 0;
  while (i < n) {
    let c = s.charCodeAt(i);
    while (_blank(c)) c = s.charCodeAt(++i);
    if (i >= n) break;
    const start = i;
    while (i < n && c !== vsep && c !== 34 && c !== 39 && !_blank(c)) c = s.charCodeAt(++i);
    if (c === vsep && i > start) {
      let key = keyCache[pair];
      if (key === undefined || key.length !== i - start || !s.startsWith(key, start)) {
        key = s.slice(start, i);
        if (pair < 64) keyCache[pair] = key;
      }
      pair++;
      c = s.charCodeAt(++i);
      let value: string;
      if (c === 34 || c === 39) {
        const end = _quoted(s, i);
        value = _value;
        i = end;
      } else {
        const vstart = i;
        if (spaceOnly) {
          i = s.indexOf(" ", i);
          if (i < 0) i = n;
        } else while (i < n && !_blank(c)) c = s.charCodeAt(++i);
        value = s.slice(vstart, i);
      }
      if (out === null) out = {};
      _put(out, key, value);
    } else {
      if (spaceOnly) {
        i = s.indexOf(" ", i);
        if (i < 0) i = n;
      } else while (i < n && !_blank(c)) c = s.charCodeAt(++i);
      if (out === null) leadEnd = i;
      else _put(out, s.slice(start, i), true);
    }
  }
  if (out !== null && textKey !== null && leadEnd > 0) {
    _putLeading(out, textKey, s.slice(0, leadEnd).trim(), keepKernelTimestamp);
  }
  return out;
}

/** Scans pairs separated by an exact string such as `";"` or `", "`. */
function _scanSeparated(
  s: string,
  vsep: number,
  sep: string,
  textKey: string | null,
  keepKernelTimestamp: boolean,
): Fields | null {
  const n = s.length;
  const vsepChar = String.fromCharCode(vsep);
  let out: Fields | null = null;
  let leadEnd = 0;
  let nextEq = -1;
  let i = 0;
  while (i < n) {
    while (_blank(s.charCodeAt(i))) i++;
    if (i >= n) break;
    let end = s.indexOf(sep, i);
    if (end < 0) end = n;
    // The next separator is searched again only once the scan has passed it.
    if (nextEq < i) {
      nextEq = s.indexOf(vsepChar, i);
      if (nextEq < 0) nextEq = n;
    }
    const eq = nextEq < end ? nextEq : -1;
    let kEnd = eq;
    while (kEnd > i && _blank(s.charCodeAt(kEnd - 1))) kEnd--;
    let kStart = kEnd;
    while (kStart > i && !_blank(s.charCodeAt(kStart - 1))) kStart--;
    if (eq >= 0 && kStart < kEnd) {
      if (kStart > i) {
        // Words before the key in the same segment are stray text.
        if (out === null) leadEnd = kStart;
        else _put(out, s.slice(i, kStart).trim(), true);
      }
      const key = s.slice(kStart, kEnd);
      let v = eq + 1;
      while (v < end && _blank(s.charCodeAt(v))) v++;
      const q = s.charCodeAt(v);
      let value: string;
      if (v < n && (q === 34 || q === 39)) {
        const after = _quoted(s, v);
        value = _value;
        end = s.indexOf(sep, after);
        if (end < 0) end = n;
      } else {
        let vEnd = end;
        while (vEnd > v && _blank(s.charCodeAt(vEnd - 1))) vEnd--;
        value = s.slice(v, vEnd);
      }
      if (out === null) out = {};
      _put(out, key, value);
    } else {
      let wEnd = end;
      while (wEnd > i && _blank(s.charCodeAt(wEnd - 1))) wEnd--;
      if (out === null) leadEnd = wEnd;
      else if (wEnd > i) _put(out, s.slice(i, wEnd), true);
    }
    i = end + sep.length;
  }
  if (out !== null && textKey !== null && leadEnd > 0) {
    _putLeading(out, textKey, s.slice(0, leadEnd).trim(), keepKernelTimestamp);
  }
  return out;
}

/** The value read by the last {@linkcode _quoted} call (saves an allocation per value). */
let _value = "";

/**
 * Reads a quoted value starting at the quote `s[at]` into `_value`.
 * Returns the index just past the closing quote (or the end of text).
 */
function _quoted(s: string, at: number): number {
  const q = s.charCodeAt(at);
  const n = s.length;
  let j = at + 1;
  let from = j;
  let built: string | null = null;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === q) break;
    if (c === 92 && j + 1 < n) {
      built = (built ?? "") + s.slice(from, j) + _unescape(s.charCodeAt(j + 1));
      j += 2;
      from = j;
      continue;
    }
    j++;
  }
  _value = built === null ? s.slice(from, j) : built + s.slice(from, j);
  return j < n ? j + 1 : n;
}

function _unescape(c: number): string {
  switch (c) {
    case 110:
      return "\n";
    case 116:
      return "\t";
    case 114:
      return "\r";
    case 34:
      return '"';
    case 39:
      return "'";
    case 92:
      return "\\";
    default:
      return "\\" + String.fromCharCode(c);
  }
}

// The kernel's `[    12.345678]` before its own lines: uptime in seconds, not part of a prefix.
const _KERNEL_TIMESTAMP = /^\[\s*\d+\.\d+\]\s*/;

function _putLeading(out: Fields, key: string, text: string, keepKernelTimestamp: boolean): void {
  const lead = keepKernelTimestamp || text.charCodeAt(0) !== 91
    ? text
    : text.replace(_KERNEL_TIMESTAMP, "");
  if (lead !== "") _put(out, key, lead);
}

function _put(out: Fields, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else out[key] = value;
}

function _store(prefix: string): (event: LogEvent, out: Fields) => void {
  if (prefix === "") {
    return (event, out) => {
      for (const key in out) _put(event.fields, key, out[key]);
    };
  }
  const get = fieldGetter(prefix);
  const set = fieldSetter(prefix);
  return (event, out) => {
    const there = get(event);
    if (there === null || typeof there !== "object" || Array.isArray(there)) set(event, out);
    else for (const key in out) _put(there as Fields, key, out[key]);
  };
}

function _show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}
