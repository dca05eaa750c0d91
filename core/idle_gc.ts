/**
 * Gives memory back when the process goes idle: one full garbage
 * collection once the process has used (almost) no CPU for a while, then
 * none until it has been busy again. V8 keeps the heap it grew to after
 * start or a burst (the central example's main isolate: ~25 MB committed,
 * ~10 MB live after loading its modules, issue 26); a full collection
 * releases the rest to the system, and glibc's `malloc_trim(0)` then gives
 * back the free pages of the main thread's malloc heap (the ArrayBuffers the
 * collection freed; with `--allow-ffi`, on glibc). The collection is made through V8's
 * `gc` function, exposed for contexts made after `--expose-gc` is set
 * (`node:v8` `setFlagsFromString`, `node:vm` `runInNewContext`), so no
 * flag is needed on the command line.
 *
 * @module
 */

import { collectGarbage, trimMalloc } from "./gc.ts";
import { type TimerLoop, timerLoop } from "./_timer_loop.ts";
import { cpuUsage } from "node:process";
import type { Service } from "./types.ts";

/** Options for {@linkcode cpuIdleCollector}. */
export interface CpuIdleCollectorOptions {
  /** The first look, after start. @default {1000} */
  firstMs?: number;
  /** Time between looks. @default {5000} */
  everyMs?: number;
  /** Share of one core below which the last interval counts as idle. @default {0.02} */
  idleShare?: number;
  /**
   * Frees caches before each collection, such as SQLite's page cache
   * ({@linkcode sqliteShrinker}); an error it throws is logged and ignored.
   */
  shrink?: () => void;
  /** Collects (for tests). @default {the gc function V8 exposes} */
  collect?: () => void;
  /** CPU microseconds used so far (for tests). @default {node:process cpuUsage} */
  cpu?: () => number;
}

function _cpu(): number {
  const u = cpuUsage();
  return u.user + u.system;
}

/**
 * A service that runs one full garbage collection each time the process
 * turns idle (less than `idleShare` of a core over the last interval) and
 * counts them in its stats (`collections`). Nothing is collected while the
 * process stays busy, nor twice in one idle stretch.
 *
 * @param options Timing and, for tests, the collector and the CPU clock.
 * @returns The service (its timer does not keep the process alive).
 *
 * @example Shrink the heap after start and after every burst
 * ```ts
 * import assert from "node:assert/strict";
 * import { cpuIdleCollector } from "./idle_gc.ts";
 * const services = { memory: cpuIdleCollector() };
 * assert.equal(services.memory.kind, "idle-gc");
 * ```
 */
export function cpuIdleCollector(options: CpuIdleCollectorOptions = {}): Service {
  const firstMs = options.firstMs ?? 1000;
  const everyMs = options.everyMs ?? 5000;
  const idleShare = options.idleShare ?? 0.02;
  const cpu = options.cpu ?? _cpu;
  let loop: TimerLoop | undefined;
  return {
    kind: "idle-gc",
    start(ctx) {
      // A full collection, then glibc's trim (each a no-op where V8 or libc will not have it).
      const collect = options.collect ?? (() => {
        if (collectGarbage()) trimMalloc();
        else ctx.log.debug("no gc function: memory is not shrunk when idle");
      });
      let last = cpu();
      let lastAt = performance.now();
      let collected = false;
      const look = (): number => {
        const now = performance.now();
        const used = cpu();
        const share = (used - last) / 1000 / Math.max(now - lastAt, 1);
        last = used;
        lastAt = now;
        if (share >= idleShare) collected = false;
        else if (!collected) {
          collected = true;
          try {
            options.shrink?.();
          } catch (err) {
            ctx.log.debug("shrinking caches when idle failed", { error: String(err) });
          }
          collect();
          ctx.stats.add("collections");
          // The collection's own CPU is not activity.
          last = cpu();
          lastAt = performance.now();
        }
        return everyMs;
      };
      loop = timerLoop(look, firstMs);
      return Promise.resolve();
    },
    stop() {
      loop?.stop();
      loop = undefined;
      return Promise.resolve();
    },
  };
}

/** What {@linkcode sqliteShrinker} frees: anything with an open SQLite connection as `db`. */
export interface WithSqliteDb {
  /** The connection (node:sqlite's DatabaseSync); may throw while closed. */
  readonly db?: { exec(sql: string): void };
}

/**
 * A `shrink` for {@linkcode cpuIdleCollector}: `PRAGMA shrink_memory` on
 * the connection of each SQLite sink given (those running on this thread;
 * a sink on a worker has no `db` here, a closed one is skipped). SQLite
 * keeps the pages it read in its page cache up to `cache_size`: the
 * central's store filled its 4 MiB opening siem.db over 1,000,000 alerts,
 * and a burst fills it too; freed, malloc_trim gives them back (issue 26).
 *
 * @param sinks The sinks (or anything with a `db`).
 * @returns The function that shrinks their caches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { sqliteShrinker } from "./idle_gc.ts";
 * const db = new DatabaseSync(":memory:");
 * // A sink on a worker thread has no `db` here: skipped.
 * const shrink = sqliteShrinker([{ db }, {}]);
 * shrink();
 * db.close();
 * shrink(); // closed: skipped
 * assert.equal(db.isOpen, false);
 * ```
 */
export function sqliteShrinker(sinks: readonly (WithSqliteDb | object | undefined)[]): () => void {
  return () => {
    for (const sink of sinks) {
      let db: WithSqliteDb["db"];
      try {
        db = (sink as WithSqliteDb | undefined)?.db;
      } catch {
        continue; // not open
      }
      if (typeof db?.exec !== "function") continue;
      try {
        db.exec("PRAGMA shrink_memory");
      } catch {
        // closed meanwhile
      }
    }
  };
}
