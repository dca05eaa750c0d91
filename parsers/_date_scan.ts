/**
 * The date parser's scanners: digits, fractions, offsets, numbers and
 * names read at a position of a string, without building objects. Results
 * go to the live bindings {@linkcode scanPos} and {@linkcode scanValue}.
 *
 * @module
 */

/**
 * Reads exactly `len` digits at `at`.
 *
 * @param s The text.
 * @param at Where.
 * @param len How many digits.
 * @returns Their value, or -1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitsAt } from "./_date_scan.ts";
 * assert.equal(digitsAt("x2026", 1, 4), 2026);
 * assert.equal(digitsAt("x20a6", 1, 4), -1);
 * ```
 */
export function digitsAt(s: string, at: number, len: number): number {
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
/**
 * The position after the last successful scan (a live binding, set by the
 * readers of this module).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberAt, scanPos } from "./_date_scan.ts";
 * assert.ok(numberAt("x42y", 1, 4));
 * assert.equal(scanPos, 3);
 * ```
 */
export let scanPos = 0;
/**
 * The value the last successful scan read (ms of a fraction, minutes of an
 * offset, a number, an index of a name); see {@linkcode scanPos}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberAt, scanValue } from "./_date_scan.ts";
 * assert.ok(numberAt("x42y", 1, 4));
 * assert.equal(scanValue, 42);
 * ```
 */
export let scanValue = 0;

/**
 * Reads a fraction's digits at `at` into {@linkcode scanValue} (ms, any
 * number of digits kept to the millisecond) and {@linkcode scanPos}.
 *
 * @param s The text.
 * @param at The first digit after the separator.
 * @returns `false` when there is no digit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fractionAt, scanValue } from "./_date_scan.ts";
 * assert.ok(fractionAt("00.123456", 3));
 * assert.equal(scanValue, 123);
 * ```
 */
export function fractionAt(s: string, at: number): boolean {
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
  scanValue = Math.floor(ms);
  scanPos = i;
  return true;
}

/**
 * Reads `Z`, `±hh:mm`, `±hhmm` or `±hh` at `at` into {@linkcode scanValue}
 * (minutes east of UTC) and {@linkcode scanPos}.
 *
 * @param s The text.
 * @param at Where the offset starts.
 * @returns `false` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offsetAt, scanValue } from "./_date_scan.ts";
 * assert.ok(offsetAt("-05:30", 0));
 * assert.equal(scanValue, -330);
 * ```
 */
export function offsetAt(s: string, at: number): boolean {
  const c = s.charCodeAt(at);
  if (c === 90 || c === 122) {
    scanValue = 0;
    scanPos = at + 1;
    return true;
  }
  if (c !== 43 && c !== 45) return false;
  const h = digitsAt(s, at + 1, 2);
  if (h < 0 || h > 18) return false;
  let i = at + 3;
  let m = 0;
  if (s.charCodeAt(i) === 58) {
    m = digitsAt(s, i + 1, 2);
    if (m < 0) return false;
    i += 3;
  } else if (i < s.length) {
    m = digitsAt(s, i, 2);
    if (m < 0) return false;
    i += 2;
  }
  if (m > 59) return false;
  scanValue = (c === 45 ? -1 : 1) * (h * 60 + m);
  scanPos = i;
  return true;
}

const MONTHS = [
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
/** Month names, lower case, January first. */
export const MONTHS_LONG: readonly string[] = [
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
/** Day names, lower case, Sunday first. */
export const DAYS_LONG: readonly string[] = [
  "sunday",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
];

/**
 * The month named by three letters at `at`, in any case.
 *
 * @param s The text.
 * @param at Where.
 * @returns 1–12, or -1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { month3At } from "./_date_scan.ts";
 * assert.equal(month3At("Nov 23", 0), 11);
 * ```
 */
export function month3At(s: string, at: number): number {
  if (at + 3 > s.length) return -1;
  const name = s.slice(at, at + 3).toLowerCase();
  return MONTHS.indexOf(name) + 1 || -1;
}

/**
 * Reads 1 to `max` digits at `at` into {@linkcode scanValue} and
 * {@linkcode scanPos}.
 *
 * @param s The text.
 * @param at Where.
 * @param max The most digits.
 * @returns `false` when there is no digit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberAt, scanValue } from "./_date_scan.ts";
 * assert.ok(numberAt("7/11", 0, 2));
 * assert.equal(scanValue, 7);
 * ```
 */
export function numberAt(s: string, at: number, max: number): boolean {
  let i = at;
  let n = 0;
  while (i < s.length && i - at < max) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
    i++;
  }
  if (i === at) return false;
  scanValue = n;
  scanPos = i;
  return true;
}

/**
 * Reads a name from `long` at `at`, in any case, or (with `short`) its
 * first three letters, into {@linkcode scanValue} (its index) and
 * {@linkcode scanPos}.
 *
 * @param s The text.
 * @param at Where.
 * @param long The full names.
 * @param short Whether three-letter names count too.
 * @returns `false` when none is there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MONTHS_LONG, nameAt, scanValue } from "./_date_scan.ts";
 * assert.ok(nameAt("Sept", 0, MONTHS_LONG, true));
 * assert.equal(scanValue, 8);
 * ```
 */
export function nameAt(s: string, at: number, long: readonly string[], short: boolean): boolean {
  const rest = s.slice(at, at + 9).toLowerCase();
  for (let k = 0; k < long.length; k++) {
    const name = long[k] as string;
    if (rest.startsWith(name)) {
      scanValue = k;
      scanPos = at + name.length;
      return true;
    }
  }
  if (short) {
    for (let k = 0; k < long.length; k++) {
      if (rest.startsWith((long[k] as string).slice(0, 3))) {
        scanValue = k;
        scanPos = at + 3;
        return true;
      }
    }
  }
  return false;
}
