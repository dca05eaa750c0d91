/**
 * The syslog parser's timestamps: RFC 3339 as RFC 5424 uses it, and the
 * BSD `Mmm dd hh:mm:ss` of RFC 3164 with its year guessed.
 *
 * @module
 */

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

/**
 * Whether a UTF-16 code is an ASCII digit.
 *
 * @param c A char code.
 * @returns Whether it is `0`–`9`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDigit } from "./_syslog_stamps.ts";
 * assert.equal(isDigit("7".charCodeAt(0)), true);
 * ```
 */
export function isDigit(c: number): boolean {
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
 * @param text The timestamp alone.
 * @returns `[ms, offsetMinutes]`, or `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rfc3339Stamp } from "./_syslog_stamps.ts";
 * assert.deepEqual(rfc3339Stamp("2003-10-11T22:14:15.003Z"), [Date.UTC(2003, 9, 11, 22, 14, 15, 3), 0]);
 * assert.equal(rfc3339Stamp("2003-10-11 22:14:15Z"), undefined);
 * ```
 */
export function rfc3339Stamp(text: string): [number, number] | undefined {
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
 * Reads `Mmm dd hh:mm:ss` (optionally `.fff`) at `i`.
 *
 * The year is not in the line: the latest that does not put the time more
 * than `maxFuture` after its reception is taken.
 *
 * @param s The line.
 * @param i Where the stamp would start.
 * @param receivedAt When the line arrived (ms).
 * @param tz The zone in minutes east of UTC, or `undefined` for this process's.
 * @param maxFuture How far after `receivedAt` a stamp may lie (ms).
 * @param out Receives `timestamp` and `tzOffset`.
 * @returns `undefined` when there is no such timestamp, `null` when it is
 * there but impossible (Feb 30, 25:00), else where it ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bsdStamp } from "./_syslog_stamps.ts";
 * const out: { timestamp?: number; tzOffset?: number } = {};
 * const now = Date.UTC(2026, 10, 24);
 * assert.equal(bsdStamp("Nov 23 09:48:00 host", 0, now, 0, 86_400_000, out), 15);
 * assert.equal(out.timestamp, Date.UTC(2026, 10, 23, 9, 48));
 * ```
 */
export function bsdStamp(
  s: string,
  i: number,
  receivedAt: number,
  tz: number | undefined,
  maxFuture: number,
  out: { timestamp?: number; tzOffset?: number },
): number | null | undefined {
  if (s.length < i + 15) return undefined;
  const month = _MONTHS[s.slice(i, i + 3)];
  if (month === undefined || s.charCodeAt(i + 3) !== 32) return undefined;
  const d1 = s.charCodeAt(i + 4);
  const d2 = s.charCodeAt(i + 5);
  if (!((d1 === 32 || isDigit(d1)) && isDigit(d2))) return undefined;
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
  if (s.charCodeAt(end) === 46 && isDigit(s.charCodeAt(end + 1))) {
    let k = end + 1;
    let scale = 100;
    while (isDigit(s.charCodeAt(k))) {
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
