/**
 * A date parser: reads a time stamp from a field and makes it the event's
 * time, so `${ISODATE}`, `${YEAR}` … render from it. The clock arithmetic
 * is in parsers/_date_clock.ts, the scanners in parsers/_date_scan.ts,
 * `%`-formats in parsers/_strptime.ts.
 *
 * @module
 */

import { fieldGetter, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";
import {
  type DateZone,
  dateZone,
  outMs,
  outOffset,
  readEpoch,
  resolveClock,
  resolveYearless,
} from "./_date_clock.ts";
import { digitsAt, fractionAt, month3At, offsetAt, scanPos, scanValue } from "./_date_scan.ts";
import { strptimeReader } from "./_strptime.ts";

/**
 * A named time stamp format, or a `strptime`-like format string holding at
 * least one `%` directive:
 *
 * - `"iso8601"` (also `"rfc3339"`, `"rfc5424"`): `2026-11-23T09:48:00.123+01:00`,
 *   `2026-11-23 09:48:00Z`, `2026-11-23T09:48`, `2026-11-23`; a `T`, `t` or a
 *   blank between date and time; any number of fraction digits (kept to
 *   the millisecond); `Z`, `±hh:mm`, `±hhmm` or `±hh`.
 * - `"rfc3164"`: `Nov 23 09:48:00`, `Nov  3 09:48:00.123456`,
 *   `Nov 23 2026 09:48:00`. Without a year, the year that puts the time
 *   closest before the event's `receivedAt` is taken (up to a day after it is
 *   accepted, for clocks running ahead).
 * - `"epoch"`: seconds since 1970, with a fraction or not (`1700000000.25`).
 * - `"epoch_ms"`: milliseconds since 1970.
 * - a format such as `"%d/%b/%Y:%H:%M:%S %z"`, with `%Y %y %m %d %e %H %I %p
 *   %M %S %f %b %h %B %a %A %z %Z %s %T %F %D %R %n %t %%`; a blank matches
 *   any run of blanks. Without `%Y`/`%y` the year is guessed as for
 *   `"rfc3164"`.
 */
export type DateFormat =
  | "iso8601"
  | "rfc3339"
  | "rfc5424"
  | "rfc3164"
  | "epoch"
  | "epoch_ms"
  | (string & Record<never, never>);

/** Options for {@linkcode dateParser}. */
export interface DateParserOptions {
  /** The field (or macro) holding the time stamp. @default {"MSG"} */
  field?: string;
  /** Formats tried in order; the first that reads the whole value wins. @default {["iso8601", "rfc3164"]} */
  formats?: DateFormat | readonly DateFormat[];
  /**
   * The time zone of time stamps that carry no offset (and of the zone
   * shown for epoch times): `"UTC"`, a fixed offset (`"+01:00"`, `"-0530"`)
   * or an IANA name (`"Europe/Budapest"`). The process's local zone when
   * left out.
   */
  timezone?: string;
  /** A name for stats. */
  name?: string;
}

/**
 * Reads a time stamp and sets the event's `timestamp` (ms since the epoch)
 * and `tzOffset` (minutes east of UTC: the stamp's own offset, else the
 * {@linkcode DateParserOptions.timezone}'s at that instant), so the date
 * macros (`ISODATE`, `YEAR`, `MONTH` … `TZOFFSET`, `UNIXTIME`) render from
 * it. Surrounding blanks are ignored; a number in the field is read by the
 * `epoch` formats. A value no format reads, or an impossible date
 * (`Feb 30`, `25:00`), makes `parse()` return `false` and changes nothing.
 *
 * @param options Field, formats and time zone.
 * @returns The parser.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} On an unknown format, directive or time zone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dateParser } from "./date.ts";
 * import { createEvent, getField } from "../core/event.ts";
 * const parser = dateParser({ field: "json.ts" });
 * const event = createEvent("x", { fields: { json: { ts: "2026-11-23T09:48:00+01:00" } } });
 * assert.ok(parser.parse(event));
 * assert.ok(getField(event, "ISODATE") === "2026-11-23T09:48:00+01:00");
 * ```
 */
export function dateParser(options: DateParserOptions = {}): Parser {
  const field = options.field ?? "MSG";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`dateParser: "field" must be a non-empty string, got ${_show(field)}`);
  }
  const formats = options.formats ?? ["iso8601", "rfc3164"];
  const list = typeof formats === "string" ? [formats] : formats;
  if (!Array.isArray(list) || list.some((f) => typeof f !== "string")) {
    throw new TypeError(
      `dateParser: "formats" must be a format name or an array of them, got ${_show(formats)}`,
    );
  }
  if (list.length === 0) {
    throw new RangeError(`dateParser: "formats" must name at least one format, got []`);
  }
  const zone = dateZone(options.timezone);
  const readers = list.map((f) => _reader(f as string));
  const read = field === "MSG" || field === "MESSAGE" ? null : fieldGetter(field);
  return {
    kind: "date",
    ...(options.name ? { name: options.name } : {}),
    parse(event: LogEvent): boolean {
      let value = read === null ? event.message : read(event);
      if (typeof value === "number") {
        if (!Number.isFinite(value)) return false;
      } else if (typeof value === "string") {
        value = value.trim();
        if (value === "") return false;
      } else return false;
      for (const reader of readers) {
        if (reader(value as string | number, zone, event.receivedAt)) {
          event.timestamp = outMs;
          event.tzOffset = outOffset;
          return true;
        }
      }
      return false;
    },
  };
}

