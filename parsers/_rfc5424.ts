/**
 * RFC 5424 for the syslog parser: the header after the version, the
 * structured data, the message; and the shape both formats parse into.
 *
 * @module
 */

import { rfc3339Stamp } from "./_syslog_stamps.ts";

/** Structured data: SD-ID → PARAM-NAME → value (a list when a name repeats). */
export type StructuredData = Record<string, Record<string, string | string[]>>;

/** What a successful parse found, committed to the event only at the end. */
export interface SyslogParsed {
  /** Which format the line had. */
  format: "rfc5424" | "rfc3164";
  /** The PRI, or -1 when there was none. */
  pri: number;
  /** The time (ms). */
  timestamp?: number;
  /** Its offset, minutes east of UTC. */
  tzOffset?: number;
  /** HOSTNAME. */
  host?: string;
  /** APP-NAME or the tag. */
  program?: string;
  /** PROCID or `[pid]`. */
  pid?: string;
  /** MSGID (RFC 5424). */
  msgid?: string;
  /** Structured data (RFC 5424). */
  sd?: StructuredData;
  /** The MSG part. */
  message: string;
}

/**
 * Parses the rest of an RFC 5424 line after `<PRI>VERSION `: TIMESTAMP
 * HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG (a UTF-8 BOM removed
 * from MSG; NILVALUE parts left out).
 *
 * @param s The line.
 * @param start Where TIMESTAMP starts.
 * @param pri The PRI.
 * @returns What it says, or `undefined` for a bad header or structured data.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRfc5424 } from "./_rfc5424.ts";
 * const line = '<165>1 2003-10-11T22:14:15.003Z host app - ID47 [ex@1 a="1"] hi';
 * const parsed = parseRfc5424(line, 7, 165);
 * assert.equal(parsed?.host, "host");
 * assert.equal(parsed?.sd?.["ex@1"]?.a, "1");
 * assert.equal(parsed?.message, "hi");
 * ```
 */
export function parseRfc5424(s: string, start: number, pri: number): SyslogParsed | undefined {
  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each followed by one space.
  const e1 = s.indexOf(" ", start);
  const e2 = e1 < 0 ? -1 : s.indexOf(" ", e1 + 1);
  const e3 = e2 < 0 ? -1 : s.indexOf(" ", e2 + 1);
  const e4 = e3 < 0 ? -1 : s.indexOf(" ", e3 + 1);
  const e5 = e4 < 0 ? -1 : s.indexOf(" ", e4 + 1);
  if (e5 < 0 || e1 === start || e2 === e1 + 1 || e3 === e2 + 1 || e4 === e3 + 1 || e5 === e4 + 1) {
    return undefined;
  }
  const parsed: SyslogParsed = { format: "rfc5424", pri, message: "" };
  if (!(e1 === start + 1 && s.charCodeAt(start) === 45)) {
    const t = rfc3339Stamp(s.slice(start, e1));
    if (!t) return undefined;
    parsed.timestamp = t[0];
    parsed.tzOffset = t[1];
  }
  const host = s.slice(e1 + 1, e2);
  const app = s.slice(e2 + 1, e3);
  const procid = s.slice(e3 + 1, e4);
  const msgid = s.slice(e4 + 1, e5);
  if (host !== "-") parsed.host = host;
  if (app !== "-") parsed.program = app;
  if (procid !== "-") parsed.pid = procid;
  if (msgid !== "-") parsed.msgid = msgid;
  let i = e5 + 1;
  if (s.charCodeAt(i) === 45) {
    i++;
  } else if (s.charCodeAt(i) === 91) {
    const sd: StructuredData = {};
    const end = _structuredData(s, i, sd);
    if (end < 0) return undefined;
    parsed.sd = sd;
    i = end;
  } else {
    return undefined;
  }
  if (i < s.length) {
    if (s.charCodeAt(i) !== 32) return undefined;
    i++;
  }
  let msg = s.slice(i);
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
  parsed.message = msg;
  return parsed;
}

/** Parses `[id k="v" …][…]` from `i`; returns the index after it, or -1. */
function _structuredData(s: string, i: number, sd: StructuredData): number {
  const n = s.length;
  while (i < n && s.charCodeAt(i) === 91) {
    i++;
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 32 || c === 93) break;
      if (c === 61 || c === 34) return -1;
      j++;
    }
    if (j === i || j >= n) return -1;
    const id = s.slice(i, j);
    const params = (sd[id] ??= {});
    i = j;
    while (true) {
      if (i >= n) return -1;
      const c = s.charCodeAt(i);
      if (c === 93) {
        i++;
        break;
      }
      if (c !== 32) return -1;
      while (s.charCodeAt(i) === 32) i++;
      if (s.charCodeAt(i) === 93) continue;
      const eq = s.indexOf("=", i);
      if (eq <= i) return -1;
      const name = s.slice(i, eq);
      for (let k = i; k < eq; k++) {
        const c = s.charCodeAt(k);
        if (c <= 32 || c === 93 || c === 34) return -1;
      }
      if (s.charCodeAt(eq + 1) !== 34) return -1;
      let value = "";
      let k = eq + 2;
      let from = k;
      const quote = s.indexOf('"', k);
      if (quote < 0) return -1;
      const slash = s.indexOf("\\", k);
      if (slash < 0 || slash > quote) {
        // No escapes: the value runs to the next quote.
        value = s.slice(k, quote);
        from = k = quote;
      }
      while (true) {
        if (k >= n) return -1;
        const ch = s.charCodeAt(k);
        if (ch === 34) break;
        if (ch === 92) {
          const next = s.charCodeAt(k + 1);
          if (next === 34 || next === 92 || next === 93) {
            value += s.slice(from, k);
            from = k + 1;
            k += 2;
            continue;
          }
        }
        k++;
      }
      value += s.slice(from, k);
      i = k + 1;
      const prev = params[name];
      if (prev === undefined) params[name] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else params[name] = [prev, value];
    }
  }
  return i;
}
