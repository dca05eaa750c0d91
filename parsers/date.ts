/**
 * A date parser: reads a time stamp from a field and makes it the event's
 * time, so `${ISODATE}`, `${YEAR}` … render from it.
 *
 * @module
 */

import { fieldGetter, type LogEvent } from "../core/event.ts";
import { memoize } from "../core/memo.ts";
import type { Parser } from "../core/types.ts";

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
  const zone = _zone(options.timezone);
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
          event.timestamp = _outMs;
          event.tzOffset = _outOffset;
          return true;
        }
      }
      return false;
    },
  };
}

/** A time zone: its offset in minutes east of UTC at an instant. */
type _Zone = (utcMs: number) => number;

type _Reader = (value: string | number, zone: _Zone, receivedAt: number) => boolean;

// Results of the last successful read, to avoid an object per event.
let _outMs = 0;
let _outOffset = 0;

const _MAX_MS = 8.64e15;
const _DAY_MS = 86_400_000;

function _reader(format: string): _Reader {
  switch (format) {
    case "iso8601":
    case "rfc3339":
    case "rfc5424":
      return (v, zone) => typeof v === "string" && _iso(v, zone);
    case "rfc3164":
      return (v, zone, recv) => typeof v === "string" && _bsd(v, zone, recv);
    case "epoch":
      return (v, zone) => _epoch(v, 1000, zone);
    case "epoch_ms":
      return (v, zone) => _epoch(v, 1, zone);
  }
  if (format.includes("%")) return _strptime(format);
  throw new RangeError(
    `dateParser: unknown format "${format}" (use iso8601, rfc3164, epoch, epoch_ms or a %-format)`,
  );
}

// ---------------------------------------------------------------- time zones