type _Reader = (value: string | number, zone: DateZone, receivedAt: number) => boolean;

function _reader(format: string): _Reader {
  switch (format) {
    case "iso8601":
    case "rfc3339":
    case "rfc5424":
      return (v, zone) => typeof v === "string" && _iso(v, zone);
    case "rfc3164":
      return (v, zone, recv) => typeof v === "string" && _bsd(v, zone, recv);
    case "epoch":
      return (v, zone) => readEpoch(v, 1000, zone);
    case "epoch_ms":
      return (v, zone) => readEpoch(v, 1, zone);
  }
  if (format.includes("%")) return strptimeReader(format);
  throw new RangeError(
    `dateParser: unknown format "${format}" (use iso8601, rfc3164, epoch, epoch_ms or a %-format)`,
  );
}

function _iso(s: string, zone: DateZone): boolean {
  const n = s.length;
  const year = digitsAt(s, 0, 4);
  if (year < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (month < 0 || day < 0) return false;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let ms = 0;
  let offset = NaN;
  if (n > 10) {
    const t = s.charCodeAt(10);
    if (t !== 84 && t !== 116 && t !== 32) return false;
    hour = digitsAt(s, 11, 2);
    min = digitsAt(s, 14, 2);
    if (hour < 0 || min < 0 || s.charCodeAt(13) !== 58) return false;
    let i = 16;
    if (s.charCodeAt(i) === 58) {
      sec = digitsAt(s, i + 1, 2);
      if (sec < 0) return false;
      i += 3;
      const dot = s.charCodeAt(i);
      if (dot === 46 || dot === 44) {
        if (!fractionAt(s, i + 1)) return false;
        ms = scanValue;
        i = scanPos;
      }
    }
    if (i < n) {
      if (!offsetAt(s, i)) return false;
      offset = scanValue;
      i = scanPos;
    }
    if (i !== n) return false;
  } else if (n !== 10) return false;
  return resolveClock(year, month, day, hour, min, sec, ms, offset, zone);
}

function _bsd(s: string, zone: DateZone, receivedAt: number): boolean {
  const n = s.length;
  const month = month3At(s, 0);
  if (month < 0 || s.charCodeAt(3) !== 32) return false;
  let i = 4;
  if (s.charCodeAt(i) === 32) i++;
  let day = digitsAt(s, i, 2);
  if (day >= 0) i += 2;
  else {
    day = digitsAt(s, i, 1);
    if (day < 0) return false;
    i += 1;
  }
  if (s.charCodeAt(i) !== 32) return false;
  i++;
  let year = -1;
  if (s.charCodeAt(i + 4) === 32) {
    year = digitsAt(s, i, 4);
    if (year < 0) return false;
    i += 5;
  }
  const hour = digitsAt(s, i, 2);
  const min = digitsAt(s, i + 3, 2);
  const sec = digitsAt(s, i + 6, 2);
  if (
    hour < 0 || min < 0 || sec < 0 || s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58
  ) return false;
  i += 8;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    if (!fractionAt(s, i + 1)) return false;
    ms = scanValue;
    i = scanPos;
  }
  if (i !== n) return false;
  if (year >= 0) return resolveClock(year, month, day, hour, min, sec, ms, NaN, zone);
  return resolveYearless(month, day, hour, min, sec, ms, NaN, zone, receivedAt);
}

function _show(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}
