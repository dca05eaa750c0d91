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
