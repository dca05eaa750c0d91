import assert from "node:assert/strict";
import { createEvent, getField } from "../../core/event.ts";
import { regexpParser } from "../../parsers/regexp.ts";

const RFC5424 =
  /^<(?<pri>\d{1,3})>1 (?<timestamp>\S+) (?<host>\S+) (?<app>\S+) (?<procid>\S+) (?<msgid>\S+) (?<sd>-|(?:\[[^\]]*\])+)(?: (?<msg>.*))?$/;

Deno.test("regexpParser() reads the RFC 5424 examples with named groups", async () => {
  const lines = (await Deno.readTextFile(
    new URL("../fixtures/parsers/rfc5424.log", import.meta.url),
  )).split("\n").filter((line) => line !== "");
  const parser = regexpParser(RFC5424, { prefix: "r" });
  const events = lines.map((line) => {
    const event = createEvent(line);
    assert.ok(parser.parse(event), line);
    return event;
  });
  assert.deepEqual(events[0]?.fields.r, {
    pri: "34",
    timestamp: "2003-10-11T22:14:15.003Z",
    host: "mymachine.example.com",
    app: "su",
    procid: "-",
    msgid: "ID47",
    sd: "-",
    msg: "'su root' failed for lonvick on /dev/pts/8",
  });
  assert.equal(getField(events[1]!, "r.procid"), "8710");
  assert.equal(getField(events[2]!, "r.msg"), "An application event log entry...");
  // The last example has no MSG: the optional group is not set at all.
  assert.equal(getField(events[3]!, "r.msg"), undefined);
  assert.ok(String(getField(events[3]!, "r.sd")).endsWith('[examplePriority@32473 class="high"]'));
});

Deno.test("regexpParser() tries patterns in order and the first match wins", () => {
  const parser = regexpParser([
    /^(?<kind>a)(?<rest>.*)$/,
    "^(?<kind>ab)(?<second>.*)$",
    "^(?<kind>b)",
  ]);
  const a = createEvent("abc");
  assert.ok(parser.parse(a));
  assert.deepEqual(a.fields, { kind: "a", rest: "bc" });
  const b = createEvent("bcd");
  assert.ok(parser.parse(b));
  assert.deepEqual(b.fields, { kind: "b" });
  const none = createEvent("zzz");
  assert.equal(parser.parse(none), false);
  assert.deepEqual(none.fields, {});
});

Deno.test("regexpParser() drops g and y flags so results do not depend on the last event", () => {
  const parser = regexpParser(/(?<n>\d+)/gy);
  for (let i = 0; i < 3; i++) {
    const event = createEvent("42 and more");
    assert.ok(parser.parse(event));
    assert.equal(event.fields.n, "42");
  }
  const ci = regexpParser(/^(?<w>hello)/i);
  assert.ok(ci.parse(createEvent("HELLO there")));
});

Deno.test("regexpParser() matches another field, including numbers", () => {
  const event = createEvent("m", { fields: { kv: { DPT: 22 } } });
  assert.ok(regexpParser("^(?<port>\\d+)$", { field: "kv.DPT", prefix: "p" }).parse(event));
  assert.equal(getField(event, "p.port"), "22");
  assert.equal(regexpParser("x", { field: "absent" }).parse(event), false);
});

Deno.test("regexpParser() without named groups only tells whether it matched", () => {
  const event = createEvent("error: disk full");
  assert.ok(regexpParser("^error:").parse(event));
  assert.deepEqual(event.fields, {});
});

Deno.test("regexpParser() rejects bad patterns and options", () => {
  assert.throws(
    () => regexpParser("(unclosed"),
    /regexpParser: pattern 0 "\(unclosed" is not a valid/,
  );
  assert.throws(() => regexpParser([]), RangeError);
  assert.throws(() => regexpParser([42 as unknown as string]), TypeError);
  assert.throws(() => regexpParser("x", { prefix: "MSG" }), /regexpParser: "prefix"/);
});
