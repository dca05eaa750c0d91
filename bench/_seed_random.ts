/**
 * The seeded randomness of bench/seed_siem.ts: the generator's PRNG
 * (sources/generator.ts, re-exported), Zipf-like picks,
 * times with a daily rhythm and bursts, hex strings.
 *
 * @module
 */

import { seededRandom } from "../sources/generator.ts";

export { seededRandom };

/**
 * A Zipf-like pick of an index below `n`: index 0 most often.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom, zipfPick } from "./_seed_random.ts";
 * const pick = zipfPick(seededRandom(1), 10);
 * assert.ok(pick() < 10);
 * ```
 */
export function zipfPick(rand: () => number, n: number, s = 1.1): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / Math.pow(i + 1, s));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cdf[i] = acc += (weights[i] as number) / total;
  return () => {
    const r = rand();
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cdf[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * `count` times over `days` ending at `now`, sorted: a daily rhythm and a few bursts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom, seedTimes } from "./_seed_random.ts";
 * const t = seedTimes(seededRandom(1), 100, 2, Date.UTC(2026, 0, 3));
 * assert.ok(t[0]! <= t[99]! && t[99]! < Date.UTC(2026, 0, 3));
 * ```
 */
export function seedTimes(
  rand: () => number,
  count: number,
  days: number,
  now: number,
): Float64Array {
  const span = days * 86_400_000;
  const start = now - span;
  const bursts = Array.from({ length: Math.max(1, days) }, () => start + rand() * span);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.15) {
      // A burst: an attack or a scan, within an hour.
      out[i] = Math.min(
        now - 1,
        (bursts[Math.floor(rand() * bursts.length)] as number) + rand() * 3_600_000,
      );
      continue;
    }
    // Busier by day (UTC 8–20) than by night.
    for (;;) {
      const t = start + rand() * span;
      const hour = new Date(t).getUTCHours();
      if (rand() < (hour >= 8 && hour < 20 ? 1 : 0.4)) {
        out[i] = t;
        break;
      }
    }
  }
  return out.sort();
}

/**
 * `n` random hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomHex, seededRandom } from "./_seed_random.ts";
 * assert.match(randomHex(seededRandom(1), 64), /^[0-9a-f]{64}$/);
 * ```
 */
export function randomHex(rand: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}
