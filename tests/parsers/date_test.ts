import assert from "node:assert/strict";
import { createEvent, getField, type LogEvent } from "../../core/event.ts";
import { compileTemplate } from "../../core/template.ts";
import { dateParser, type DateParserOptions } from "../../parsers/date.ts";

function parsed(
  value: string | number,
  options: DateParserOptions = {},
  receivedAt = "2026-11-23T10:00:00Z",
): LogEvent {
  const event = createEvent("m", { fields: { t: value }, receivedAt: Date.parse(receivedAt) });
  assert.ok(dateParser({ field: "t", ...options }).parse(event), `parses ${value}`);
  return event;
}

const iso = (event: LogEvent) => getField(event, "ISODATE");

Deno.test("dateParser() reads the RFC 5424 example time stamps with their offsets", async () => {
  const lines = (await Deno.readTextFile(
    new URL("../fixtures/parsers/rfc5424.log", import.meta.url),
  )).split("\n").filter((line) => line !== "");
  const stamps = lines.map((line) => line.split(" ")[1] as string);
  const a = parsed(stamps[0]!);
  assert.equal(a.timestamp, Date.UTC(2003, 9, 11, 22, 14, 15, 3));
  assert.equal(a.tzOffset, 0);
  assert.equal(iso(a), "2003-10-11T22:14:15+00:00");
  assert.equal(getField(a, "MSEC"), "003");
  const b = parsed(stamps[1]!);
  assert.equal(b.timestamp, Date.UTC(2003, 7, 24, 12, 14, 15, 0));
  assert.equal(b.tzOffset, -420);
  assert.equal(iso(b), "2003-08-24T05:14:15-07:00");
  assert.equal(
    compileTemplate("${YEAR}/${MONTH}/${DAY} ${HOUR}:${MIN}:${SEC}")(b),
    "2003/08/24 05:14:15",
  );
});

Deno.test("dateParser() reads ISO 8601 variants", () => {
  const utc = { timezone: "UTC" };
  assert.equal(
    parsed("2026-11-23T09:48:00.123+01:00").timestamp,
    Date.UTC(2026, 10, 23, 8, 48, 0, 123),
  );
  assert.equal(parsed("2026-11-23 09:48:00Z").timestamp, Date.UTC(2026, 10, 23, 9, 48));
  assert.equal(parsed("2026-11-23t09:48:00,5z").timestamp, Date.UTC(2026, 10, 23, 9, 48, 0, 500));
  assert.equal(parsed("2026-11-23T09:48:00+0530").tzOffset, 330);
  assert.equal(parsed("2026-11-23T09:48:00-03").tzOffset, -180);
  assert.equal(parsed("2026-11-23T09:48", utc).timestamp, Date.UTC(2026, 10, 23, 9, 48));
  assert.equal(parsed("2026-11-23", utc).timestamp, Date.UTC(2026, 10, 23));
  assert.equal(
    parsed("  2026-11-23T09:48:00.123456789Z \n").timestamp,
    Date.UTC(2026, 10, 23, 9, 48, 0, 123),
  );
  assert.equal(parsed("2016-12-31T23:59:60Z").timestamp, Date.UTC(2016, 11, 31, 23, 59, 59));
});

Deno.test("dateParser() applies the time zone option to stamps without an offset", () => {
  assert.equal(
    parsed("2026-11-23 09:48:00", { timezone: "+01:00" }).timestamp,
    Date.UTC(2026, 10, 23, 8, 48),
  );
  assert.equal(parsed("2026-11-23 09:48:00", { timezone: "-0530" }).tzOffset, -330);
  const winter = parsed("2026-01-15 12:00:00", { timezone: "Europe/Budapest" });
  assert.equal(winter.tzOffset, 60);
  assert.equal(winter.timestamp, Date.UTC(2026, 0, 15, 11));
  const summer = parsed("2026-07-15 12:00:00", { timezone: "Europe/Budapest" });
  assert.equal(summer.tzOffset, 120);
  assert.equal(iso(summer), "2026-07-15T12:00:00+02:00");
  // An explicit offset in the text wins over the option.
  assert.equal(parsed("2026-07-15T12:00:00Z", { timezone: "Europe/Budapest" }).tzOffset, 0);
});

Deno.test("dateParser() reads RFC 3164 stamps and guesses the year from receivedAt", () => {
  const utc = { timezone: "UTC", formats: "rfc3164" as const };
  assert.equal(
    parsed("Nov 23 09:48:00", utc, "2026-11-23T10:00:00Z").timestamp,
    Date.UTC(2026, 10, 23, 9, 48),
  );
  assert.equal(
    parsed("Nov  3 09:48:00.250", utc, "2026-11-23T10:00:00Z").timestamp,
    Date.UTC(2026, 10, 3, 9, 48, 0, 250),
  );
  // Sent just before midnight on New Year's Eve, received just after.
  assert.equal(
    parsed("Dec 31 23:59:00", utc, "2026-01-01T00:10:00Z").timestamp,
    Date.UTC(2025, 11, 31, 23, 59),
  );
  // The sender's clock runs a little ahead across New Year.
  assert.equal(
    parsed("Jan  1 00:20:00", utc, "2025-12-31T23:59:00Z").timestamp,
    Date.UTC(2026, 0, 1, 0, 20),
  );
  // A date more than a day ahead belongs to last year.
  assert.equal(
    parsed("Dec 25 08:00:00", utc, "2026-11-23T10:00:00Z").timestamp,
    Date.UTC(2025, 11, 25, 8),
  );
  // Feb 29 only exists in leap years.
  assert.equal(
    parsed("Feb 29 12:00:00", utc, "2025-03-01T00:00:00Z").timestamp,
    Date.UTC(2024, 1, 29, 12),
  );
  assert.equal(
    parsed("Nov 23 2019 09:48:00", utc).timestamp,
    Date.UTC(2019, 10, 23, 9, 48),
  );
  assert.equal(parsed("Nov 23 09:48:00", { formats: "rfc3164", timezone: "+02:00" }).tzOffset, 120);
});

