/**
 * Parses syslog messages in RFC 5424 and RFC 3164 (BSD) formats. RFC 5424's
 * header and structured data are read in parsers/_rfc5424.ts, timestamps in
 * parsers/_syslog_stamps.ts.
 *
 * @module
 */

import { type Fields, fieldSetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";
import { parseRfc5424, type StructuredData, type SyslogParsed } from "./_rfc5424.ts";
import { bsdStamp, isDigit, rfc3339Stamp } from "./_syslog_stamps.ts";

export type { StructuredData };

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
    let parsed: SyslogParsed | undefined;
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
): SyslogParsed | undefined {
  let i = 0;
  let pri = -1;
  if (s.charCodeAt(0) === 60) {
    // "<" PRI ">": 1–3 digits, 0–191.
    let j = 1;
    let value = 0;
    while (j < s.length && j <= 4 && isDigit(s.charCodeAt(j))) {
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
    while (j < s.length && j - i < 3 && isDigit(s.charCodeAt(j))) j++;
    if (j > i && s.charCodeAt(i) !== 48 && s.charCodeAt(j) === 32) {
      return parseRfc5424(s, j + 1, pri);
    }
  }
  if (format === "rfc5424") return undefined;
  return _rfc3164(s, i, pri, receivedAt, tz, maxFuture);
}

function _rfc3164(
  s: string,
  start: number,
  pri: number,
  receivedAt: number,
  tz: number | undefined,
  maxFuture: number,
): SyslogParsed | undefined {
  let i = start;
  const parsed: SyslogParsed = { format: "rfc3164", pri, message: "" };
  let stamped = false;
  const bsd = bsdStamp(s, i, receivedAt, tz, maxFuture, parsed);
  if (bsd === null) return undefined;
  if (bsd !== undefined) {
    i = bsd;
    stamped = true;
  } else if (isDigit(s.charCodeAt(i))) {
    // An RFC 3339 timestamp in a BSD-style line (rsyslog's high-precision format).
    const sp = s.indexOf(" ", i);
    const token = sp < 0 ? s.slice(i) : s.slice(i, sp);
    const t = rfc3339Stamp(token);
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
