/**
 * `strptime`-like formats for the date parser: a format is cut into
 * tokens once, then each value is read against them.
 *
 * @module
 */

import { type DateReader, readEpoch, resolveClock, resolveYearless } from "./_date_clock.ts";
import {
  DAYS_LONG,
  fractionAt,
  MONTHS_LONG,
  nameAt,
  numberAt,
  offsetAt,
  scanPos,
  scanValue,
} from "./_date_scan.ts";

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

/**
 * A reader for a `strptime`-like format (see `DateFormat` in
 * parsers/date.ts for the directives). A blank matches any run of blanks;
 * without `%Y`/`%y` the year is guessed from the event's arrival.
 *
 * @param format The format, with at least one `%` directive.
 * @returns The reader.
 * @throws {RangeError} On an unknown directive or a trailing `%`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { strptimeReader } from "./_strptime.ts";
 * import { outMs } from "./_date_clock.ts";
 * const read = strptimeReader("%d/%b/%Y:%H:%M:%S %z");
 * assert.ok(read("23/Nov/2026:09:48:00 +0100", () => 0, Date.now()));
 * assert.equal(outMs, Date.UTC(2026, 10, 23, 8, 48));
 * ```
 */
export function strptimeReader(format: string): DateReader {
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
          if (!numberAt(s, i, 4)) return false;
          year = scanValue;
          break;
        case "y":
          if (!numberAt(s, i, 2)) return false;
          year = scanValue < 69 ? 2000 + scanValue : 1900 + scanValue;
          break;
        case "m":
          if (!numberAt(s, i, 2)) return false;
          month = scanValue;
          break;
        case "d":
          if (t.pad && s.charCodeAt(i) === 32) i++;
          if (!numberAt(s, i, 2)) return false;
          day = scanValue;
          break;
        case "H":
        case "I":
          if (!numberAt(s, i, 2)) return false;
          hour = scanValue;
          break;
        case "M":
          if (!numberAt(s, i, 2)) return false;
          min = scanValue;
          break;
        case "S":
          if (!numberAt(s, i, 2)) return false;
          sec = scanValue;
          break;
        case "f":
          if (!fractionAt(s, i)) return false;
          ms = scanValue;
          break;
        case "b":
          if (!nameAt(s, i, MONTHS_LONG, true)) return false;
          month = scanValue + 1;
          break;
        case "a":
          if (!nameAt(s, i, DAYS_LONG, true)) return false;
          break;
        case "p": {
          const ap = s.slice(i, i + 2).toUpperCase();
          if (ap !== "AM" && ap !== "PM") return false;
          pm = ap === "PM" ? 1 : 0;
          i += 2;
          continue;
        }
        case "z":
          if (!offsetAt(s, i)) return false;
          offset = scanValue;
          break;
        case "Z": {
          let j = i;
          while (j < s.length && /[A-Za-z]/.test(s[j] as string)) j++;
          if (j === i) return false;
          const name = s.slice(i, j).toUpperCase();
          if (name === "UTC" || name === "GMT" || name === "Z" || name === "UT") offset = 0;
          i = j;
          continue;
        }
        case "s": {
          const neg = s.charCodeAt(i) === 45;
          if (!numberAt(s, neg ? i + 1 : i, 12)) return false;
          epoch = neg ? -scanValue : scanValue;
          break;
        }
      }
      i = scanPos;
    }
    while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
    if (i !== s.length) return false;
    if (hasEpoch) return readEpoch(epoch, 1000, zone);
    if (pm >= 0) {
      if (hour < 1 || hour > 12) return false;
      hour = (hour % 12) + (pm === 1 ? 12 : 0);
    }
    if (hasYear) return resolveClock(year, month, day, hour, min, sec, ms, offset, zone);
    return resolveYearless(month, day, hour, min, sec, ms, offset, zone, receivedAt);
  };
}
