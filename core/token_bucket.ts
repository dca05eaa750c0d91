/**
 * A token bucket for bandwidth limits (`bwlimit: "1M"`): every transfer of
 * a component takes its bytes from one shared bucket, so the limit holds
 * for all of them together, first come first served.
 *
 * @module
 */

import { sleep } from "./backoff.ts";

/** Options for {@linkcode TokenBucket}. */
export interface TokenBucketOptions {
  /**
   * How many tokens may be taken at once after an idle spell. A small burst
   * keeps the rate steady over short windows. @default {max(64 KiB, rate / 16)}
   */
  burst?: number;
  /** The clock in ms (tests inject one). @default {performance.now} */
  now?: () => number;
  /** How to wait (tests inject one). @default {sleep from core/backoff.ts} */
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Limits a rate of tokens (bytes) per second. `take(n)` reserves `n`
 * tokens and resolves when they are due; reservations are served in the
 * order they were made, so concurrent transfers share the rate fairly and
 * the total never exceeds it by more than the burst.
 *
 * It schedules by virtual time (GCRA): each reservation moves a "next free"
 * instant forward by `n / rate`, so no timer runs while nobody waits.
 *
 * @example Limit to 1 MiB/s
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const bucket = new TokenBucket(1024 * 1024);
 * await bucket.take(1024); // within the burst: resolves at once
 * ```
 */
export class TokenBucket {
  /** Tokens per second. */
  readonly rate: number;
  /** Tokens that may pass at once. */
  readonly burst: number;
  readonly #now: () => number;
  readonly #wait: (ms: number, signal?: AbortSignal) => Promise<void>;
  #next = -Infinity;

  /**
   * Creates a full bucket.
   *
   * @param rate Tokens (bytes) per second; `Infinity` for no limit.
   * @param options Burst, clock and wait function.
   * @throws {RangeError} When the rate is not positive or the burst is negative.
   */
  constructor(rate: number, options: TokenBucketOptions = {}) {
    if (!(rate > 0)) throw new RangeError(`TokenBucket: "rate" must be positive, got ${rate}`);
    const burst = options.burst ?? Math.max(64 * 1024, rate / 16);
    if (!(burst >= 0)) {
      throw new RangeError(`TokenBucket: "burst" must be zero or more, got ${burst}`);
    }
    this.rate = rate;
    this.burst = burst;
    this.#now = options.now ?? (() => performance.now());
    this.#wait = options.wait ?? sleep;
  }

  /**
   * Reserves `n` tokens and waits until they are due. A request larger than
   * the burst is allowed; it just waits longer.
   *
   * @param n How many tokens (bytes).
   * @param signal Cuts the wait short (the tokens stay spent).
   * @returns A promise that resolves when the tokens may be used.
   */
  take(n: number, signal?: AbortSignal): Promise<void> {
    if (this.rate === Infinity || n <= 0) return Promise.resolve();
    const now = this.#now();
    const burstMs = (this.burst / this.rate) * 1000;
    // An idle bucket starts from now: the burst is all it saved up.
    this.#next = Math.max(this.#next, now) + (n / this.rate) * 1000;
    const delay = this.#next - burstMs - now;
    return delay > 0 ? this.#wait(delay, signal) : Promise.resolve();
  }
}

const _UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Parses a byte rate as rclone writes it: `"1M"` is 1 MiB/s, `"512k"`,
 * `"1.5M"`, `"10MiB"`, a plain number of bytes per second, and `"off"`
 * (or `0`) for no limit. Suffixes are binary, as in rclone.
 *
 * @param value The rate.
 * @param what The option's name for error messages. @default {"bwlimit"}
 * @returns Bytes per second, `Infinity` for no limit.
 * @throws {RangeError} When the value is not a rate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseByteRate } from "./token_bucket.ts";
 * assert.ok(parseByteRate("1M") === 1048576);
 * assert.ok(parseByteRate("off") === Infinity);
 * ```
 */
export function parseByteRate(value: string | number, what = "bwlimit"): number {
  if (typeof value === "number") {
    if (value === 0) return Infinity;
    if (value > 0 && Number.isFinite(value)) return value;
    throw new RangeError(`${what} must be a positive number of bytes per second, got ${value}`);
  }
  const text = String(value).trim().toLowerCase();
  if (text === "off" || text === "0" || text === "") return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?(?:\/s)?$/.exec(text);
  const unit = m ? _UNITS[m[2] as string] : undefined;
  if (!m || unit === undefined || !(Number(m[1]) > 0)) {
    throw new RangeError(
      `${what} must be a rate like "1M", "512k" or "off", got ${JSON.stringify(value)}`,
    );
  }
  return Number(m[1]) * unit;
}
