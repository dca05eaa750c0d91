import assert from "node:assert/strict";
import { createEvent, getField, type LogEvent } from "../../core/event.ts";
import { csvParser, type CsvParserOptions } from "../../parsers/csv.ts";

function parse(text: string, options: CsvParserOptions): LogEvent {
  const event = createEvent(text);
  assert.ok(csvParser(options).parse(event), `parses ${JSON.stringify(text)}`);
  return event;
}

const ADDRWATCH = ["facility", "timestamp", "interface", "vlan", "mac", "ip", "type"];

Deno.test("csvParser() reads addrwatch lines (space-delimited, IPv4 and IPv6)", async () => {
  const lines = (await Deno.readTextFile(
    new URL("../fixtures/parsers/addrwatch.log", import.meta.url),
  )).split("\n").filter((line) => line !== "");
  const parser = csvParser({ columns: ADDRWATCH, delimiters: " ", prefix: "arp" });
  const parsed = lines.map((line) => {
    const event = createEvent(line);
    assert.ok(parser.parse(event), line);
    return event.fields.arp as Record<string, string>;
  });
  assert.deepEqual(parsed[0], {
    facility: "daemon",
    timestamp: "1700000000",
    interface: "eth0",
    vlan: "0",
    mac: "52:54:00:12:34:56",
    ip: "192.168.1.23",
    type: "ARP_REQ",
  });
  assert.equal(parsed[2]?.vlan, "10");
  assert.equal(parsed[3]?.ip, "fe80::5054:ff:fe12:3456");
  assert.equal(parsed[3]?.type, "ND_NS");
  assert.equal(parsed[5]?.ip, "::");
});

Deno.test("csvParser() reads RFC 4180 quoting with doubled quotes and delimiters inside", () => {
  const event = parse('1,"Smith, John","said ""hi""",""', {
    columns: ["id", "name", "quote", "e"],
  });
  assert.deepEqual(event.fields.csv, { id: "1", name: "Smith, John", quote: 'said "hi"', e: "" });
});

Deno.test("csvParser() reads backslash-escaped quotes when asked", () => {
  const event = parse('"a \\"b\\" \\\\ c",d', { columns: ["x", "y"], escape: "backslash" });
  assert.deepEqual(event.fields.csv, { x: 'a "b" \\ c', y: "d" });
  const none = parse('"a \\",b', { columns: ["x", "y"], escape: "none" });
  assert.deepEqual(none.fields.csv, { x: "a \\", y: "b" });
});

Deno.test("csvParser() with several delimiters, one-character set or strings", () => {
  const set = parse("a;b,c d", { columns: ["w", "x", "y", "z"], delimiters: ";, " });
  assert.deepEqual(set.fields.csv, { w: "a", x: "b", y: "c", z: "d" });
  const strings = parse("a::b;c", { columns: ["x", "y", "z"], delimiters: ["::", ";"] });
  assert.deepEqual(strings.fields.csv, { x: "a", y: "b", z: "c" });
  const longest = parse("a:b::c", { columns: ["x", "y", "z"], delimiters: [":", "::"] });
  assert.deepEqual(longest.fields.csv, { x: "a", y: "b", z: "c" });
});

Deno.test("csvParser() greedy last column takes the rest of the line", () => {
  const event = parse("2026-11-23 vm-1 sshd Failed password for root, again", {
    columns: ["date", "host", "program", "message"],
    delimiters: " ",
    greedy: true,
  });
  assert.equal(getField(event, "csv.message"), "Failed password for root, again");
  assert.equal(csvParser({ columns: ["a", "b"] }).parse(createEvent("1,2,3")), false);
  assert.ok(csvParser({ columns: ["a", "b"], greedy: true }).parse(createEvent("1,2,3")));
});

Deno.test("csvParser() turns the null value into null and strips whitespace when asked", () => {
  const event = parse(' a , - ,"  kept  " , NULL', {
    columns: ["a", "b", "c", "d"],
    nullValue: "-",
    stripWhitespace: true,
  });
  assert.deepEqual(event.fields.csv, { a: "a", b: null, c: "  kept  ", d: "NULL" });
  const raw = parse(" a , b", { columns: ["a", "b"] });
  assert.deepEqual(raw.fields.csv, { a: " a ", b: " b" });
});

Deno.test("csvParser() returns false on too few or too many values and sets nothing", () => {
  const parser = csvParser({ columns: ["a", "b", "c"] });
  for (const text of ["1,2", "1,2,3,4", "", "only"]) {
    const event = createEvent(text);
    assert.equal(parser.parse(event), false, text);
    assert.deepEqual(event.fields, {});
  }
});

Deno.test("csvParser() keeps empty columns between adjacent delimiters", () => {
  const event = parse("a,,c,", { columns: ["a", "b", "c", "d"] });
  assert.deepEqual(event.fields.csv, { a: "a", b: "", c: "c", d: "" });
});

Deno.test("csvParser() skips unnamed columns and nests dotted ones", () => {
  const event = parse("x,10.0.0.5,22", { columns: ["", "src.ip", "src.port"], prefix: "" });
  assert.deepEqual(event.fields, { src: { ip: "10.0.0.5", port: "22" } });
});

Deno.test("csvParser() with quoting off keeps quotes as text", () => {
  const event = parse('"a,b"', { columns: ["x", "y"], quote: "" });
  assert.deepEqual(event.fields.csv, { x: '"a', y: 'b"' });
});

Deno.test("csvParser() reads an unclosed quote to the end and text after a closing quote", () => {
  assert.deepEqual(parse('"open,x', { columns: ["x"] }).fields.csv, { x: "open,x" });
  assert.deepEqual(parse('"a"b,c', { columns: ["x", "y"] }).fields.csv, { x: "ab", y: "c" });
});

Deno.test("csvParser() reads a tab-separated field other than the message", () => {
  const event = createEvent("m", { fields: { line: "a\tb" } });
  assert.ok(
    csvParser({ columns: ["x", "y"], delimiters: "\t", field: "line", prefix: "t" }).parse(event),
  );
  assert.deepEqual(event.fields.t, { x: "a", y: "b" });
});

Deno.test("csvParser() rejects bad options naming the option", () => {
  assert.throws(() => csvParser({ columns: [] }), /csvParser: "columns" must name at least one/);
  assert.throws(() => csvParser({} as CsvParserOptions), /csvParser: "columns" must be an array/);
  assert.throws(() => csvParser({ columns: ["a"], delimiters: "" }), /csvParser: "delimiters"/);
  assert.throws(() => csvParser({ columns: ["a"], quote: "''" }), /csvParser: "quote"/);
  assert.throws(() => csvParser({ columns: ["a"], delimiters: '"' }), /csvParser: "quote"/);
  assert.throws(
    () => csvParser({ columns: ["a"], escape: "sql" as "none" }),
    /csvParser: "escape" must be .* got "sql"/,
  );
  assert.throws(() => csvParser({ columns: ["a..b"] }), RangeError);
});