function _zone(timezone: unknown): _Zone {
  if (timezone === undefined) return (ms) => -new Date(ms).getTimezoneOffset();
  if (typeof timezone !== "string") {
    throw new TypeError(`dateParser: "timezone" must be a string, got ${_show(timezone)}`);
  }
  const upper = timezone.toUpperCase();
  if (upper === "UTC" || upper === "Z" || upper === "GMT") return () => 0;
  const fixed = /^([+-])(\d\d):?(\d\d)?$/.exec(timezone);
  if (fixed) {
    const minutes = Number(fixed[2]) * 60 + Number(fixed[3] ?? 0);
    if (minutes > 18 * 60) {
      throw new RangeError(`dateParser: "timezone" offset is out of range, got "${timezone}"`);
    }
    const offset = fixed[1] === "-" ? -minutes : minutes;
    return () => offset;
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch {
    throw new RangeError(
      `dateParser: "timezone" must be "UTC", an offset such as "+01:00" or an IANA zone name, got "${timezone}"`,
    );
  }
  // Offsets change on quarter hours at the finest: one per quarter hour.
  const offsetIn = memoize((bucket: number): number => {
    const p: Record<string, number> = {};
    for (const part of format.formatToParts(bucket * 900_000)) {
      if (part.type !== "literal") p[part.type] = Number(part.value);
    }
    const wall = Date.UTC(
      p.year ?? 1970,
      (p.month ?? 1) - 1,
      p.day ?? 1,
      p.hour ?? 0,
      p.minute ?? 0,
      p.second ?? 0,
    );
    return Math.round((wall - bucket * 900_000) / 60_000);
  }, 4096);
  return (ms) => offsetIn(Math.floor(ms / 900_000));
}

function _daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Turns clock fields into `_outMs`/`_outOffset`. `offset` is the stamp's own
 * offset, or `NaN` to take the zone's. Returns `false` for impossible dates.
 */
function _resolve(
  year: number,
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  ms: number,
  offset: number,
  zone: _Zone,
): boolean {
  if (month < 1 || month > 12 || day < 1 || day > _daysIn(year, month)) return false;
  if (hour > 23 || min > 59 || sec > 60) return false;
  // A leap second is read as the last second of its minute.
  const wall = Date.UTC(year, month - 1, day, hour, min, sec === 60 ? 59 : sec, ms);
  // Date.UTC maps years 0–99 to 1900–1999.
  const fixedWall = year >= 0 && year < 100
    ? new Date(wall).setUTCFullYear(year, month - 1, day)
    : wall;
  if (offset === offset) {
    _outMs = fixedWall - offset * 60_000;
    _outOffset = offset;
  } else {
    let off = zone(fixedWall);
    let t = fixedWall - off * 60_000;
    const again = zone(t);
    if (again !== off) {
      off = again;
      t = fixedWall - off * 60_000;
    }
    _outMs = t;
    _outOffset = off;
  }
  return Math.abs(_outMs) <= _MAX_MS;
}

/** Resolves a stamp without a year: the year closest before `receivedAt` (up to a day after). */
function _resolveYearless(
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  ms: number,
  offset: number,
  zone: _Zone,
  receivedAt: number,
): boolean {
  const base = new Date(receivedAt).getUTCFullYear();
  let best = NaN;
  let bestOffset = 0;
  let earliest = NaN;
  let earliestOffset = 0;
  for (let year = base - 1; year <= base + 1; year++) {
    if (!_resolve(year, month, day, hour, min, sec, ms, offset, zone)) continue;
    if (_outMs <= receivedAt + _DAY_MS && !(_outMs <= best)) {
      best = _outMs;
      bestOffset = _outOffset;
    }
    if (!(_outMs >= earliest)) {
      earliest = _outMs;
      earliestOffset = _outOffset;
    }
  }
  if (best === best) {
    _outMs = best;
    _outOffset = bestOffset;
    return true;
  }
  if (earliest === earliest) {
    _outMs = earliest;
    _outOffset = earliestOffset;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------- formats

/** Reads `len` digits at `at`, or -1. */
function _digits(s: string, at: number, len: number): number {
  if (at + len > s.length) return -1;
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

// Position after the last fraction/offset read (saves returning objects).
let _pos = 0;
let _frac = 0;

/** Reads a fraction's digits at `at` into `_frac` (ms) and `_pos`; false if none. */
function _fraction(s: string, at: number): boolean {
  let i = at;
  let ms = 0;
  let scale = 100;
  while (i < s.length) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    ms += c * scale;
    scale /= 10;
    i++;
  }
  if (i === at) return false;
  _frac = Math.floor(ms);
  _pos = i;
  return true;
}

/** Reads `Z`, `±hh:mm`, `±hhmm` or `±hh` at `at` into `_frac` (minutes) and `_pos`. */
function _offset(s: string, at: number): boolean {
  const c = s.charCodeAt(at);
  if (c === 90 || c === 122) {
    _frac = 0;
    _pos = at + 1;
    return true;
  }
  if (c !== 43 && c !== 45) return false;
  const h = _digits(s, at + 1, 2);
  if (h < 0 || h > 18) return false;
  let i = at + 3;
  let m = 0;
  if (s.charCodeAt(i) === 58) {
    m = _digits(s, i + 1, 2);
    if (m < 0) return false;
    i += 3;
  } else if (i < s.length) {
    m = _digits(s, i, 2);
    if (m < 0) return false;
    i += 2;
  }
  if (m > 59) return false;
  _frac = (c === 45 ? -1 : 1) * (h * 60 + m);
  _pos = i;
  return true;
}

function _iso(s: string, zone: _Zone): boolean {
  const n = s.length;
  const year = _digits(s, 0, 4);
  if (year < 0 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  const month = _digits(s, 5, 2);
  const day = _digits(s, 8, 2);
  if (month < 0 || day < 0) return false;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let ms = 0;
  let offset = NaN;
  if (n > 10) {
    const t = s.charCodeAt(10);
    if (t !== 84 && t !== 116 && t !== 32) return false;
    hour = _digits(s, 11, 2);
    min = _digits(s, 14, 2);
    if (hour < 0 || min < 0 || s.charCodeAt(13) !== 58) return false;
    let i = 16;
    if (s.charCodeAt(i) === 58) {
      sec = _digits(s, i + 1, 2);
      if (sec < 0) return false;
      i += 3;
      const dot = s.charCodeAt(i);
      if (dot === 46 || dot === 44) {
        if (!_fraction(s, i + 1)) return false;
        ms = _frac;
        i = _pos;
      }
    }
    if (i < n) {
      if (!_offset(s, i)) return false;
      offset = _frac;
      i = _pos;
    }
    if (i !== n) return false;
  } else if (n !== 10) return false;
  return _resolve(year, month, day, hour, min, sec, ms, offset, zone);
}

const _MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];
const _MONTHS_LONG = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const _DAYS_LONG = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/** The month (1–12) named by three letters at `at`, or -1. */
function _month3(s: string, at: number): number {
  if (at + 3 > s.length) return -1;
  const name = s.slice(at, at + 3).toLowerCase();
  return _MONTHS.indexOf(name) + 1 || -1;
}

function _bsd(s: string, zone: _Zone, receivedAt: number): boolean {
  const n = s.length;
  const month = _month3(s, 0);
  if (month < 0 || s.charCodeAt(3) !== 32) return false;
  let i = 4;
  if (s.charCodeAt(i) === 32) i++;
  let day = _digits(s, i, 2);
  if (day >= 0) i += 2;
  else {
    day = _digits(s, i, 1);
    if (day < 0) return false;
    i += 1;
  }
  if (s.charCodeAt(i) !== 32) return false;
  i++;
  let year = -1;
  if (s.charCodeAt(i + 4) === 32) {
    year = _digits(s, i, 4);
    if (year < 0) return false;
    i += 5;
  }
  const hour = _digits(s, i, 2);
  const min = _digits(s, i + 3, 2);
  const sec = _digits(s, i + 6, 2);
  if (
    hour < 0 || min < 0 || sec < 0 || s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58
  ) return false;
  i += 8;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    if (!_fraction(s, i + 1)) return false;
    ms = _frac;
    i = _pos;
  }
  if (i !== n) return false;
  if (year >= 0) return _resolve(year, month, day, hour, min, sec, ms, NaN, zone);
  return _resolveYearless(month, day, hour, min, sec, ms, NaN, zone, receivedAt);
}

const _EPOCH = /^-?\d+(?:\.\d+)?$/;

function _epoch(value: string | number, unit: number, zone: _Zone): boolean {
  let n: number;
  if (typeof value === "number") n = value;
  else {
    if (!_EPOCH.test(value)) return false;
    n = Number(value);
  }
  const ms = Math.round(n * unit);
  if (!Number.isFinite(ms) || Math.abs(ms) > _MAX_MS) return false;
  _outMs = ms;
  _outOffset = zone(ms);
  return true;
}

// ---------------------------------------------------------------- strptime

type _Field =
  | "Y"
  | "y"
  | "m"
  | "d"
  | "H"
  | "I"
  | "M"
  | "S"
  | "f"
  | "b"
  | "a"
  | "p"
  | "z"
  | "Z"
  | "s";
type _Token = { lit: string } | { blank: true } | { dir: _Field; pad?: boolean };

const _EXPAND: Record<string, string> = { T: "%H:%M:%S", F: "%Y-%m-%d", D: "%m/%d/%y", R: "%H:%M" };

function _tokens(format: string): _Token[] {
  const out: _Token[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c === "%") {
      const d = format[++i];
      if (d === undefined) throw new RangeError(`dateParser: format "${format}" ends with "%"`);
      if (d === "%") out.push({ lit: "%" });
      else if (d === "n" || d === "t") out.push({ blank: true });
      else if (_EXPAND[d]) out.push(..._tokens(_EXPAND[d] as string));
      else if ("YymdHIMSfbpzZsa".includes(d)) out.push({ dir: d as _Field });
      else if (d === "e") out.push({ dir: "d", pad: true });
      else if (d === "h" || d === "B") out.push({ dir: "b" });
      else if (d === "A") out.push({ dir: "a" });
      else throw new RangeError(`dateParser: format "${format}" has an unknown directive "%${d}"`);
    } else if (c === " " || c === "\t") {
      if (!(out.at(-1) as { blank?: true } | undefined)?.blank) out.push({ blank: true });
    } else {
      const last = out.at(-1) as { lit?: string } | undefined;
      if (last?.lit !== undefined) last.lit += c;
      else out.push({ lit: c });
    }
  }
  return out;
}

/** Reads 1–`max` digits at `at` into `_frac` and `_pos`. */
function _num(s: string, at: number, max: number): boolean {
  let i = at;
  let n = 0;
  while (i < s.length && i - at < max) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
    i++;
  }
  if (i === at) return false;
  _frac = n;
  _pos = i;
  return true;
}

