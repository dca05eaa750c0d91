/**
 * `BEGIN IMMEDIATE` for the SQLite writers (the SQLite sink's and the `vms`
 * registry's), waiting out another writer's lock with back-off.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { sleep } from "../core/backoff.ts";
import { BUSY_CODES, sqliteCode } from "./_sqlite_errors.ts";

/**
 * Begins a write transaction. When the lock is free it begins at once and
 * returns `undefined`, so the caller awaits nothing and no other work on
 * its thread runs between BEGIN and COMMIT (two sinks on one thread found
 * each other's lock when they did). When another writer holds the lock it
 * returns a promise that retries with back-off (10 ms doubling, at most
 * 500 ms) until `busyTimeoutMs` has passed, calling `onRetry` each time.
 *
 * @param d The connection.
 * @param busyTimeoutMs How long to wait for the lock in all.
 * @param onRetry Called before each wait (a counter).
 * @returns `undefined` when the transaction began, else a promise that resolves once it has.
 * @throws The SQLite error itself when it is not a lock, or when the wait is over.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { beginImmediate } from "./_sqlite_begin.ts";
 * const d = new DatabaseSync(":memory:");
 * assert.equal(beginImmediate(d, 1000), undefined);
 * d.exec("COMMIT");
 * d.close();
 * ```
 */
export function beginImmediate(
  d: DatabaseSync,
  busyTimeoutMs: number,
  onRetry?: () => void,
): Promise<void> | undefined {
  const started = Date.now();
  try {
    d.exec("BEGIN IMMEDIATE");
    return undefined;
  } catch (err) {
    if (!BUSY_CODES.has(sqliteCode(err))) throw err;
    return _retry(d, started, busyTimeoutMs, onRetry, err);
  }
}

async function _retry(
  d: DatabaseSync,
  started: number,
  busyTimeoutMs: number,
  onRetry: (() => void) | undefined,
  busy: unknown,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    if (Date.now() - started >= busyTimeoutMs) throw busy;
    onRetry?.();
    await sleep(Math.min(10 * 2 ** Math.min(attempt, 6), 500));
    try {
      d.exec("BEGIN IMMEDIATE");
      return;
    } catch (err) {
      if (!BUSY_CODES.has(sqliteCode(err))) throw err;
      busy = err;
    }
  }
}
