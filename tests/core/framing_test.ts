import assert from "node:assert/strict";
import { LINE_INVALID_UTF8, LINE_TRUNCATED, LineFramer } from "../../mod.ts";

const enc = new TextEncoder();

Deno.test("LineFramer holds a partial line until its newline arrives, with byte end offsets", () => {
  const f = new LineFramer();
  let out = f.push(enc.encode("alpha\nbe"));
  assert.deepEqual(out.lines, ["alpha"]);
  assert.deepEqual(out.ends, [6]);
  out = f.push(enc.encode("ta\ngamma\n"));
  assert.deepEqual(out.lines, ["beta", "gamma"]);
  assert.deepEqual(out.ends, [11, 17]);
  assert.equal(f.pendingBytes, 0);
});

Deno.test("LineFramer counts bytes, not characters, for multi-byte text", () => {
  const f = new LineFramer({ startOffset: 100 });
  const out = f.push(enc.encode("héllo\nwörld\n"));
  assert.deepEqual(out.lines, ["héllo", "wörld"]);
  assert.deepEqual(out.ends, [107, 114]);
});

Deno.test("LineFramer strips a trailing CR and keeps empty lines", () => {
  const out = new LineFramer().push(enc.encode("a\r\n\nb\n"));
  assert.deepEqual(out.lines, ["a", "", "b"]);
});

Deno.test("LineFramer cuts an oversized line, skips its rest, and carries on", () => {
  const f = new LineFramer({ maxLineBytes: 8 });
  const big = "x".repeat(10 * 1024 * 1024);
  const lines: string[] = [];
  const flags: number[] = [];
  for (
    const chunk of [
      enc.encode("ok\n" + big.slice(0, 5000)),
      enc.encode(big.slice(5000) + "\nnext\n"),
    ]
  ) {
    const out = f.push(chunk);
    out.lines.forEach((l, i) => {
      lines.push(l);
      flags.push(out.flags?.[i] ?? 0);
    });
  }
  assert.deepEqual(lines, ["ok", "xxxxxxxx", "next"]);
  assert.equal(flags[1], LINE_TRUNCATED);
  assert.equal(f.truncated, 1);
});

Deno.test("LineFramer cuts an oversized line inside one chunk", () => {
  const f = new LineFramer({ maxLineBytes: 4 });
  const out = f.push(enc.encode("abcdefgh\nab\n"));
  assert.deepEqual(out.lines, ["abcd", "ab"]);
  assert.equal(out.flags?.[0], LINE_TRUNCATED);
});

Deno.test("LineFramer keeps invalid UTF-8 as replacement characters and flags it", () => {
  const f = new LineFramer();
  const bytes = new Uint8Array([0x61, 0xff, 0xfe, 0x62, 0x0a, 0x63, 0x0a]);
  const out = f.push(bytes);
  assert.deepEqual(out.lines, ["a\uFFFD\uFFFDb", "c"]);
  assert.equal(out.flags?.[0], LINE_INVALID_UTF8);
  assert.equal(out.flags?.[1] ?? 0, 0);
  assert.equal(f.invalidUtf8, 1);
});

Deno.test("LineFramer never throws on random binary and accounts for every byte", () => {
  const f = new LineFramer({ maxLineBytes: 1024 });
  let last = 0;
  for (let i = 0; i < 50; i++) {
    const chunk = crypto.getRandomValues(new Uint8Array(4096));
    const out = f.push(chunk);
    for (const end of out.ends) {
      assert.ok(end > last);
      last = end;
    }
  }
  assert.equal(f.position, 50 * 4096);
});

Deno.test("LineFramer.flush returns the last line without newline", () => {
  const f = new LineFramer();
  f.push(enc.encode("a\nb"));
  assert.deepEqual(f.flush().lines, ["b"]);
  assert.deepEqual(f.flush().lines, []);
});

Deno.test("LineFramer frames a large chunk (read buffers grow to 256 KiB) exactly as line by line: offsets, flags, long lines, multi-byte text, CRLF", () => {
  const dec = new TextDecoder();
  const lines: Uint8Array[] = [];
  for (let i = 0; lines.length < 4000; i++) {
    const kind = i % 9;
    if (kind === 0) lines.push(enc.encode(`plain ${i}`));
    else if (kind === 1) lines.push(enc.encode(`crlf ${i}\r`));
    else if (kind === 2) lines.push(enc.encode(`multi-byte ${i} é日本🚨`.repeat(1 + (i % 5))));
    else if (kind === 3) {
      lines.push(new Uint8Array([0x62, 0x61, 0x64, 0xff, 0xfe, 0x20 + (i % 10)]));
    } else if (kind === 4 && i % 900 === 4) lines.push(enc.encode("L".repeat(150_000)));
    else if (kind === 5 && i % 1000 === 5) lines.push(enc.encode("T".repeat(300_000)));
    else if (kind === 6) lines.push(new Uint8Array());
    else lines.push(enc.encode(`{"n":${i},"msg":"${"x".repeat(i % 300)}"}`));
  }
  const size = lines.reduce((n, l) => n + l.length + 1, 0);
  const chunk = new Uint8Array(size);
  let at = 0;
  for (const l of lines) {
    chunk.set(l, at);
    at += l.length;
    chunk[at++] = 10;
  }
  const max = 200_000;
  const whole = new LineFramer({ maxLineBytes: max }).push(chunk);
  // The reference: the same bytes pushed one line at a time.
  const one = new LineFramer({ maxLineBytes: max });
  const expected = { lines: [] as string[], ends: [] as number[], flags: [] as number[] };
  at = 0;
  for (const l of lines) {
    const framed = one.push(chunk.subarray(at, at + l.length + 1));
    at += l.length + 1;
    expected.lines.push(...framed.lines);
    expected.ends.push(...framed.ends);
    expected.flags.push(framed.flags?.[0] ?? 0);
  }
  assert.equal(whole.lines.length, lines.length);
  assert.deepEqual(whole.ends, expected.ends);
  assert.equal(whole.ends.at(-1), size);
  for (let i = 0; i < lines.length; i++) {
    assert.equal(whole.lines[i], expected.lines[i], `line ${i}`);
    assert.equal(whole.flags?.[i] ?? 0, expected.flags[i], `flag of line ${i}`);
  }
  // And the reference itself is right: text, CR stripped, bad bytes and the 300 KB line flagged.
  assert.equal(whole.lines[0], "plain 0");
  assert.equal(whole.lines[1], "crlf 1");
  assert.equal(whole.lines[2], dec.decode(lines[2]));
  assert.equal((whole.flags?.[3] ?? 0) & LINE_INVALID_UTF8, LINE_INVALID_UTF8);
  const cut = lines.findIndex((l) => l.length === 300_000);
  assert.equal(whole.lines[cut]?.length, max);
  assert.equal((whole.flags?.[cut] ?? 0) & LINE_TRUNCATED, LINE_TRUNCATED);
});
