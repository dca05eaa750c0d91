import assert from "node:assert/strict";
import fc from "fast-check";
import { LINE_INVALID_UTF8, LINE_TRUNCATED } from "../../core/framing.ts";
import { OctetCountingFramer, StreamFramer } from "../../core/octet_framing.ts";

const enc = new TextEncoder();

function frame(messages: string[]): Uint8Array {
  const parts = messages.map((m) => {
    const body = enc.encode(m);
    const head = enc.encode(`${body.length} `);
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    return out;
  });
  const size = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

Deno.test("OctetCountingFramer splits frames however the stream is chunked", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 10 }),
      (raw, cuts) => {
        // Messages lose one trailing newline, so keep them free of one.
        const messages = raw.map((m) => m.replace(/\r?\n$/, ""));
        const bytes = frame(messages);
        const framer = new OctetCountingFramer();
        const got: string[] = [];
        let at = 0;
        let k = 0;
        while (at < bytes.length) {
          const size = cuts[k++ % cuts.length] as number;
          const framed = framer.push(bytes.slice(at, at + size));
          assert.equal(framed.error, undefined);
          got.push(...framed.messages);
          at += size;
        }
        const end = framer.flush();
        assert.equal(end.error, undefined);
        assert.deepEqual(got, messages);
      },
    ),
  );
});

Deno.test("OctetCountingFramer frames a chunk of hundreds of KiB in one push exactly as message by message", () => {
  const messages: string[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 211 === 3) messages.push(`long ${i} ` + "L".repeat(60_000));
    else if (i >= 1000 && i < 1040) messages.push(`multi-byte ${i} é日本🚨`.repeat(1 + (i % 4)));
    else {messages.push(
        `<13>1 2026-12-04T05:00:00Z vm1 app - - - {"n":${i},"x":"${"x".repeat(i % 300)}"}`,
      );}
  }
  const bytes = frame(messages);
  assert.ok(bytes.length > 1_000_000);
  const whole = new OctetCountingFramer().push(bytes);
  assert.equal(whole.error, undefined);
  assert.equal(whole.messages.length, messages.length);
  whole.messages.forEach((m, i) => assert.equal(m, messages[i], `message ${i}`));
  // Invalid UTF-8 among ASCII messages is flagged on that message only.
  const bad = new Uint8Array([...enc.encode("3 abc"), ...enc.encode("3 "), 0x61, 0xff, 0x62]);
  const mixed = new OctetCountingFramer().push(
    new Uint8Array([...frame(messages.slice(0, 500)), ...bad]),
  );
  assert.equal(mixed.messages.length, 502);
  assert.equal(mixed.messages[500], "abc");
  assert.equal(mixed.messages[501], "a\uFFFDb");
  assert.equal(mixed.flags?.[501], LINE_INVALID_UTF8);
  assert.equal(mixed.flags?.[499] ?? 0, 0);
});

Deno.test("OctetCountingFramer cuts an oversized frame and finds the next one", () => {
  const framer = new OctetCountingFramer({ maxMessageBytes: 4 });
  const bytes = frame(["abcdefghij", "ok", "0123456789"]);
  const whole = framer.push(bytes);
  assert.deepEqual(whole.messages, ["abcd", "ok", "0123"]);
  assert.equal(whole.flags?.[0], LINE_TRUNCATED);
  assert.equal(whole.flags?.[1], 0);
  assert.equal(framer.truncated, 2);
  // The same, one byte at a time (the slow path).
  const slow = new OctetCountingFramer({ maxMessageBytes: 4 });
  const got: string[] = [];
  for (let i = 0; i < bytes.length; i++) got.push(...slow.push(bytes.subarray(i, i + 1)).messages);
  assert.deepEqual(got, ["abcd", "ok", "0123"]);
  assert.equal(slow.truncated, 2);
});

Deno.test("OctetCountingFramer reports a bad count and stops framing", () => {
  const framer = new OctetCountingFramer();
  const framed = framer.push(enc.encode("2 ok5x hello"));
  assert.deepEqual(framed.messages, ["ok"]);
  assert.match(framed.error ?? "", /invalid octet count: byte 0x78/);
  const after = framer.push(enc.encode("2 ok"));
  assert.deepEqual(after.messages, []);
  assert.ok(after.error);
});

Deno.test("OctetCountingFramer refuses leading zeros and absurd counts", () => {
  assert.match(new OctetCountingFramer().push(enc.encode("05 hello")).error ?? "", /starts with 0/);
  assert.match(
    new OctetCountingFramer().push(enc.encode("99999999999 x")).error ?? "",
    /too large/,
  );
  assert.match(new OctetCountingFramer().push(enc.encode(" 5 hello")).error ?? "", /0x20/);
});

Deno.test("OctetCountingFramer tolerates newlines between frames and drops one trailing newline", () => {
  const framer = new OctetCountingFramer();
  const framed = framer.push(enc.encode("4 one\n\n5 two\r\n\n3 abc"));
  assert.deepEqual(framed.messages, ["one", "two", "abc"]);
  assert.equal(framed.error, undefined);
});

Deno.test("OctetCountingFramer returns a frame cut by the end of the stream, flagged", () => {
  const framer = new OctetCountingFramer();
  assert.deepEqual(framer.push(enc.encode("10 hello")).messages, []);
  assert.equal(framer.pendingBytes, 5);
  const end = framer.flush();
  assert.deepEqual(end.messages, ["hello"]);
  assert.equal(end.flags?.[0], LINE_TRUNCATED);
  assert.match(end.error ?? "", /5 bytes before the end/);
});

Deno.test("OctetCountingFramer keeps invalid UTF-8 as U+FFFD and flags it", () => {
  const framer = new OctetCountingFramer();
  const framed = framer.push(new Uint8Array([51, 32, 0x61, 0xff, 0x62, 50, 32, 0xc3, 0xa9]));
  assert.deepEqual(framed.messages, ["a\uFFFDb", "é"]);
  assert.equal(framed.flags?.[0], LINE_INVALID_UTF8);
  assert.equal(framed.flags?.[1], 0);
  assert.equal(framer.invalidUtf8, 1);
});

Deno.test("StreamFramer detects octet counting on a leading digit, newlines otherwise", () => {
  const counted = new StreamFramer();
  assert.deepEqual(counted.push(enc.encode("3 abc4 defg")).messages, ["abc", "defg"]);
  assert.equal(counted.mode, "octet-counting");
  const lines = new StreamFramer();
  assert.deepEqual(lines.push(enc.encode('{"a":1}\n{"b":2}\n')).messages, ['{"a":1}', '{"b":2}']);
  assert.equal(lines.mode, "newline");
  const empty = new StreamFramer();
  empty.push(new Uint8Array(0));
  assert.equal(empty.mode, undefined);
});

Deno.test("StreamFramer with framing newline keeps lines that start with a digit", () => {
  const framer = new StreamFramer({ framing: "newline" });
  assert.deepEqual(framer.push(enc.encode("3 abc\n")).messages, ["3 abc"]);
  assert.deepEqual(framer.push(enc.encode("tail")).messages, []);
  assert.deepEqual(framer.flush().messages, ["tail"]);
});

Deno.test("StreamFramer rejects bad options by name", () => {
  assert.throws(
    // @ts-expect-error: a wrong value on purpose
    () => new StreamFramer({ framing: "lines" }),
    /StreamFramer: "framing" must be "auto", "newline" or "octet-counting", got "lines"/,
  );
  assert.throws(() => new StreamFramer({ maxMessageBytes: 0 }), /"maxMessageBytes"/);
});
