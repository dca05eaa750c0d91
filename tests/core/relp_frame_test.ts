import assert from "node:assert/strict";
import fc from "fast-check";
import { createEvent } from "../../core/event.ts";
import {
  encodeRelpFrame,
  formatRelpOffers,
  parseRelpOffers,
  parseRelpResponse,
  RelpFrameEncoder,
} from "../../core/relp_encode.ts";
import { formatRelpEnvelope, unwrapRelpEnvelope } from "../../core/relp_envelope.ts";
import {
  nextTxnr,
  RELP_MAX_TXNR,
  type RelpFrame,
  RelpFrameError,
  RelpFrameParser,
} from "../../core/relp_frame.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Frames as plain values, data decoded (views die with their chunk). */
function plain(frames: RelpFrame[]): Array<[number, string, string]> {
  return frames.map((f) => [f.txnr, f.command, dec.decode(f.data)]);
}

function parseAll(parser: RelpFrameParser, chunks: Uint8Array[]): Array<[number, string, string]> {
  const out: Array<[number, string, string]> = [];
  for (const chunk of chunks) out.push(...plain(parser.push(chunk)));
  return out;
}

Deno.test("RelpFrameParser reads many frames from one chunk", () => {
  const parser = new RelpFrameParser();
  const text = "1 open 14 relp_version=0\n2 syslog 5 hello\n3 syslog 0\n4 close 0\n";
  assert.deepEqual(plain(parser.push(enc.encode(text))), [
    [1, "open", "relp_version=0"],
    [2, "syslog", "hello"],
    [3, "syslog", ""],
    [4, "close", ""],
  ]);
  assert.equal(parser.pendingBytes, 0);
});

Deno.test("RelpFrameParser reassembles frames split at every byte", () => {
  const text = "17 syslog 11 hello\nworld\n18 rsp 6 200 OK\n999999999 syslog 3 é!\n";
  const bytes = enc.encode(text);
  const expected: Array<[number, string, string]> = [
    [17, "syslog", "hello\nworld"],
    [18, "rsp", "200 OK"],
    [999999999, "syslog", "é!"],
  ];
  for (let cut = 1; cut < bytes.length; cut++) {
    const parser = new RelpFrameParser();
    assert.deepEqual(
      parseAll(parser, [bytes.slice(0, cut), bytes.slice(cut)]),
      expected,
      `cut at ${cut}`,
    );
  }
  const parser = new RelpFrameParser();
  assert.deepEqual(parseAll(parser, [...bytes].map((b) => new Uint8Array([b]))), expected);
});

Deno.test("RelpFrameParser keeps data intact for any split of random frames", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: RELP_MAX_TXNR }), fc.string()), {
        minLength: 1,
        maxLength: 20,
      }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
      (frames, sizes) => {
        const encoder = new RelpFrameEncoder(64);
        for (const [txnr, data] of frames) encoder.add(txnr, "syslog", data);
        const bytes = encoder.take();
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const size = sizes[i % sizes.length] as number;
          chunks.push(bytes.slice(at, at + size));
          at += size;
        }
        const parsed = parseAll(new RelpFrameParser(), chunks);
        assert.deepEqual(parsed, frames.map(([t, d]) => [t, "syslog", dec.decode(enc.encode(d))]));
      },
    ),
  );
});

Deno.test("RelpFrameParser rejects an oversized frame as soon as its header arrives", () => {
  const parser = new RelpFrameParser({ maxDataBytes: 100 });
  assert.deepEqual(plain(parser.push(enc.encode("1 syslog 3 abc\n"))), [[1, "syslog", "abc"]]);
  assert.throws(
    () => parser.push(enc.encode("2 syslog 101 ")),
    (err: unknown) =>
      err instanceof RelpFrameError && err.code === "too-large" &&
      err.message.includes("101 bytes") && err.message.includes("100 bytes"),
  );
  // The stream cannot be resynchronised: the parser keeps failing.
  assert.throws(() => parser.push(enc.encode("3 syslog 1 a\n")), RelpFrameError);
});

