import assert from "node:assert/strict";
import { createEvent, getField, type LogEvent } from "../../core/event.ts";
import { compileTemplate } from "../../core/template.ts";
import { jsonParser } from "../../parsers/json.ts";

const fixture = (name: string) =>
  Deno.readTextFile(new URL(`../fixtures/parsers/${name}`, import.meta.url)).then((text) =>
    text.split("\n").filter((line) => line !== "")
  );

Deno.test("jsonParser() keeps YARA alert trees, arrays and numbers as they are", async () => {
  const lines = await fixture("yara_alerts.jsonl");
  const parser = jsonParser({ prefix: "alert" });
  for (const line of lines) {
    const event = createEvent(line);
    assert.ok(parser.parse(event));
    assert.deepEqual(event.fields.alert, JSON.parse(line));
    assert.equal(event.message, line);
  }
  const first = createEvent(lines[0] as string);
  parser.parse(first);
  assert.equal(getField(first, "alert.size"), 348160);
  assert.equal(getField(first, "alert.score"), 95.5);
  assert.deepEqual(getField(first, "alert.tags"), ["credential_access", "windows"]);
  assert.equal(getField(first, "alert.meta.ref"), null);
  assert.equal((getField(first, "alert.meta.matches") as unknown[]).length, 2);
  assert.equal(
    compileTemplate("${alert.meta.author}/${alert.rule}")(first),
    "ops/Mimikatz_Strings",
  );
});

Deno.test("jsonParser() parses Docker events and keeps timeNano exact on request", async () => {
  const lines = await fixture("docker_events.jsonl");
  const rounded = jsonParser();
  const exact = jsonParser({ largeIntegers: "string" });
  const a = createEvent(lines[0] as string);
  const b = createEvent(lines[0] as string);
  assert.ok(rounded.parse(a) && exact.parse(b));
  assert.equal(getField(a, "json.Actor.Attributes.name"), "web");
  assert.equal(getField(a, "json.Actor.Attributes.com.docker.compose.project"), undefined);
  assert.equal(
    (getField(a, "json.Actor.Attributes") as Record<string, unknown>)["com.docker.compose.project"],
    "home",
  );
  assert.equal(typeof getField(a, "json.timeNano"), "number");
  assert.equal(getField(b, "json.timeNano"), "1700000000123456789");
  assert.equal(getField(b, "json.time"), 1700000000);
  for (const line of lines) assert.ok(exact.parse(createEvent(line)));
});

Deno.test("jsonParser() returns false and leaves the event alone on invalid JSON", () => {
  const parser = jsonParser();
  for (
    const text of [
      '{"a":1',
      "not json",
      "",
      "   ",
      '{"a":}',
      "{'a':1}",
      "[1,2]",
      "42",
      '"s"',
      "null",
    ]
  ) {
    const event = createEvent(text);
    assert.equal(parser.parse(event), false, text);
    assert.deepEqual(event.fields, {});
    assert.equal(event.message, text);
  }
});

Deno.test("jsonParser() accepts leading blanks before the object", () => {
  const event = createEvent(' \t{"a":{"b":[1,{"c":true}]}}');
  assert.ok(jsonParser().parse(event));
  assert.equal(getField(event, "json.a.b"), (event.fields.json as { a: { b: unknown } }).a.b);
});

Deno.test("jsonParser() with an empty prefix merges keys into the top of the tree", () => {
  const event = createEvent('{"host":"vm-1","n":1}', { fields: { keep: true } });
  assert.ok(jsonParser({ prefix: "" }).parse(event));
  assert.deepEqual(event.fields, { keep: true, host: "vm-1", n: 1 });
});

Deno.test("jsonParser() accepts syslog-ng's dotted prefix form and nested prefixes", () => {
  const a = createEvent('{"x":1}');
  assert.ok(jsonParser({ prefix: ".vm.alert." }).parse(a));
  assert.equal(getField(a, "vm.alert.x"), 1);
});

Deno.test("jsonParser() merges into an object already at the prefix", () => {
  const event = createEvent('{"b":2}', { fields: { json: { a: 1 } } });
  assert.ok(jsonParser().parse(event));
  assert.deepEqual(event.fields.json, { a: 1, b: 2 });
});

Deno.test("jsonParser() parses another field when asked", () => {
  const event: LogEvent = createEvent("outer", { fields: { raw: '{"inner":true}' } });
  assert.ok(jsonParser({ field: "raw", prefix: "inner" }).parse(event));
  assert.equal(getField(event, "inner.inner"), true);
  assert.equal(jsonParser({ field: "missing" }).parse(event), false);
  assert.equal(jsonParser({ field: "HOST" }).parse(createEvent("x", { host: '{"a":1}' })), true);
});

Deno.test("jsonParser() does not let a __proto__ key change prototypes", () => {
  const event = createEvent('{"__proto__":{"polluted":true},"a":1}');
  assert.ok(jsonParser({ prefix: "" }).parse(event));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(event.fields), Object.prototype);
  assert.deepEqual(Object.keys(event.fields), ["__proto__", "a"]);
});

Deno.test("jsonParser() rejects bad options naming the option", () => {
  assert.throws(() => jsonParser({ prefix: "HOST" }), /jsonParser: "prefix"/);
  assert.throws(() => jsonParser({ prefix: "a..b" }), RangeError);
  assert.throws(() => jsonParser({ prefix: 3 as unknown as string }), TypeError);
  assert.throws(
    () => jsonParser({ largeIntegers: "bigint" as "string" }),
    /jsonParser: "largeIntegers" must be "number" or "string", got "bigint"/,
  );
  assert.throws(() => jsonParser({ field: "" }), /jsonParser: "field"/);
});

Deno.test("jsonParser() keeps only unsafe integers as strings, wherever they are", () => {
  const event = createEvent(
    '{"a":[-12345678901234567890, 9007199254740991],"b":{"c":12345678901234567890.5},"d":"12345678901234567890","e":1e300}',
  );
  assert.ok(jsonParser({ largeIntegers: "string" }).parse(event));
  assert.deepEqual(event.fields.json, {
    a: ["-12345678901234567890", 9007199254740991],
    b: { c: 12345678901234567890.5 },
    d: "12345678901234567890",
    e: 1e300,
  });
});
