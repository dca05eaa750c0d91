import assert from "node:assert/strict";
import {
  RelpAnswerReader,
  relpOksLength,
  scanRelpOks,
  writeRelpOks,
} from "../../core/relp_acks.ts";
import { RelpFrameEncoder } from "../../core/relp_encode.ts";
import { RelpFrameParser } from "../../core/relp_frame.ts";

const _bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("scanRelpOks: takes whole acknowledgements, stops at a cut one or another frame", () => {
  const seen: number[] = [];
  const take = (t: number) => seen.push(t) > 0;
  const cut = _bytes("1 rsp 6 200 OK\n2 rsp 6 200 O");
  assert.equal(scanRelpOks(cut, 0, cut.length, take), 15);
  const other = _bytes("3 rsp 6 200 OK\n4 rsp 10 500 failed\n5 rsp 6 200 OK\n");
  assert.equal(scanRelpOks(other, 0, other.length, take), 15);
  const long = _bytes("1234567890 rsp 6 200 OK\n");
  assert.equal(scanRelpOks(long, 0, long.length, take), 0);
  assert.deepEqual(seen, [1, 3]);
  // A refused acknowledgement stops the scan before it.
  const two = _bytes("7 rsp 6 200 OK\n8 rsp 6 200 OK\n");
  assert.equal(scanRelpOks(two, 0, two.length, (t) => t === 7), 15);
});

Deno.test("writeRelpOks: what the parser reads back, across the wrap of transaction numbers", () => {
  const first = 999_999_997;
  const out = new Uint8Array(relpOksLength(first, 5));
  assert.equal(writeRelpOks(out, 0, first, 5), out.length);
  const frames = new RelpFrameParser().push(out);
  assert.deepEqual(frames.map((f) => f.txnr), [999_999_997, 999_999_998, 999_999_999, 1, 2]);
  for (const f of frames) {
    assert.equal(f.command, "rsp");
    assert.equal(new TextDecoder().decode(f.data), "200 OK");
  }
});

Deno.test("RelpFrameEncoder: DATALEN counts UTF-8 bytes when it has more digits than the length", () => {
  const encoder = new RelpFrameEncoder(64);
  encoder.add(7, "syslog", "ééééééééé"); // 9 characters, 18 bytes
  encoder.add(8, "syslog", "plain");
  encoder.add(9, "close");
  const text = new TextDecoder().decode(encoder.take());
  assert.equal(text, "7 syslog 18 ééééééééé\n8 syslog 5 plain\n9 close 0\n");
});

Deno.test("RelpAnswerReader: acknowledgements and other answers cut anywhere", () => {
  const stream = "1 rsp 6 200 OK\n2 rsp 6 200 OK\n3 rsp 120 500 " + "x".repeat(116) +
    "\n4 rsp 6 200 OK\n0 serverclose 0\n";
  const bytes = new TextEncoder().encode(stream);
  for (const step of [1, 3, 7, 16, 200]) {
    const oks: number[] = [];
    const others: string[] = [];
    const reader = new RelpAnswerReader(
      (t) => oks.push(t) > 0,
      (f) => others.push(`${f.txnr} ${f.command} ${f.data.length}`),
    );
    for (let at = 0; at < bytes.length; at += step) {
      const part = bytes.subarray(at, Math.min(bytes.length, at + step));
      reader.room.set(part);
      reader.took(part.length);
    }
    // A plain acknowledgement the parser met (after a cut of another frame) is still delivered.
    assert.deepEqual(
      [...oks, ...others.filter((o) => o.endsWith(" 6")).map((o) => Number(o.split(" ")[0]))]
        .sort(),
      [1, 2, 4],
      `step ${step}`,
    );
    assert.ok(others.includes("3 rsp 120"), `step ${step}`);
    assert.ok(others.includes("0 serverclose 0"), `step ${step}`);
  }
});
