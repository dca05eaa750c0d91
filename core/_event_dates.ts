/**
 * The event model's date macros: syslog-ng's `${ISODATE}`, `${YEAR}` …
 * `${UNIXTIME}` of an event's time or reception, and {@linkcode isoDate}.
 * Re-exported by core/event.ts.
 *
 * @module
 */

// "00" … "99": the two-digit fields of every date, without a padStart each.
const _TWO = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, "0"));

function _pad(n: number, width = 2): string {
  return width === 2 && n >= 0 && n < 100 ? _TWO[n]! : String(n).padStart(width, "0");
}

/** The clock fields of an event's time, in the event's own time zone. */
interface _Clock {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  ms: number;
  offset: number;
}

// Events come in bursts from the same second, and all but a few from the same day: the
// calendar fields are worked out with a Date once a day (per zone), the time of day by
// arithmetic once a second, and only the milliseconds change. The result is shared and
// only read at once by the caller.
let _memoSecond = NaN;
let _memoZone: number | undefined;
let _memo: _Clock = { year: 0, month: 0, day: 0, hour: 0, min: 0, sec: 0, ms: 0, offset: 0 };
// The day the calendar fields are of: its first and last second in the zone's own time,
// and the zone's offset (the same local second is another day in another zone).
let _dayFirst = NaN;
let _dayEnd = NaN;
let _dayOffset = 0;
// The local zone's offset only changes on a quarter of an hour (DST, zone changes).
let _zoneQuarter = NaN;
let _zoneOffset = 0;

function _localOffset(ms: number): number {
  const quarter = Math.floor(ms / 900_000);
  if (quarter !== _zoneQuarter) {
    _zoneOffset = -new Date(ms).getTimezoneOffset();
    _zoneQuarter = quarter;
  }
  return _zoneOffset;
}

function _clock(ms: number, offsetMinutes: number | undefined): _Clock {
  const second = Math.floor(ms / 1000);
  if (second !== _memoSecond || offsetMinutes !== _memoZone || Number.isNaN(second)) {
    const offset = offsetMinutes ?? _localOffset(ms);
    // The second in the zone's own time (a Date counts whole milliseconds).
    const local = Math.floor((second * 1000 + Math.trunc(offset * 60_000)) / 1000);
    if (!(local >= _dayFirst && local < _dayEnd) || offset !== _dayOffset) {
      const d = new Date(local * 1000);
      _memo = {
        year: d.getUTCFullYear(),
        month: d.getUTCMonth() + 1,
        day: d.getUTCDate(),
        hour: 0,
        min: 0,
        sec: 0,
        ms: 0,
        offset,
      };
      // Outside a Date's range every field is NaN, as the Date's own are.
      _dayFirst = Number.isNaN(d.getTime()) ? NaN : Math.floor(local / 86_400) * 86_400;
      _dayEnd = _dayFirst + 86_400;
      _dayOffset = offset;
    }
    const inDay = local - _dayFirst;
    _memo.hour = Math.floor(inDay / 3600);
    _memo.min = Math.floor(inDay / 60) % 60;
    _memo.sec = inDay % 60;
    _memoSecond = second;
    _memoZone = offsetMinutes;
  }
  _memo.ms = Math.floor(ms - second * 1000);
  return _memo;
}

function _tz(offset: number): string {
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${sign}${_pad(Math.floor(abs / 60))}:${_pad(abs % 60)}`;
}

/**
 * Formats a time as syslog-ng's `${ISODATE}` does: `2026-11-23T09:48:00+01:00`.
 *
 * @param ms Milliseconds since the epoch.
 * @param offsetMinutes Time zone offset east of UTC; the local zone when omitted.
 * @returns The ISO 8601 text with the zone offset.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoDate } from "./_event_dates.ts";
 * assert.ok(isoDate(0, 0) === "1970-01-01T00:00:00+00:00");
 * ```
 */
export function isoDate(ms: number, offsetMinutes?: number): string {
  const c = _clock(ms, offsetMinutes);
  return `${c.year}-${_pad(c.month)}-${_pad(c.day)}T${_pad(c.hour)}:${_pad(c.min)}:${_pad(c.sec)}${
    _tz(c.offset)
  }`;
}

type _DateMacro = (c: _Clock, ms: number) => string;

const _DATE_MACROS: Record<string, _DateMacro> = {
  ISODATE: (c) =>
    `${c.year}-${_pad(c.month)}-${_pad(c.day)}T${_pad(c.hour)}:${_pad(c.min)}:${_pad(c.sec)}${
      _tz(c.offset)
    }`,
  DATE: (c) => `${c.year}-${_pad(c.month)}-${_pad(c.day)}`,
  YEAR: (c) => String(c.year),
  MONTH: (c) => _pad(c.month),
  DAY: (c) => _pad(c.day),
  HOUR: (c) => _pad(c.hour),
  MIN: (c) => _pad(c.min),
  SEC: (c) => _pad(c.sec),
  MSEC: (c) => _pad(c.ms, 3),
  TZOFFSET: (c) => _tz(c.offset),
  UNIXTIME: (_c, ms) => String(Math.floor(ms / 1000)),
};

/**
 * A getter for a date macro (`ISODATE`, `DATE`, `YEAR` … `UNIXTIME`) of an
 * event's time, or with `R_` of its reception (`S_` is the time too); the
 * clock fields are worked out once a second.
 *
 * @param name The macro name.
 * @returns The getter, or `undefined` when it is no date macro.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dateMacroGetter } from "./_event_dates.ts";
 * const year = dateMacroGetter("YEAR");
 * assert.equal(year?.({ timestamp: 0, tzOffset: 0, receivedAt: 0 }), "1970");
 * ```
 */
export function dateMacroGetter(
  name: string,
): ((event: { timestamp?: number; tzOffset?: number; receivedAt: number }) => string) | undefined {
  let which: "stamp" | "received" = "stamp";
  let base = name;
  if (name.startsWith("R_")) {
    which = "received";
    base = name.slice(2);
  } else if (name.startsWith("S_")) base = name.slice(2);
  const macro = _DATE_MACROS[base];
  if (!macro) return undefined;
  if (which === "received") {
    return (e) => macro(_clock(e.receivedAt, undefined), e.receivedAt);
  }
  return (e) => {
    const ms = e.timestamp ?? e.receivedAt;
    return macro(_clock(ms, e.timestamp === undefined ? undefined : e.tzOffset), ms);
  };
}
