import assert from "node:assert/strict";
import fc from "fast-check";
import { cloneEvent, createEvent, getField, type LogEvent } from "../../core/event.ts";
import { compileTemplate } from "../../core/template.ts";
import { syslogParser } from "../../parsers/syslog.ts";

interface _Case {
  name: string;
  input: string;
  receivedAt?: string;
  expect: Record<string, unknown>;
}

const cases = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/syslog/cases.json", import.meta.url)),
) as { parsed: _Case[]; unparsable: string[] };

function parsed(input: string, receivedAt = "2026-11-23T10:00:00Z", tz = 0): LogEvent {
  const event = createEvent(input, { receivedAt: Date.parse(receivedAt) });
  assert.ok(syslogParser({ timeZoneOffset: tz }).parse(event), `parses ${JSON.stringify(input)}`);
  return event;
}

for (const c of cases.parsed) {
  Deno.test(`syslogParser() parses the fixture: ${c.name}`, () => {
    const event = parsed(c.input, c.receivedAt);
    const syslog = event.fields.syslog as Record<string, unknown>;
    for (const [key, want] of Object.entries(c.expect)) {
      switch (key) {
        case "timestamp":
          assert.equal(new Date(event.timestamp as number).toISOString(), want, key);
          break;
        case "msgid":
        case "sd":
          assert.deepEqual(syslog[key], want, key);
          break;
        default:
          assert.deepEqual(event[key as keyof LogEvent], want, key);
      }
    }
    if (!("host" in c.expect)) assert.equal(event.host, undefined);
    if (!("program" in c.expect)) assert.equal(event.program, undefined);
    if (!("pid" in c.expect)) assert.equal(event.pid, undefined);
    if (!("sd" in c.expect)) assert.equal(syslog.sd, undefined);
    assert.equal(syslog.format, c.input.match(/^<\d+>1 /) ? "rfc5424" : "rfc3164");
  });
}

Deno.test("syslogParser() returns false and leaves malformed messages untouched", () => {
  const parser = syslogParser();
  for (const input of cases.unparsable) {
    const event = createEvent(input, { host: "kept" });
    const before = cloneEvent(event);
    assert.equal(parser.parse(event), false, JSON.stringify(input));
    assert.deepEqual(event, before);
  }
});

Deno.test("syslogParser() never throws and never half-parses, whatever the input", () => {
  const parser = syslogParser();
  const syslogish = fc.tuple(
    fc.constantFrom("<13>1 ", "<165>1 ", "<34>", "<0>", "", "<191>Nov 23 10:00:00 "),
    fc.string({ unit: "binary", maxLength: 120 }),
  ).map(([a, b]) => a + b);
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: "binary" }), syslogish), (input) => {
      const event = createEvent(input);
      const before = cloneEvent(event);
      const ok = parser.parse(event);
      if (!ok) assert.deepEqual(event, before);
      else assert.equal(typeof event.message, "string");
    }),
    { numRuns: 500 },
  );
});

Deno.test("syslogParser() stores structured data where templates can reach it", () => {
  const event = parsed(
    '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] msg',
  );
  assert.equal(getField(event, "syslog.sd.exampleSDID@32473.iut"), "3");
  assert.equal(
    compileTemplate("${syslog.sd.exampleSDID@32473.eventSource} ${PROGRAM}")(event),
    "Application evntslog",
  );
  assert.equal(getField(event, "SEVERITY"), "notice");
  assert.equal(getField(event, "FACILITY"), "local4");
});

Deno.test("syslogParser() infers the missing RFC 3164 year nearest to the reception, never far ahead", () => {
  const year = (input: string, receivedAt: string) =>
    new Date(parsed(input, receivedAt).timestamp as number).toISOString();
  // A December line read just after New Year is last year's.
  assert.equal(
    year("<13>Dec 31 23:59:59 h p: x", "2027-01-01T00:00:05Z"),
    "2026-12-31T23:59:59.000Z",
  );
  // A January line read on New Year's Eve (sender's clock ahead) is next year's.
  assert.equal(
    year("<13>Jan  1 00:00:03 h p: x", "2026-12-31T23:59:58Z"),
    "2027-01-01T00:00:03.000Z",
  );
  // Same day.
  assert.equal(
    year("<13>Jun 15 12:00:00 h p: x", "2026-06-15T12:00:01Z"),
    "2026-06-15T12:00:00.000Z",
  );
  // A date weeks ahead is taken as last year's (an old log being replayed).
  assert.equal(
    year("<13>Aug  1 00:00:00 h p: x", "2026-06-15T12:00:00Z"),
    "2025-08-01T00:00:00.000Z",
  );
  // 29 February goes to the last leap year.
  assert.equal(
    year("<13>Feb 29 08:00:00 h p: x", "2026-06-15T12:00:00Z"),
    "2024-02-29T08:00:00.000Z",
  );
});

Deno.test("syslogParser() reads RFC 3164 times in the configured zone and keeps milliseconds", () => {
  const event = createEvent("<13>Nov 23 10:00:00.123 h p: x", {
    receivedAt: Date.parse("2026-11-23T12:00:00Z"),
  });
  assert.ok(syslogParser({ timeZoneOffset: 120 }).parse(event));
  assert.equal(new Date(event.timestamp as number).toISOString(), "2026-11-23T08:00:00.123Z");
  assert.equal(event.tzOffset, 120);
  assert.equal(getField(event, "ISODATE"), "2026-11-23T10:00:00+02:00");
});

Deno.test("syslogParser() keepRaw keeps the message as received", () => {
  const raw = "<13>1 2026-11-23T10:00:00Z vm1 app - - - hello";
  const event = createEvent(raw);
  assert.ok(syslogParser({ keepRaw: true, prefix: "sys" }).parse(event));
  assert.equal(event.message, "hello");
  assert.equal((event.fields.sys as Record<string, unknown>).raw, raw);
});

Deno.test("syslogParser() keepHost keeps a host set by the source and records the claim", () => {
  const event = createEvent("<13>1 2026-11-23T10:00:00Z vm-2 app - - - I am vm-2", {
    host: "vm-1",
  });
  assert.ok(syslogParser({ keepHost: true }).parse(event));
  assert.equal(event.host, "vm-1");
  assert.equal((event.fields.syslog as Record<string, unknown>).hostname, "vm-2");
  const unset = createEvent("<13>1 2026-11-23T10:00:00Z vm-2 app - - - hi");
  assert.ok(syslogParser({ keepHost: true }).parse(unset));
  assert.equal(unset.host, "vm-2");
});

Deno.test("syslogParser() format restricts what is accepted", () => {
  assert.equal(
    syslogParser({ format: "rfc5424" }).parse(createEvent("<13>Nov 23 10:00:00 h p: x")),
    false,
  );
  const event = createEvent("<13>1 - - - - - - x");
  assert.ok(syslogParser({ format: "rfc3164" }).parse(event));
  assert.equal(event.message, "1 - - - - - - x");
});

Deno.test("syslogParser() rejects bad options by name", () => {
  // @ts-expect-error: a wrong value on purpose
  assert.throws(() => syslogParser({ format: "bsd" }), /syslogParser: "format" must be/);
  assert.throws(() => syslogParser({ timeZoneOffset: 5000 }), /"timeZoneOffset"/);
  assert.throws(() => syslogParser({ prefix: "" }), /"prefix"/);
});
