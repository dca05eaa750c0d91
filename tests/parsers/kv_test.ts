import assert from "node:assert/strict";
import { createEvent, getField, type LogEvent } from "../../core/event.ts";
import { kvParser } from "../../parsers/kv.ts";

const lines = (await Deno.readTextFile(
  new URL("../fixtures/parsers/netfilter.log", import.meta.url),
)).split("\n").filter((line) => line !== "");

function parse(text: string, options: Parameters<typeof kvParser>[0] = {}): LogEvent {
  const event = createEvent(text);
  assert.ok(kvParser(options).parse(event), `parses ${JSON.stringify(text)}`);
  return event;
}

Deno.test("kvParser() reads a netfilter LOG line: pairs, empty values and bare flags", () => {
  const event = parse(lines[0] as string, { prefix: "fw" });
  const fw = event.fields.fw as Record<string, unknown>;
  assert.equal(fw.IN, "eth0");
  assert.equal(fw.OUT, "");
  assert.equal(fw.MAC, "52:54:00:12:34:56:52:54:00:65:43:21:08:00");
  assert.equal(fw.SRC, "203.0.113.45");
  assert.equal(fw.DST, "192.0.2.10");
  assert.equal(fw.PROTO, "TCP");
  assert.equal(fw.SPT, "51234");
  assert.equal(fw.DPT, "22");
  assert.equal(fw.WINDOW, "64240");
  assert.equal(fw.DF, true);
  assert.equal(fw.SYN, true);
  assert.equal(fw.URGP, "0");
  assert.equal(fw._text, "[UFW BLOCK]");
});

Deno.test("kvParser() keeps the SIEM@Home log prefix A=DROP C=inet as pairs", () => {
  const event = parse(lines[1] as string, { prefix: "fw" });
  assert.equal(getField(event, "fw.A"), "DROP");
  assert.equal(getField(event, "fw.C"), "inet");
  assert.equal(getField(event, "fw.DPT"), "23");
  assert.equal(getField(event, "fw._text"), undefined);
});

Deno.test("kvParser() keeps the text before the first pair, without the kernel time stamp", () => {
  const event = parse(lines[2] as string);
  assert.equal(getField(event, "kv._text"), "DROP-IN:");
  assert.equal(getField(event, "kv.PROTO"), "ICMP");
  assert.equal(getField(event, "kv.TYPE"), "8");
  // ID appears twice (IP id, then ICMP id): the last wins.
  assert.equal(getField(event, "kv.ID"), "4242");
  const dropped = parse(lines[2] as string, { leadingTextKey: false });
  assert.equal(getField(dropped, "kv._text"), undefined);
  const renamed = parse(lines[2] as string, {
    leadingTextKey: "log_prefix",
    keepKernelTimestamp: true,
  });
  assert.equal(getField(renamed, "kv.log_prefix"), "[12345.678901] DROP-IN:");
});

Deno.test("kvParser() drops a kernel time stamp before the SIEM@Home prefix A=DROP C=inet", () => {
  for (const stamp of ["[86400.123456]", "[    5.000001]"]) {
    const event = parse(`${stamp} A=DROP C=inet IN=eth0 OUT= SRC=203.0.113.7 DST=10.0.0.2`, {
      prefix: "fw",
    });
    assert.equal(getField(event, "fw.A"), "DROP");
    assert.equal(getField(event, "fw.C"), "inet");
    assert.equal(getField(event, "fw.SRC"), "203.0.113.7");
    assert.equal(getField(event, "fw._text"), undefined, stamp);
  }
  const ufw = parse("[86400.123456] [UFW BLOCK] IN=eth0 SRC=203.0.113.7", { prefix: "fw" });
  assert.equal(getField(ufw, "fw._text"), "[UFW BLOCK]");
  // Only a leading time stamp is the kernel's: bracketed numbers elsewhere stay.
  const later = parse("DROP [1.5] IN=eth0", { prefix: "fw" });
  assert.equal(getField(later, "fw._text"), "DROP [1.5]");
  assert.throws(() => kvParser({ keepKernelTimestamp: "yes" as unknown as boolean }), TypeError);
});

Deno.test("kvParser() reads forwarded UDP and IPv6 lines", () => {
  const udp = parse(lines[3] as string);
  assert.equal(getField(udp, "kv.OUT"), "eth0.2");
  assert.equal(getField(udp, "kv.LEN"), "44");
  const v6 = parse(lines[4] as string);
  assert.equal(getField(v6, "kv.IN"), "");
  assert.equal(getField(v6, "kv.SRC"), "2001:0db8:0000:0000:0000:0000:0000:0001");
  assert.equal(getField(v6, "kv.ACK"), true);
  assert.equal(getField(v6, "kv.PSH"), true);
  assert.equal(getField(v6, "kv._text"), "ACCEPT-OUT:");
});

