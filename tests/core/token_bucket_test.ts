import assert from "node:assert/strict";
import { parseByteRate, TokenBucket } from "../../core/token_bucket.ts";

/** A bucket on a virtual clock: waiting advances the clock, and every wait is recorded. */
function virtualBucket(rate: number, burst: number) {
  let now = 0;
  const waits: number[] = [];
  const bucket = new TokenBucket(rate, {
    burst,
    now: () => now,
    wait: (ms) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
  });
  return { bucket, waits, clock: () => now, advance: (ms: number) => (now += ms) };
}

Deno.test("TokenBucket passes the burst at once, then holds the rate exactly", async () => {
  const { bucket, waits, clock } = virtualBucket(1_048_576, 65_536);
  await bucket.take(65_536);
  assert.deepEqual(waits, []);
  // 10 MiB in 32 KiB requests, as an upload takes them
  for (let sent = 0; sent < 10 * 1_048_576; sent += 32_768) await bucket.take(32_768);
  const rate = (10 * 1_048_576 + 65_536) / (clock() / 1000);
  assert.ok(Math.abs(rate / 1_048_576 - 1) < 0.01, `rate ${rate}`);
});

Deno.test("TokenBucket saves up no more than the burst while idle", async () => {
  const { bucket, waits, advance } = virtualBucket(1000, 100);
  await bucket.take(100);
  advance(60_000);
  await bucket.take(100);
  assert.deepEqual(waits, []);
  await bucket.take(100);
  assert.deepEqual(waits, [100]);
});

Deno.test("TokenBucket serves concurrent takers in order, sharing the rate", async () => {
  let now = 0;
  const due: number[] = [];
  const bucket = new TokenBucket(1000, {
    burst: 0,
    now: () => now,
    wait: (ms) => {
      due.push(now + ms);
      return Promise.resolve();
    },
  });
  await Promise.all([bucket.take(100), bucket.take(100), bucket.take(100)]);
  assert.deepEqual(due, [100, 200, 300]);
  now = 1000;
  await bucket.take(500);
  assert.deepEqual(due.at(-1), 1500);
});

Deno.test("TokenBucket waits on the real clock when no clock is given", async () => {
  const bucket = new TokenBucket(10_000, { burst: 0 });
  const t0 = performance.now();
  await bucket.take(200);
  assert.ok(performance.now() - t0 >= 15);
});

Deno.test("TokenBucket refuses a rate that is not positive", () => {
  assert.throws(() => new TokenBucket(0), /"rate" must be positive/);
  assert.throws(() => new TokenBucket(10, { burst: -1 }), /"burst"/);
});

Deno.test("parseByteRate() reads rclone's rates", () => {
  assert.equal(parseByteRate("1M"), 1_048_576);
  assert.equal(parseByteRate("512k"), 524_288);
  assert.equal(parseByteRate("1.5M"), 1.5 * 1_048_576);
  assert.equal(parseByteRate("10MiB"), 10 * 1_048_576);
  assert.equal(parseByteRate("2G/s"), 2 * 1024 ** 3);
  assert.equal(parseByteRate(4096), 4096);
  assert.equal(parseByteRate("off"), Infinity);
  assert.equal(parseByteRate(0), Infinity);
  assert.throws(() => parseByteRate("fast"), /like "1M"/);
  assert.throws(() => parseByteRate(-5), /positive/);
});
