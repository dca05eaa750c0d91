/**
 * Parses syslog messages in RFC 5424 and RFC 3164 (BSD) formats.
 *
 * @module
 */

import { type Fields, fieldSetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";

/** Options for {@linkcode syslogParser}. */
export interface SyslogParserOptions {
  /** Field under which the syslog-only parts are stored (see {@linkcode syslogParser}). @default {"syslog"} */
  prefix?: string;
  /** Which formats are accepted; `"auto"` tells them apart by the version after the PRI. @default {"auto"} */
  format?: "auto" | "rfc5424" | "rfc3164";
  /** Keeps the whole message as received in `<prefix>.raw`. @default {false} */
  keepRaw?: boolean;
  /**
   * Leaves `event.host` alone when it is already set, such as from a
   * verified client certificate (the message's own claim is then stored in
   * `<prefix>.hostname`). @default {false}
   */
  keepHost?: boolean;
  /**
   * Time zone of RFC 3164 timestamps, which carry none, in minutes east of
   * UTC. @default the local time zone of this process at that date
   */
  timeZoneOffset?: number;
  /**
   * How far in the future, in ms, an RFC 3164 timestamp (which has no year)
   * may lie and still be taken as this year rather than last year.
   * @default {604800000} (7 days)
   */
  maxFutureMs?: number;
  /** A name for stats. */
  name?: string;
}

/** Structured data: SD-ID → PARAM-NAME → value (a list when a name repeats). */
export type StructuredData = Record<string, Record<string, string | string[]>>;

const _MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** What a successful parse found, committed to the event only at the end. */
interface _Parsed {
  format: "rfc5424" | "rfc3164";
  pri: number;
  timestamp?: number;
  tzOffset?: number;
  host?: string;
  program?: string;
  pid?: string;
  msgid?: string;
  sd?: StructuredData;
  message: string;
}

function _digit(c: number): boolean {
  return c >= 48 && c <= 57;
}

const _DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function _daysIn(year: number, month: number): number {
  if (month !== 1) return _DAYS[month] as number;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** Reads `count` decimal digits at `i`; -1 when one is not a digit. */
function _num(s: string, i: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses an RFC 3339 timestamp as RFC 5424 uses it
 * (`2003-08-24T05:14:15.000003-07:00`, `1985-04-12T23:20:50.52Z`).
 *
 * @returns `[ms, offsetMinutes]`, or `undefined` when it is not one.
 */
function _rfc3339(text: string): [number, number] | undefined {
  if (text.length < 20) return undefined;
  const year = _num(text, 0, 4);
  const month = _num(text, 5, 2) - 1;
  const day = _num(text, 8, 2);
  const hour = _num(text, 11, 2);
  const min = _num(text, 14, 2);
  let sec = _num(text, 17, 2);
  const t = text.charCodeAt(10);
  if (
    year < 0 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 ||
    (t !== 84 && t !== 116) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58
  ) return undefined;
  if (month < 0 || month > 11 || day < 1 || day > _daysIn(year, month)) return undefined;
  if (hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60) return undefined;
  if (sec === 60) sec = 59; // a leap second; JavaScript time has none
  let i = 19;
  let frac = 0;
  if (text.charCodeAt(i) === 46) {
    let k = i + 1;
    let scale = 100;
    while (k < text.length) {
      const c = text.charCodeAt(k) - 48;
      if (c < 0 || c > 9) break;
      frac += c * scale;
      scale /= 10;
      k++;
    }
    if (k === i + 1 || k - i - 1 > 9) return undefined;
    frac = Math.floor(frac);
    i = k;
  }
  let offset = 0;
  const z = text.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i + 1 !== text.length) return undefined;
  } else if (z === 43 || z === 45) {
    const oh = _num(text, i + 1, 2);
    const om = _num(text, i + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return undefined;
    if (text.charCodeAt(i + 3) !== 58 || i + 6 !== text.length) return undefined;
    offset = (oh * 60 + om) * (z === 45 ? -1 : 1);
  } else {
    return undefined;
  }
  const utc = Date.UTC(year, month, day, hour, min, sec, frac);
  // Date.UTC maps years 0–99 to 1900–1999.
  const fixed = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
  return [fixed - offset * 60_000, offset];
}

/**
 * Parses a syslog message and rewrites the event with what it says.
 *
 * RFC 5424 (`<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG`) and
 * RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`) are told apart
 * by the version number after the PRI. The event gets:
 *
 * - `facility` and `severity` from the PRI;
 * - `timestamp` (ms) and `tzOffset` (minutes east of UTC): RFC 5424 keeps
 *   the sender's offset and milliseconds; RFC 3164 has neither year nor
 *   zone, so the zone is `timeZoneOffset` (default: this process's) and the
 *   year is the latest one that does not put the date more than
 *   `maxFutureMs` after `receivedAt` (a December message read in January
 *   is last year's);
 * - `host`, `program` (APP-NAME or the tag), `pid` (PROCID or `[pid]`);
 * - `message` replaced by the MSG part (a UTF-8 BOM removed).
 *
 * Under `fields[prefix]` (default `syslog`): `format` (`"rfc5424"` or
 * `"rfc3164"`), and for RFC 5424 `version`, `msgid` and `sd`, the
 * structured data as `sd[SD-ID][PARAM-NAME]` = value, a list of values when
 * a name repeats (`fields.syslog.sd["exampleSDID@32473"].iut === "3"`;
 * templates reach it as `${syslog.sd.exampleSDID@32473.iut}` when the SD-ID
 * has no dot). NILVALUE (`-`) parts are left out. `raw` holds the message
 * as received when `keepRaw` is set.
 *
 * A message that is neither format (no PRI and no timestamp, a bad RFC 5424
 * header or structured data) makes `parse()` return `false` and leaves the
 * event untouched. It never throws.
 *
 * @param options Prefix, formats, raw copy, time zone.
 * @returns The parser.
 *
 * @example Parse RFC 5424's own example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syslogParser } from "./syslog.ts";
 * import { createEvent } from "../core/event.ts";
 * const event = createEvent(
 *   '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event',
 * );
 * assert.ok(syslogParser().parse(event));
 * assert.ok(event.host === "mymachine.example.com" && event.severity === 5);
 * assert.ok(event.message === "An application event");
 * ```
 */
export function syslogParser(options: SyslogParserOptions = {}): Parser {
  const prefix = options.prefix ?? "syslog";
  if (typeof prefix !== "string" || prefix === "") {
    throw new TypeError(`syslogParser: "prefix" must be a non-empty string, got "${prefix}"`);
  }
  const format = options.format ?? "auto";
  if (format !== "auto" && format !== "rfc5424" && format !== "rfc3164") {
    throw new TypeError(
      `syslogParser: "format" must be "auto", "rfc5424" or "rfc3164", got "${format}"`,
    );
  }
  const tz = options.timeZoneOffset;
  if (tz !== undefined && !(Number.isInteger(tz) && Math.abs(tz) <= 18 * 60)) {
    throw new RangeError(
      `syslogParser: "timeZoneOffset" must be whole minutes within ±1080, got ${tz}`,
    );
  }
  const maxFuture = options.maxFutureMs ?? 7 * 86_400_000;
  if (!(maxFuture >= 0)) {
    throw new RangeError(`syslogParser: "maxFutureMs" must be 0 or more, got ${maxFuture}`);
  }
  const keepRaw = options.keepRaw ?? false;
  const keepHost = options.keepHost ?? false;
  const setPrefix = fieldSetter(prefix);

  const parse = (event: LogEvent): boolean => {
    const raw = event.message;
    if (typeof raw !== "string") return false;
    let parsed: _Parsed | undefined;
    try {
      parsed = _parse(raw, event.receivedAt, format, tz, maxFuture);
    } catch {
      parsed = undefined;
    }
    if (!parsed) return false;
    const out: Fields = { format: parsed.format };
    if (parsed.format === "rfc5424") out.version = 1;
    if (parsed.msgid !== undefined) out.msgid = parsed.msgid;
    if (parsed.sd !== undefined) out.sd = parsed.sd;
    if (keepRaw) out.raw = raw;
    if (parsed.pri >= 0) {
      event.facility = parsed.pri >> 3;
      event.severity = parsed.pri & 7;
    }
    if (parsed.timestamp !== undefined) {
      event.timestamp = parsed.timestamp;
      if (parsed.tzOffset !== undefined) event.tzOffset = parsed.tzOffset;
    }
    if (parsed.host !== undefined) {
      if (keepHost && event.host !== undefined) {
        if (event.host !== parsed.host) out.hostname = parsed.host;
      } else {
        event.host = parsed.host;
      }
    }
    if (parsed.program !== undefined) event.program = parsed.program;
    if (parsed.pid !== undefined) event.pid = parsed.pid;
    event.message = parsed.message;
    setPrefix(event, out);
    return true;
  };
  return { kind: "syslog", ...(options.name ? { name: options.name } : {}), parse };
}

function _parse(
  s: string,
  receivedAt: number,
  format: "auto" | "rfc5424" | "rfc3164",
  tz: number | undefined,
  maxFuture: number,
): _Parsed | undefined {
  let i = 0;
  let pri = -1;
  if (s.charCodeAt(0) === 60) {
    // "<" PRI ">": 1–3 digits, 0–191.
    let j = 1;
    let value = 0;
    while (j < s.length && j <= 4 && _digit(s.charCodeAt(j))) {
      value = value * 10 + s.charCodeAt(j) - 48;
      j++;
    }
    if (j === 1 || j > 4 || s.charCodeAt(j) !== 62 || value > 191) return undefined;
    pri = value;
    i = j + 1;
  }
  if (format !== "rfc3164" && pri >= 0) {
    // VERSION: 1–3 digits then a space.
    let j = i;
    while (j < s.length && j - i < 3 && _digit(s.charCodeAt(j))) j++;
    if (j > i && s.charCodeAt(i) !== 48 && s.charCodeAt(j) === 32) {
      return _rfc5424(s, j + 1, pri);
    }
  }
  if (format === "rfc5424") return undefined;
  return _rfc3164(s, i, pri, receivedAt, tz, maxFuture);
}

function _rfc5424(s: string, start: number, pri: number): _Parsed | undefined {
  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each followed by one space.
  const e1 = s.indexOf(" ", start);
  const e2 = e1 < 0 ? -1 : s.indexOf(" ", e1 + 1);
  const e3 = e2 < 0 ? -1 : s.indexOf(" ", e2 + 1);
  const e4 = e3 < 0 ? -1 : s.indexOf(" ", e3 + 1);
  const e5 = e4 < 0 ? -1 : s.indexOf(" ", e4 + 1);
  if (e5 < 0 || e1 === start || e2 === e1 + 1 || e3 === e2 + 1 || e4 === e3 + 1 || e5 === e4 + 1) {
    return undefined;
  }
  const parsed: _Parsed = { format: "rfc5424", pri, message: "" };
  if (!(e1 === start + 1 && s.charCodeAt(start) === 45)) {
    const t = _rfc3339(s.slice(start, e1));
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

function _rfc3164(
  s: string,
  start: number,
  pri: number,
  receivedAt: number,
  tz: number | undefined,
  maxFuture: number,
): _Parsed | undefined {
  let i = start;
  const parsed: _Parsed = { format: "rfc3164", pri, message: "" };
  let stamped = false;
  const bsd = _bsdStamp(s, i, receivedAt, tz, maxFuture, parsed);
  if (bsd === null) return undefined;
  if (bsd !== undefined) {
    i = bsd;
    stamped = true;
  } else if (_digit(s.charCodeAt(i))) {
    // An RFC 3339 timestamp in a BSD-style line (rsyslog's high-precision format).
    const sp = s.indexOf(" ", i);
    const token = sp < 0 ? s.slice(i) : s.slice(i, sp);
    const t = _rfc3339(token);
    if (t) {
      parsed.timestamp = t[0];
      parsed.tzOffset = t[1];
      i = sp < 0 ? s.length : sp;
      stamped = true;
    }
  }
  if (!stamped && pri < 0) return undefined;
  if (stamped) {
    if (i < s.length && s.charCodeAt(i) !== 32) return undefined;
    while (s.charCodeAt(i) === 32) i++;
    // HOSTNAME, unless the next word is already the tag ("sshd[42]:", "kernel:").
    const sp = s.indexOf(" ", i);
    const word = sp < 0 ? s.slice(i) : s.slice(i, sp);
    if (word !== "" && !word.endsWith(":") && !word.includes("[")) {
      parsed.host = word;
      i = sp < 0 ? s.length : sp + 1;
    }
  }
  // TAG: program, optional [pid], then ":"; without either it is part of the message.
  let j = i;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 91 || c === 58 || c === 32) break;
    j++;
  }
  if (j > i && j < s.length) {
    const c = s.charCodeAt(j);
    let k = -1;
    let pid: string | undefined;
    if (c === 91) {
      const close = s.indexOf("]", j + 1);
      const inner = close > j + 1 ? s.slice(j + 1, close) : "";
      if (inner !== "" && !inner.includes(" ")) {
        pid = inner;
        k = close + 1;
        if (s.charCodeAt(k) === 58) k++;
      }
    } else if (c === 58) {
      k = j + 1;
    }
    if (k >= 0 && (k >= s.length || s.charCodeAt(k) === 32)) {
      parsed.program = s.slice(i, j);
      if (pid !== undefined) parsed.pid = pid;
      i = k < s.length ? k + 1 : k;
    }
  }
  parsed.message = s.slice(i);
  return parsed;
}

/**
 * Reads `Mmm dd hh:mm:ss` (optionally `.fff`) at `i`.
 *
 * @returns `undefined` when there is no such timestamp, `null` when it is
 * there but impossible (Feb 30, 25:00), else the time and where it ends.
 */
function _bsdStamp(
  s: string,
  i: number,
  receivedAt: number,
  tz: number | undefined,
  maxFuture: number,
  out: _Parsed,
): number | null | undefined {
  if (s.length < i + 15) return undefined;
  const month = _MONTHS[s.slice(i, i + 3)];
  if (month === undefined || s.charCodeAt(i + 3) !== 32) return undefined;
  const d1 = s.charCodeAt(i + 4);
  const d2 = s.charCodeAt(i + 5);
  if (!((d1 === 32 || _digit(d1)) && _digit(d2))) return undefined;
  if (s.charCodeAt(i + 6) !== 32) return undefined;
  const hour = _num(s, i + 7, 2);
  const min = _num(s, i + 10, 2);
  let sec = _num(s, i + 13, 2);
  if (hour < 0 || min < 0 || sec < 0 || s.charCodeAt(i + 9) !== 58 || s.charCodeAt(i + 12) !== 58) {
    return undefined;
  }
  const day = (d1 === 32 ? 0 : d1 - 48) * 10 + d2 - 48;
  if (day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return null;
  if (sec === 60) sec = 59;
  let end = i + 15;
  let frac = 0;
  if (s.charCodeAt(end) === 46 && _digit(s.charCodeAt(end + 1))) {
    let k = end + 1;
    let scale = 100;
    while (_digit(s.charCodeAt(k))) {
      frac += (s.charCodeAt(k) - 48) * scale;
      scale /= 10;
      k++;
    }
    frac = Math.floor(frac);
    end = k;
  }
  // The year is not in the line: take the latest that does not put the
  // time more than maxFuture after its reception (29 February may need
  // to go back a few years).
  const nowOffset = tz ?? -new Date(receivedAt).getTimezoneOffset();
  const year = new Date(receivedAt + nowOffset * 60_000).getUTCFullYear();
  const latest = receivedAt + maxFuture;
  for (let y = year + 1; y >= year - 4; y--) {
    if (day > _daysIn(y, month)) continue;
    let ms: number;
    let offset: number;
    if (tz !== undefined) {
      ms = Date.UTC(y, month, day, hour, min, sec, frac) - tz * 60_000;
      offset = tz;
    } else {
      const local = new Date(y, month, day, hour, min, sec, frac);
      ms = local.getTime();
      offset = -local.getTimezoneOffset();
    }
    if (ms <= latest) {
      out.timestamp = ms;
      out.tzOffset = offset;
      return end;
    }
  }
  return null;
}
