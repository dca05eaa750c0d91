import assert from "node:assert/strict";
import { relpOksLength, scanRelpOks, writeRelpOks } from "../../core/relp_acks.ts";
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
