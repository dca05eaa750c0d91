/**
 * Giving memory back to the system when a process goes quiet: one full V8
 * collection, and glibc's `malloc_trim(0)`. The dashboard (ui/_gc.ts) calls
 * them when requests stop, the central (core/idle_gc.ts) when its CPU goes
 * idle.
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
 * import { collectGarbage } from "./gc.ts";
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
 * import { trimMalloc } from "./gc.ts";
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
