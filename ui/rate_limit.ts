/**
 * Login rate limit per source address: a fixed window of failed attempts.
 *
 * @module
 */

/** Options for {@linkcode loginLimiter}. */
export interface LoginLimiterOptions {
  /** Failed logins allowed per address per window. @default {10} */
  attempts?: number;
  /** The window, ms. @default {300000} */
  windowMs?: number;
  /** Addresses remembered at most (the oldest are forgotten first). @default {10000} */
  maxAddresses?: number;
}

/** Counts failed logins per address. */
export interface LoginLimiter {
  /** Whether this address may try now. */
  allowed(address: string, now?: number): boolean;
  /** Records a failed attempt. */
  failed(address: string, now?: number): void;
  /** Forgets an address after a successful login. */
  succeeded(address: string): void;
}

/**
 * Creates a login limiter.
 *
 * @param options Attempts, window, memory bound.
 * @returns The limiter.
 * @throws {RangeError} When an option is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loginLimiter } from "./rate_limit.ts";
 * const limit = loginLimiter({ attempts: 1 });
 * limit.failed("10.0.0.1");
 * assert.equal(limit.allowed("10.0.0.1"), false);
 * assert.equal(limit.allowed("10.0.0.2"), true);
 * ```
 */
export function loginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  const attempts = options.attempts ?? 10;
  const windowMs = options.windowMs ?? 300_000;
  const maxAddresses = options.maxAddresses ?? 10_000;
  for (const [k, value] of Object.entries({ attempts, windowMs, maxAddresses })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`loginLimiter: "${k}" must be a positive integer, got "${value}"`);
    }
  }
  const seen = new Map<string, { start: number; count: number }>();
  return {
    allowed(address, now = Date.now()) {
      const entry = seen.get(address);
      return !entry || now - entry.start >= windowMs || entry.count < attempts;
    },
    failed(address, now = Date.now()) {
      let entry = seen.get(address);
      if (!entry || now - entry.start >= windowMs) {
        seen.delete(address);
        if (seen.size >= maxAddresses) seen.delete(seen.keys().next().value as string);
        entry = { start: now, count: 0 };
        seen.set(address, entry);
      }
      entry.count++;
    },
    succeeded(address) {
      seen.delete(address);
    },
  };
}
