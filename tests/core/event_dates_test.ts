import assert from "node:assert/strict";
import { dateMacroGetter, isoDate } from "../../core/_event_dates.ts";

// Every field from a Date of its own, as the macros were first written: the reference the
// memoised clock (once a day by Date, once a second by arithmetic) must agree with.
function reference(ms: number, offset: number | undefined): Record<string, string> {
  const zone = offset ?? -new Date(ms).getTimezoneOffset();
  const second = Math.floor(ms / 1000);
  const d = new Date(second * 1000 + zone * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const sign = zone < 0 ? "-" : "+";
  const tz = `${sign}${p(Math.floor(Math.abs(zone) / 60))}:${p(Math.abs(zone) % 60)}`;
  const date = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return {
    ISODATE: `${date}T${time}${tz}`,
    DATE: date,
    YEAR: String(d.getUTCFullYear()),
    MONTH: p(d.getUTCMonth() + 1),
    DAY: p(d.getUTCDate()),
    HOUR: p(d.getUTCHours()),
    MIN: p(d.getUTCMinutes()),
    SEC: p(d.getUTCSeconds()),
    MSEC: p(Math.floor(ms - second * 1000), 3),
    TZOFFSET: tz,
    UNIXTIME: String(second),
  };
}

const MACROS = Object.keys(reference(0, 0));
const getters = MACROS.map((m) => [m, dateMacroGetter(m)!] as const);

function check(ms: number, offset: number | undefined, what: string): void {
  const want = reference(ms, offset);
  const event = {
    timestamp: ms,
    receivedAt: 0,
    ...(offset === undefined ? {} : { tzOffset: offset }),
  };
  for (const [name, get] of getters) assert.equal(get(event), want[name], `${name} of ${what}`);
  assert.equal(isoDate(ms, offset), want.ISODATE, `isoDate of ${what}`);
}

Deno.test("date macros agree with a Date per event, in runs that reuse the day and the second", () => {
  let s = 7;
  const r = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  const offsets = [undefined, 0, 60, -300, 330, 345, 840, -720, -210];
  for (let run = 0; run < 400; run++) {
    // Anywhere from 1900 to 2100, then a run of events a few ms to a few hours apart,
    // crossing days, going back, or repeating the same second.
    let ms = Math.floor((r() * 200 - 70) * 365.25 * 86_400_000) + r();
    const offset = offsets[Math.floor(r() * offsets.length)];
    for (let i = 0; i < 50; i++) {
      check(ms, offset, `${ms} at ${offset}`);
      const step = [0, 1, 999, 1000, 59_000, 3_600_000, 86_399_999, -1000, -86_400_000][
        Math.floor(r() * 9)
      ]!;
      ms += step + (r() < 0.2 ? r() : 0);
    }
  }
});

Deno.test("date macros at the edges: midnight, the epoch, before it, and out of range", () => {
  for (const offset of [0, 60, -60, 330]) {
    const midnight = Date.UTC(2026, 11, 7) - offset * 60_000;
    for (const ms of [midnight - 1, midnight, midnight + 1, midnight + 999, midnight + 1000]) {
      check(ms, offset, `${ms} at ${offset}`);
    }
  }
  for (const ms of [0, -1, -999, -1000, -1001, -86_400_000, -86_400_001, 951_782_400_000]) {
    check(ms, 0, String(ms));
    check(ms, -300, `${ms} at -300`);
  }
  // Past a Date's range every calendar and clock field is NaN, as a Date's own are.
  const year = dateMacroGetter("YEAR")!;
  const hour = dateMacroGetter("HOUR")!;
  assert.equal(year({ timestamp: 9e15, tzOffset: 0, receivedAt: 0 }), "NaN");
  assert.equal(hour({ timestamp: 9e15, tzOffset: 0, receivedAt: 0 }), "NaN");
  // A valid time after it is right again.
  check(1_700_000_000_000, 0, "after an invalid time");
});
