/**
 * Exponential back-off with jitter, shared by the engine's sink retries and
 * by every reconnecting client.
 *
 * @module
 */

/** Options for {@linkcode backoff}. */
export interface BackoffOptions {
  /** First delay in ms. @default {100} */
  initialMs?: number;
  /** Largest delay in ms. @default {30000} */
  maxMs?: number;
  /** Growth factor per attempt. @default {2} */
  factor?: number;
  /** Fraction of the delay randomised (0 – 1), so clients do not retry in step. @default {0.2} */
  jitter?: number;
}

/**
 * Computes the delay before retry number `attempt` (1-based).
 *
 * @param attempt How many attempts failed so far (1 for the first retry).
 * @param options Delays and jitter.
 * @returns The delay in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoff } from "./backoff.ts";
 * assert.ok(backoff(1, { jitter: 0 }) === 100);
 * assert.ok(backoff(20, { jitter: 0 }) === 30000);
 * ```
 */
export function backoff(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 100, maxMs = 30_000, factor = 2, jitter = 0.2 } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt - 1));
  const spread = base * jitter;
  return Math.max(0, Math.round(base - spread + Math.random() * 2 * spread));
}

/**
 * Waits `ms` milliseconds, or less when the signal aborts (it then resolves, not rejects).
 *
 * @param ms How long to wait.
 * @param signal Cuts the wait short.
 * @returns A promise that resolves after the wait.
 *
 * @example
 * ```ts
 * import { sleep } from "./backoff.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