Deno.test("dateParser() reads epoch seconds and milliseconds, as text or numbers", () => {
  assert.equal(parsed("1700000000", { formats: "epoch" }).timestamp, 1_700_000_000_000);
  assert.equal(parsed("1700000000.25", { formats: "epoch" }).timestamp, 1_700_000_000_250);
  assert.equal(parsed(1700000000, { formats: ["epoch"] }).timestamp, 1_700_000_000_000);
  assert.equal(parsed("1700000000123", { formats: "epoch_ms" }).timestamp, 1_700_000_000_123);
  assert.equal(parsed(1700000000123, { formats: "epoch_ms", timezone: "UTC" }).tzOffset, 0);
  assert.equal(
    iso(parsed(0, { formats: "epoch", timezone: "+01:00" })),
    "1970-01-01T01:00:00+01:00",
  );
});

Deno.test("dateParser() reads strptime-like formats", () => {
  const clf = parsed("10/Oct/2000:13:55:36 -0700", { formats: "%d/%b/%Y:%H:%M:%S %z" });
  assert.equal(clf.timestamp, Date.UTC(2000, 9, 10, 20, 55, 36));
  assert.equal(clf.tzOffset, -420);
  const comma = parsed("2026-11-23 09:48:00,042", { formats: "%F %T,%f", timezone: "UTC" });
  assert.equal(comma.timestamp, Date.UTC(2026, 10, 23, 9, 48, 0, 42));
  const pm = parsed("Monday, March 2 2026 07:05 PM UTC", { formats: "%A, %B %e %Y %I:%M %p %Z" });
  assert.equal(pm.timestamp, Date.UTC(2026, 2, 2, 19, 5));
  const noon = parsed("12:00 AM 01/02/26", { formats: "%I:%M %p %D", timezone: "UTC" });
  assert.equal(noon.timestamp, Date.UTC(2026, 0, 2, 0, 0));
  const yearless = parsed("Nov  3 09:48:00", { formats: "%b %e %T", timezone: "UTC" });
  assert.equal(yearless.timestamp, Date.UTC(2026, 10, 3, 9, 48));
  assert.equal(parsed("@1700000000", { formats: "@%s" }).timestamp, 1_700_000_000_000);
  assert.equal(parsed("100%", { formats: "%Y%%", timezone: "UTC" }).timestamp, Date.UTC(100, 0, 1));
});

Deno.test("dateParser() tries formats in order", () => {
  const event = parsed("1700000000", { formats: ["iso8601", "%Y-%m", "epoch"] });
  assert.equal(event.timestamp, 1_700_000_000_000);
});

Deno.test("dateParser() returns false on impossible or foreign values and changes nothing", () => {
  const parser = dateParser({ field: "t", formats: ["iso8601", "rfc3164", "%d/%m/%Y"] });
  for (
    const value of [
      "2026-02-30T00:00:00Z",
      "2026-13-01",
      "2026-11-23T25:00:00Z",
      "2026-11-23T09:61:00Z",
      "2026-11-23T09:48:00+25:00",
      "2026-11-23T09:48:00 trailing",
      "Foo 23 09:48:00",
      "Nov 23 9:48:00",
      "31/02/2026",
      "-",
      "",
      "yesterday",
      "1700000000",
    ]
  ) {
    const event = createEvent("m", { fields: { t: value } });
    assert.equal(parser.parse(event), false, value);
    assert.equal(event.timestamp, undefined);
    assert.equal(event.tzOffset, undefined);
  }
  for (const value of [null, {}, true, Number.NaN, Infinity]) {
    assert.equal(parser.parse(createEvent("m", { fields: { t: value } })), false);
  }
  assert.equal(dateParser({ formats: "epoch" }).parse(createEvent("1e999")), false);
});

Deno.test("dateParser() reads the message by default", () => {
  const event = createEvent("2026-11-23T09:48:00Z");
  assert.ok(dateParser().parse(event));
  assert.equal(event.timestamp, Date.UTC(2026, 10, 23, 9, 48));
  // Without a time zone option, stamps without an offset are in the local zone.
  const local = createEvent("2026-07-01 12:00:00");
  assert.ok(dateParser().parse(local));
  assert.equal(local.timestamp, new Date(2026, 6, 1, 12).getTime());
  assert.equal(local.tzOffset, -new Date(2026, 6, 1, 12).getTimezoneOffset());
});

Deno.test("dateParser() rejects bad options naming the option and value", () => {
  assert.throws(() => dateParser({ formats: "rfc9999" }), /dateParser: unknown format "rfc9999"/);
  assert.throws(() => dateParser({ formats: [] }), RangeError);
  assert.throws(
    () => dateParser({ formats: "%Q" }),
    /dateParser: format "%Q" has an unknown directive "%Q"/,
  );
  assert.throws(() => dateParser({ formats: "%Y%" }), RangeError);
  assert.throws(
    () => dateParser({ timezone: "Mars/Olympus" }),
    /dateParser: "timezone" .* got "Mars\/Olympus"/,
  );
  assert.throws(() => dateParser({ timezone: "+19:00" }), RangeError);
  assert.throws(() => dateParser({ field: "" }), TypeError);
});