Deno.test("kvParser() reads logfmt: quoted values, escapes, empty values, flags", () => {
  const event = parse(
    'time=2026-11-23T09:48:00Z level=warn msg="disk \\"sda\\" almost full\\n" path=\'/var/lib/a b\' empty="" dangling= debug',
  );
  assert.deepEqual(event.fields.kv, {
    time: "2026-11-23T09:48:00Z",
    level: "warn",
    msg: 'disk "sda" almost full\n',
    path: "/var/lib/a b",
    empty: "",
    dangling: "",
    debug: true,
  });
});

Deno.test("kvParser() keeps unknown backslash sequences and reads an unclosed quote to the end", () => {
  const event = parse('file="C:\\temp\\x.exe" note="unclosed value here');
  assert.equal(getField(event, "kv.file"), "C:\\temp\\x.exe".replace("\\t", "\t"));
  assert.equal(getField(event, "kv.note"), "unclosed value here");
  const raw = parse('p="C:\\Users\\bob"');
  assert.equal(getField(raw, "kv.p"), "C:\\Users\\bob");
});

Deno.test("kvParser() reads RFC 5424 structured-data parameters", async () => {
  const rfc = (await Deno.readTextFile(new URL("../fixtures/parsers/rfc5424.log", import.meta.url)))
    .split("\n");
  const sd = /\[exampleSDID@32473 ([^\]]*)\]/.exec(rfc[2] as string)?.[1] as string;
  const event = createEvent("x", { fields: { sd } });
  assert.ok(kvParser({ field: "sd", prefix: "sd.exampleSDID" }).parse(event));
  assert.deepEqual(getField(event, "sd.exampleSDID"), {
    iut: "3",
    eventSource: "Application",
    eventID: "1011",
  });
});

Deno.test("kvParser() with a pair separator splits on it and trims blanks", () => {
  const event = parse(
    "VSYS=public; Slot=5/1; protocol=17; time=2016/02/18 16:00:07; inbound; policy=370;",
    { pairSeparator: ";" },
  );
  assert.deepEqual(event.fields.kv, {
    VSYS: "public",
    Slot: "5/1",
    protocol: "17",
    time: "2016/02/18 16:00:07",
    inbound: true,
    policy: "370",
  });
  const amp = parse("a=1&b=&c=x%20y&flag", { pairSeparator: "&" });
  assert.deepEqual(amp.fields.kv, { a: "1", b: "", c: "x%20y", flag: true });
  const quoted = parse('Firewall: a="x;y"; b = 2', { pairSeparator: ";" });
  assert.deepEqual(quoted.fields.kv, { _text: "Firewall:", a: "x;y", b: "2" });
});

Deno.test("kvParser() with another value separator", () => {
  const event = parse("user:alice  uid:1000\tshell:/bin/bash", { valueSeparator: ":" });
  assert.deepEqual(event.fields.kv, { user: "alice", uid: "1000", shell: "/bin/bash" });
});

Deno.test("kvParser() returns false on text without any pair", () => {
  const parser = kvParser();
  for (const text of ["", "   ", "hello world", "=novalue", '"a=b"', "'x=1'"]) {
    const event = createEvent(text);
    assert.equal(parser.parse(event), false, text);
    assert.deepEqual(event.fields, {});
  }
});

Deno.test("kvParser() with an empty prefix writes at the top and merges with existing prefixes", () => {
  const top = parse("a=1 b=2", { prefix: "" });
  assert.deepEqual(top.fields, { a: "1", b: "2" });
  const event = createEvent("b=2", { fields: { kv: { a: "1" } } });
  assert.ok(kvParser().parse(event));
  assert.deepEqual(event.fields.kv, { a: "1", b: "2" });
});

Deno.test("kvParser() reads another field and ignores non-strings", () => {
  const event = createEvent("m", { fields: { rest: "a=1" } });
  assert.ok(kvParser({ field: "rest", prefix: "r" }).parse(event));
  assert.equal(getField(event, "r.a"), "1");
  assert.equal(kvParser({ field: "nothing" }).parse(event), false);
});

Deno.test("kvParser() does not let a __proto__ key change prototypes", () => {
  const event = parse("__proto__=x constructor=y", { prefix: "" });
  assert.deepEqual(Object.keys(event.fields), ["__proto__", "constructor"]);
  assert.equal(Object.getPrototypeOf(event.fields), Object.prototype);
});

Deno.test("kvParser() rejects bad options naming the option and value", () => {
  assert.throws(
    () => kvParser({ valueSeparator: "==" }),
    /kvParser: "valueSeparator" must be one character .* got "=="/,
  );
  assert.throws(() => kvParser({ valueSeparator: " " }), RangeError);
  assert.throws(() => kvParser({ pairSeparator: "" }), /kvParser: "pairSeparator"/);
  assert.throws(() => kvParser({ pairSeparator: "=;" }), RangeError);
  assert.throws(() => kvParser({ leadingTextKey: "" }), TypeError);
  assert.throws(() => kvParser({ prefix: "PROGRAM" }), /kvParser: "prefix"/);
});