Deno.test("RelpFrameParser rejects garbage with a message naming it", () => {
  const cases: Array<[string, RegExp]> = [
    ["GET / HTTP/1.1\r\n", /must start with a transaction number, got "GET/],
    ["1234567890 syslog 1 a\n", /more than 9 digits/],
    ["1 sys-log 1 a\n", /command must be 1 to 32 letters/],
    [`1 ${"a".repeat(33)} 0\n`, /longer than 32 letters/],
    ["1 syslog x\n", /DATALEN must be a number/],
    ["1 syslog 3 abcd\n", /does not end with LF/],
    ["1 syslog 3\tabc\n", /followed by a space/],
    ["1 close 0 \n", /does not end with LF/],
    [" 1 syslog 0\n", /transaction number/],
  ];
  for (const [text, pattern] of cases) {
    const parser = new RelpFrameParser();
    assert.throws(
      () => parser.push(enc.encode(text)),
      (err: unknown) =>
        err instanceof RelpFrameError && err.code === "invalid" && pattern.test(err.message),
      text,
    );
  }
});

Deno.test("RelpFrameParser meets arbitrary bytes with frames or a RelpFrameError, nothing else", () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 8 }),
      fc.boolean(),
      (chunks, framed) => {
        const parser = new RelpFrameParser({ maxDataBytes: 64 });
        // Half the runs start with a valid frame, so garbage also meets a parser mid-stream.
        const all = framed ? [encodeRelpFrame(1, "syslog", "ok"), ...chunks] : chunks;
        try {
          for (const chunk of all) {
            for (const f of parser.push(chunk)) {
              assert.ok(f.txnr >= 0 && f.txnr <= RELP_MAX_TXNR);
              assert.match(f.command, /^[A-Za-z]{1,32}$/);
              assert.ok(f.data.length <= 64);
            }
          }
        } catch (err) {
          assert.ok(err instanceof RelpFrameError, String(err));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("RelpFrameParser rejects a trailer missing after data that arrived in pieces", () => {
  const parser = new RelpFrameParser();
  assert.deepEqual(parser.push(enc.encode("1 syslog 6 abc")), []);
  assert.equal(parser.pendingBytes, 3);
  assert.deepEqual(parser.push(enc.encode("def")), []);
  assert.throws(() => parser.push(enc.encode("X")), /does not end with LF/);
});

Deno.test("RelpFrameParser hands out data views only for frames inside the chunk", () => {
  const parser = new RelpFrameParser();
  const chunk = enc.encode("1 syslog 3 abc\n2 syslog 3 d");
  const [whole] = parser.push(chunk);
  assert.equal(whole?.data.buffer, chunk.buffer);
  const [split] = parser.push(enc.encode("ef\n"));
  assert.notEqual(split?.data.buffer, chunk.buffer);
  assert.equal(dec.decode(split?.data), "def");
});

Deno.test("RelpFrameParser checks its option", () => {
  assert.throws(() => new RelpFrameParser({ maxDataBytes: 0 }), /"maxDataBytes".*got 0/);
});

Deno.test("RelpFrameEncoder writes frames librelp reads, UTF-8 lengths in bytes", () => {
  const encoder = new RelpFrameEncoder(64);
  encoder.add(1, "open", "relp_version=0\ncommands=syslog");
  encoder.add(2, "syslog", "ü".repeat(100));
  encoder.add(3, "syslog", new Uint8Array([104, 105]));
  encoder.add(4, "close");
  const text = dec.decode(encoder.take());
  assert.equal(
    text,
    `1 open 30 relp_version=0\ncommands=syslog\n2 syslog 200 ${
      "ü".repeat(100)
    }\n3 syslog 2 hi\n4 close 0\n`,
  );
  assert.equal(encoder.length, 0);
  assert.equal(dec.decode(encodeRelpFrame(7, "rsp", "200 OK")), "7 rsp 6 200 OK\n");
});

Deno.test("nextTxnr wraps from 999999999 to 1", () => {
  assert.equal(nextTxnr(41), 42);
  assert.equal(nextTxnr(RELP_MAX_TXNR - 1), RELP_MAX_TXNR);
  assert.equal(nextTxnr(RELP_MAX_TXNR), 1);
});

Deno.test("parseRelpOffers reads librelp's offers and formatRelpOffers writes them", () => {
  const offers = parseRelpOffers(
    "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n",
  );
  assert.deepEqual(offers.get("relp_version"), ["0"]);
  assert.deepEqual(offers.get("commands"), ["syslog"]);
  assert.equal(offers.get("relp_software")?.length, 3);
  assert.deepEqual(parseRelpOffers("flag\n").get("flag"), []);
  assert.equal(
    formatRelpOffers([["relp_version", ["0"]], ["commands", ["syslog", "eventlog"]]]),
    "relp_version=0\ncommands=syslog,eventlog",
  );
});

Deno.test("parseRelpResponse reads codes, text and body", () => {
  assert.deepEqual(parseRelpResponse("200 OK"), { code: 200, text: "OK", body: "" });
  assert.deepEqual(parseRelpResponse("500 error 7 on connect"), {
    code: 500,
    text: "error 7 on connect",
    body: "",
  });
  assert.deepEqual(parseRelpResponse("200 OK\nrelp_version=0\ncommands=syslog"), {
    code: 200,
    text: "OK",
    body: "relp_version=0\ncommands=syslog",
  });
  assert.equal(parseRelpResponse(""), undefined);
  assert.equal(parseRelpResponse("OK"), undefined);
  assert.equal(parseRelpResponse("2000"), undefined);
});

Deno.test("formatRelpEnvelope and unwrapRelpEnvelope round-trip an event", () => {
  const original = createEvent('{"rule":"R1"}\nsecond line', {
    id: 'vm-1:tail "x"] \\:42',
    host: "vm-1",
    program: "yara",
    pid: "1234",
    facility: 4,
    severity: 2,
    timestamp: Date.UTC(2026, 10, 23, 8, 48, 0, 123),
    tzOffset: 60,
  });
  const text = formatRelpEnvelope(original);
  assert.equal(
    text,
    '<34>1 2026-11-23T09:48:00.123+01:00 vm-1 yara 1234 - [sluice@32473 id="vm-1:tail \\"x\\"\\] \\\\:42"] {"rule":"R1"}\nsecond line',
  );
  const received = createEvent(text);
  assert.equal(unwrapRelpEnvelope(received), true);
  for (const key of ["message", "id", "host", "program", "pid", "facility", "severity"] as const) {
    assert.equal(received[key], original[key], key);
  }
  assert.equal(received.timestamp, original.timestamp);
  assert.equal(received.tzOffset, 60);
});

Deno.test("formatRelpEnvelope writes NILVALUEs and a UTC time for missing parts", () => {
  const event = createEvent("m", { id: "a", timestamp: 0, host: "bad host\u00e9" });
  assert.equal(
    formatRelpEnvelope(event),
    '<13>1 1970-01-01T00:00:00.000Z bad_host_ - - - [sluice@32473 id="a" nopri="fs"] m',
  );
  assert.equal(formatRelpEnvelope(createEvent("m")), "<13>1 - - - - - - m");
  const back = createEvent('<13>1 1970-01-01T00:00:00.000Z h - - - [sluice@32473 id="a"] m');
  assert.ok(unwrapRelpEnvelope(back));
  assert.equal(back.timestamp, 0);
  assert.equal(back.tzOffset, undefined);
  const empty = createEvent('<13>1 - - - - - [sluice@32473 id="a"]');
  assert.ok(unwrapRelpEnvelope(empty));
  assert.equal(empty.message, "");
});

Deno.test("the envelope's PRI is made up only where the event had none, and the receiver does not keep what was made up", () => {
  const cases: Array<[number | undefined, number | undefined, string]> = [
    [undefined, undefined, '<13>1 - h - - - [sluice@32473 id="a" nopri="fs"] m'],
    [4, undefined, '<37>1 - h - - - [sluice@32473 id="a" nopri="s"] m'],
    [undefined, 2, '<10>1 - h - - - [sluice@32473 id="a" nopri="f"] m'],
    [4, 2, '<34>1 - h - - - [sluice@32473 id="a"] m'],
  ];
  for (const [facility, severity, wire] of cases) {
    const sent = createEvent("m", {
      id: "a",
      host: "h",
      ...(facility === undefined ? {} : { facility }),
      ...(severity === undefined ? {} : { severity }),
    });
    assert.equal(formatRelpEnvelope(sent), wire);
    const received = createEvent(wire);
    assert.ok(unwrapRelpEnvelope(received));
    assert.equal(received.facility, facility, `facility of ${wire}`);
    assert.equal(received.severity, severity, `severity of ${wire}`);
    assert.equal(received.id, "a");
    assert.equal(received.message, "m");
  }
  // From a sender that predates nopri, the PRI is taken as it is.
  const old = createEvent('<13>1 - h - - - [sluice@32473 id="a"] m');
  assert.ok(unwrapRelpEnvelope(old));
  assert.equal(old.facility, 1);
  assert.equal(old.severity, 5);
});

Deno.test("unwrapRelpEnvelope leaves every other message alone", () => {
  const others = [
    "<13>Nov 23 09:48:00 vm-1 app: hello",
    "<13>1 - h a - - - plain RFC 5424 without SD",
    '<13>1 - h a - - [other@1 id="x"] foreign SD',
    '<13>1 - h a - - [sluice@32473 other="x"] no id',
    '<13>1 - h a - - [sluice@32473 id="unterminated',
    '<13>1 - h a - - [sluice@32473 id="x"]no space',
    '<999>1 - h a - - [sluice@32473 id="x"] bad pri',
    '{"json":true}',
    "",
  ];
  for (const message of others) {
    const event = createEvent(message);
    assert.equal(unwrapRelpEnvelope(event), false, message);
    assert.equal(event.message, message);
    assert.equal(event.id, undefined);
  }
});

Deno.test("unwrapRelpEnvelope: a plain id followed by a message with backslashes and quotes, and an escaped id, both read back", () => {
  const plain = createEvent(
    '<13>1 - vm-1 - - - [sluice@32473 id="vm-1:a:000000000001"] {"p":"C:\\\\x \\"q\\"]"}',
  );
  assert.equal(unwrapRelpEnvelope(plain), true);
  assert.equal(plain.id, "vm-1:a:000000000001");
  assert.equal(plain.message, '{"p":"C:\\\\x \\"q\\"]"}');
  const escaped = createEvent('<13>1 - vm-1 - - - [sluice@32473 id="a\\"b\\\\c\\]d"] m\\');
  assert.equal(unwrapRelpEnvelope(escaped), true);
  assert.equal(escaped.id, 'a"b\\c]d');
  assert.equal(escaped.message, "m\\");
});
