/**
 * The date parser's clock arithmetic: time zones, clock fields to an
 * instant (with or without a year), epoch numbers. Results go to the live
 * bindings {@linkcode outMs} and {@linkcode outOffset} rather than an
 * object per event.
 *
 * @module
 */

import { memoize } from "../core/memo.ts";

/** A time zone: its offset in minutes east of UTC at an instant. */
export type DateZone = (utcMs: number) => number;

/**
 * Reads one time stamp format: on success the instant is in
 * {@linkcode outMs} and its offset in {@linkcode outOffset}.
 */
export type DateReader = (value: string | number, zone: DateZone, receivedAt: number) => boolean;

// Results of the last successful read, to avoid an object per event.
/**
 * The instant (ms since the epoch) of the last successful read: a live
 * binding, set by {@linkcode resolveClock}, {@linkcode resolveYearless} and
 * {@linkcode readEpoch}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outMs, readEpoch } from "./_date_clock.ts";
 * assert.ok(readEpoch("1700000000", 1000, () => 0));
 * assert.equal(outMs, 1_700_000_000_000);
 * ```
 */
export let outMs = 0;
/**
 * The offset (minutes east of UTC) of the last successful read; see
 * {@linkcode outMs}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outOffset, resolveClock } from "./_date_clock.ts";
 * assert.ok(resolveClock(2026, 1, 1, 0, 0, 0, 0, 60, () => 0));
 * assert.equal(outOffset, 60);
 * ```
 */
export let outOffset = 0;

const MAX_MS = 8.64e15;
const DAY_MS = 86_400_000;

/**
 * The zone a `timezone` option names: `undefined` for the process's local
 * zone, `"UTC"`, a fixed offset (`"+01:00"`, `"-0530"`) or an IANA name
 * (its offsets cached per quarter hour).
 *
 * @param timezone The option.
 * @returns The zone.
 * @throws {TypeError | RangeError} On anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dateZone } from "./_date_clock.ts";
 * assert.equal(dateZone("+01:30")(0), 90);
 * assert.equal(dateZone("Europe/Budapest")(Date.UTC(2026, 6, 1)), 120);
 * ```
 */
export function dateZone(timezone: unknown): DateZone {
  if (timezone === undefined) return (ms) => -new Date(ms).getTimezoneOffset();
  if (typeof timezone !== "string") {
    throw new TypeError(
      `dateParser: "timezone" must be a string, got ${
        typeof timezone === "object" ? JSON.stringify(timezone) : String(timezone)
      }`,
    );
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

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Turns clock fields into {@linkcode outMs}/{@linkcode outOffset}.
 * `offset` is the stamp's own offset, or `NaN` to take the zone's (at that
 * wall time, across a change of offset). A leap second reads as the last
 * second of its minute.
 *
 * @param year The year (0–99 are years 0–99, not 19xx).
 * @param month 1–12.
 * @param day 1–31.
 * @param hour 0–23.
 * @param min 0–59.
 * @param sec 0–60.
 * @param ms 0–999.
 * @param offset Minutes east of UTC, or `NaN`.
 * @param zone The zone for stamps without an offset.
 * @returns `false` for an impossible date or one out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outMs, resolveClock } from "./_date_clock.ts";
 * assert.ok(resolveClock(2026, 11, 23, 9, 48, 0, 0, 60, () => 0));
 * assert.equal(outMs, Date.UTC(2026, 10, 23, 8, 48));
 * assert.ok(!resolveClock(2026, 2, 30, 0, 0, 0, 0, 0, () => 0));
 * ```
 */
export function resolveClock(
  year: number,
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  ms: number,
  offset: number,
  zone: DateZone,
): boolean {
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || min > 59 || sec > 60) return false;
  // A leap second is read as the last second of its minute.
  const wall = Date.UTC(year, month - 1, day, hour, min, sec === 60 ? 59 : sec, ms);
  // Date.UTC maps years 0–99 to 1900–1999.
  const fixedWall = year >= 0 && year < 100
    ? new Date(wall).setUTCFullYear(year, month - 1, day)
    : wall;
  if (offset === offset) {
    outMs = fixedWall - offset * 60_000;
    outOffset = offset;
  } else {
    let off = zone(fixedWall);
    let t = fixedWall - off * 60_000;
    const again = zone(t);
    if (again !== off) {
      off = again;
      t = fixedWall - off * 60_000;
    }
    outMs = t;
    outOffset = off;
  }
  return Math.abs(outMs) <= MAX_MS;
}

/**
 * Resolves a stamp without a year: the year that puts it closest before
 * `receivedAt` (up to a day after, for clocks running ahead).
 *
 * @param month 1–12.
 * @param day 1–31.
 * @param hour 0–23.
 * @param min 0–59.
 * @param sec 0–60.
 * @param ms 0–999.
 * @param offset Minutes east of UTC, or `NaN` for the zone's.
 * @param zone The zone.
 * @param receivedAt When the event arrived (ms).
 * @returns `false` when no year makes it a real date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outMs, resolveYearless } from "./_date_clock.ts";
 * const jan2 = Date.UTC(2027, 0, 2);
 * assert.ok(resolveYearless(12, 31, 23, 0, 0, 0, NaN, () => 0, jan2));
 * assert.equal(new Date(outMs).getUTCFullYear(), 2026);
 * ```
 */
export function resolveYearless(
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  ms: number,
  offset: number,
  zone: DateZone,
  receivedAt: number,
): boolean {
  const base = new Date(receivedAt).getUTCFullYear();
  let best = NaN;
  let bestOffset = 0;
  let earliest = NaN;
  let earliestOffset = 0;
  for (let year = base - 1; year <= base + 1; year++) {
    if (!resolveClock(year, month, day, hour, min, sec, ms, offset, zone)) continue;
    if (outMs <= receivedAt + DAY_MS && !(outMs <= best)) {
      best = outMs;
      bestOffset = outOffset;
    }
    if (!(outMs >= earliest)) {
      earliest = outMs;
      earliestOffset = outOffset;
    }
  }
  if (best === best) {
    outMs = best;
    outOffset = bestOffset;
    return true;
  }
  if (earliest === earliest) {
    outMs = earliest;
    outOffset = earliestOffset;
    return true;
  }
  return false;
}

const _EPOCH = /^-?\d+(?:\.\d+)?$/;

/**
 * Reads seconds (`unit` 1000) or milliseconds (`unit` 1) since 1970, with
 * a fraction or not, into {@linkcode outMs}; the offset is the zone's.
 *
 * @param value A number, or a string of one.
 * @param unit Milliseconds per unit.
 * @param zone The zone for the offset.
 * @returns `false` for anything else or out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outMs, readEpoch } from "./_date_clock.ts";
 * assert.ok(readEpoch("1700000000.25", 1000, () => 0));
 * assert.equal(outMs, 1_700_000_000_250);
 * assert.ok(!readEpoch("12ab", 1000, () => 0));
 * ```
 */
export function readEpoch(value: string | number, unit: number, zone: DateZone): boolean {
  let n: number;
  if (typeof value === "number") n = value;
  else {
    if (!_EPOCH.test(value)) return false;
    n = Number(value);
  }
  const ms = Math.round(n * unit);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_MS) return false;
  outMs = ms;
  outOffset = zone(ms);
  return true;
}
