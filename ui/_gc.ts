/**
 * Handing the dashboard's memory back when it goes quiet.
 *
 * Rendering a page makes short-lived garbage; a burst of page loads makes
 * V8 grow its young generation to its limit (`--max-semi-space-size`, 8 MB
 * in `deno task start`, so up to 3 × 8 MB), and it keeps that memory while
 * the process is idle: V8's own memory reducer only starts after a full
 * collection, which an otherwise quiet central does not make. Measured on
 * the central example: +18 MB of private memory after 20 loads of each
 * page, of which one full collection gave back 19 MB (it pauses the main
 * thread for 30 to 115 ms on the shared 2-core test machine; the SQLite
 * sink runs in its own worker and goes on). So
 * when no request has come for a while, the dashboard asks for one.
 *
 * @module
 */

import { collectGarbage, trimMalloc } from "../core/gc.ts";

export { collectGarbage, trimMalloc };

/** Options for {@linkcode idleCollector}. */
export interface IdleCollectorOptions {
  /** Quiet time after the last request before collecting, ms. @default {3000} */
  quietMs?: number;
  /** Least time between two collections, ms. @default {10000} */
  minIntervalMs?: number;
  /** The collection. @default {collectGarbage} */
  collect?: () => unknown;
}

/** What {@linkcode idleCollector} returns. */
export interface IdleCollector {
  /** Records a request: a collection follows once requests stop for `quietMs`. */
  touch(): void;
  /** Cancels a pending collection. */
  stop(): void;
}

/**
 * A collection `quietMs` after the last of a run of requests, at most one
 * per `minIntervalMs`, never while the timer would keep the process alive.
 *
 * @param options Quiet time, spacing and the collection.
 * @returns `touch()` per request and `stop()`.
 *
 * @example
 * ```ts
 * import { idleCollector } from "./_gc.ts";
 * let runs = 0;
 * const idle = idleCollector({ quietMs: 1, collect: () => runs++ });
 * idle.touch();
 * await new Promise((r) => setTimeout(r, 20));
 * idle.stop();
 * console.assert(runs === 1);
 * ```
 */
export function idleCollector(options: IdleCollectorOptions = {}): IdleCollector {
  const quietMs = options.quietMs ?? 3000;
  const minIntervalMs = options.minIntervalMs ?? 10_000;
  const collect = options.collect ?? collectGarbage;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = -Infinity;
  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(fire, ms);
    Deno.unrefTimer(timer);
  };
  function fire(): void {
    timer = undefined;
    const wait = last + minIntervalMs - performance.now();
    if (wait > 0) return arm(wait);
    last = performance.now();
    collect();
  }
  return {
    touch() {
      arm(quietMs);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