/** Reads a name from `names` (longest first) at `at`, case-insensitively, into `_frac` (index) and `_pos`. */
function _name(s: string, at: number, long: readonly string[], short: boolean): boolean {
  const rest = s.slice(at, at + 9).toLowerCase();
  for (let k = 0; k < long.length; k++) {
    const name = long[k] as string;
    if (rest.startsWith(name)) {
      _frac = k;
      _pos = at + name.length;
      return true;
    }
  }
  if (short) {
    for (let k = 0; k < long.length; k++) {
      if (rest.startsWith((long[k] as string).slice(0, 3))) {
        _frac = k;
        _pos = at + 3;
        return true;
      }
    }
  }
  return false;
}

function _strptime(format: string): _Reader {
  const tokens = _tokens(format);
  const hasYear = tokens.some((t) => "dir" in t && (t.dir === "Y" || t.dir === "y"));
  const hasEpoch = tokens.some((t) => "dir" in t && t.dir === "s");
  return (value, zone, receivedAt) => {
    if (typeof value !== "string") return false;
    const s = value;
    let i = 0;
    let year = 1970;
    let month = 1;
    let day = 1;
    let hour = 0;
    let min = 0;
    let sec = 0;
    let ms = 0;
    let offset = NaN;
    let pm = -1;
    let epoch = NaN;
    for (const t of tokens) {
      if ("lit" in t) {
        if (!s.startsWith(t.lit, i)) return false;
        i += t.lit.length;
        continue;
      }
      if ("blank" in t) {
        while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
        continue;
      }
      switch (t.dir) {
        case "Y":
          if (!_num(s, i, 4)) return false;
          year = _frac;
          break;
        case "y":
          if (!_num(s, i, 2)) return false;
          year = _frac < 69 ? 2000 + _frac : 1900 + _frac;
          break;
        case "m":
          if (!_num(s, i, 2)) return false;
          month = _frac;
          break;
        case "d":
          if (t.pad && s.charCodeAt(i) === 32) i++;
          if (!_num(s, i, 2)) return false;
          day = _frac;
          break;
        case "H":
        case "I":
          if (!_num(s, i, 2)) return false;
          hour = _frac;
          break;
        case "M":
          if (!_num(s, i, 2)) return false;
          min = _frac;
          break;
        case "S":
          if (!_num(s, i, 2)) return false;
          sec = _frac;
          break;
        case "f":
          if (!_fraction(s, i)) return false;
          ms = _frac;
          break;
        case "b":
          if (!_name(s, i, _MONTHS_LONG, true)) return false;
          month = _frac + 1;
          break;
        case "a":
          if (!_name(s, i, _DAYS_LONG, true)) return false;
          break;
        case "p": {
          const ap = s.slice(i, i + 2).toUpperCase();
          if (ap !== "AM" && ap !== "PM") return false;
          pm = ap === "PM" ? 1 : 0;
          _pos = i + 2;
          break;
        }
        case "z":
          if (!_offset(s, i)) return false;
          offset = _frac;
          break;
        case "Z": {
          let j = i;
          while (j < s.length && /[A-Za-z]/.test(s[j] as string)) j++;
          if (j === i) return false;
          const name = s.slice(i, j).toUpperCase();
          if (name === "UTC" || name === "GMT" || name === "Z" || name === "UT") offset = 0;
          _pos = j;
          break;
        }
        case "s": {
          const neg = s.charCodeAt(i) === 45;
          if (!_num(s, neg ? i + 1 : i, 12)) return false;
          epoch = neg ? -_frac : _frac;
          break;
        }
      }
      i = _pos;
    }
    while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
    if (i !== s.length) return false;
    if (hasEpoch) return _epoch(epoch, 1000, zone);
    if (pm >= 0) {
      if (hour < 1 || hour > 12) return false;
      hour = (hour % 12) + (pm === 1 ? 12 : 0);
    }
    if (hasYear) return _resolve(year, month, day, hour, min, sec, ms, offset, zone);
    return _resolveYearless(month, day, hour, min, sec, ms, offset, zone, receivedAt);
  };
}

function _show(value: unknown): string {
  if (typeof value === "string") return `"${value}"`;
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}
