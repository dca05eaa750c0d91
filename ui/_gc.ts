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

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let _gc: (() => void) | null | undefined;

/**
 * Runs one full garbage collection of this isolate, when V8 allows it
 * (`--expose-gc` set at run time); otherwise does nothing.
 *
 * @returns Whether a collection ran.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./_gc.ts";
 * collectGarbage();
 * ```
 */
export function collectGarbage(): boolean {
  if (_gc === undefined) {
    try {
      setFlagsFromString("--expose-gc");
      _gc = runInNewContext("gc") as () => void;
    } catch {
      _gc = null;
    }
  }
  if (!_gc) return false;
  _gc();
  return true;
}

let _trim: (() => number) | null | undefined;

/**
 * Hands glibc malloc's free pages back to the system (`malloc_trim(0)`
 * through FFI), when the process may use FFI and runs on glibc; otherwise
 * does nothing. malloc keeps memory it was given back inside its arenas:
 * only a free block at the very top of the main arena shrinks it, so the
 * native memory a burst of pages used (SQLite's reads, compiled code, HTTP
 * buffers) stays resident after it is freed. Measured (issue 21): after
 * every page 20 times over 1,000,000 alerts and the store closed, the main
 * arena went from 7.7 to 5.2 MB resident. It trims every arena of the
 * process, the other threads' too, and takes about a millisecond.
 *
 * @returns Whether malloc_trim ran.
 *
 * @example
 * ```ts
 * import { trimMalloc } from "./_gc.ts";
 * trimMalloc();
 * ```
 */
export function trimMalloc(): boolean {
  if (_trim === undefined) {
    _trim = null;
    try {
      if (
        Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted"
      ) {
        const lib = Deno.dlopen("libc.so.6", {
          malloc_trim: { parameters: ["usize"], result: "i32" },
        });
        _trim = () => lib.symbols.malloc_trim(0n);
      }
    } catch {
      // not glibc (musl has no malloc_trim), or no libc.so.6
    }
  }
  if (!_trim) return false;
  _trim();
  return true;
}

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
