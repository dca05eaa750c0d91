/**
 * A bound on V8's old generation under load: a full collection each time it
 * has grown by a step since the last one, instead of when V8's own limit
 * says so.
 *
 * Under a burst each scavenge promotes the events queued at that moment
 * (~1.8 MB a scavenge in the VM example at 120k lines/s), and V8 lets the old
 * generation grow to several times its live data before it marks, then
 * finishes marking while the promotions go on: the VM example's peak private
 * memory under a 1M-line burst was 64–113 MB from run to run, of which ~10
 * MB live. A collection every 16 MB of growth held it at 55–56 MB, every 8 MB
 * at 45–47 MB (5–10 % slower than 16), every 4 MB at 42–48 MB (docs/performance.md).
 *
 * @module
 */

import { getHeapSpaceStatistics } from "node:v8";
import { collectGarbage } from "./gc.ts";
import { type TimerLoop, timerLoop } from "./_timer_loop.ts";
import type { Service } from "./types.ts";

/** Options for {@linkcode heapCap}. */
export interface HeapCapOptions {
  /** Growth of the old generation, in MiB, that triggers a full collection. */
  stepMb: number;
  /** How often the old generation is looked at while it grows, in ms. @default {100} */
  busyMs?: number;
  /** How often it is looked at once it has not grown for ten looks in a row, in ms. @default {1000} */
  quietMs?: number;
  /** Reads the old generation's used bytes (tests inject it). @default {V8's old_space} */
  oldUsed?: () => number;
  /** Runs a full collection; false when none can run (tests inject it). @default {collectGarbage} */
  collect?: () => boolean;
}

/** V8's old space in use, in bytes. */
function _oldUsed(): number {
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === "old_space") return space.space_used_size;
  }
  return 0;
}

/**
 * A service that runs one full V8 collection each time the old generation
 * has grown by `stepMb` since the last collection (or since the lowest
 * point seen after it), so a burst's promoted garbage is collected at a
 * bound rather than at V8's own limit. It looks every `busyMs`, and every
 * `quietMs` once ten looks in a row found no growth; its timers never keep
 * the process alive. Counts `collections` in its stats. Does
 * nothing where V8 will not run a collection on request.
 *
 * @param options The step, the periods.
 * @returns The service.
 * @throws {RangeError} When `stepMb` is not a positive number.
 *
 * @example Bound the VM example's heap growth to 8 MiB between collections
 * ```ts
 * import assert from "node:assert/strict";
 * import { heapCap } from "./heap_cap.ts";
 * const services = { heap: heapCap({ stepMb: 8 }) };
 * assert.equal(services.heap.kind, "heap-cap");
 * ```
 */
export function heapCap(options: HeapCapOptions): Service {
  const stepMb = options?.stepMb;
  if (typeof stepMb !== "number" || !(stepMb > 0) || !Number.isFinite(stepMb)) {
    throw new RangeError(`heapCap: "stepMb" must be a positive number, got ${String(stepMb)}`);
  }
  const step = stepMb * 1024 * 1024;
  const busyMs = options.busyMs ?? 100;
  const quietMs = options.quietMs ?? 1000;
  const oldUsed = options.oldUsed ?? _oldUsed;
  const collect = options.collect ?? collectGarbage;
  let loop: TimerLoop | undefined;
  return {
    kind: "heap-cap",
    start(ctx) {
      let base = oldUsed();
      let last = base;
      // Looks in a row that found no growth: after ten the looks slow down to quietMs. One is not
      // enough: right after V8's own collection the old generation looks smaller for a moment.
      let still = 0;
      const look = (): number | undefined => {
        const used = oldUsed();
        if (used > base + step) {
          if (!collect()) {
            ctx.log.debug("no gc function: the old generation is not capped");
            return undefined;
          }
          ctx.stats.add("collections");
          base = oldUsed();
        } else if (used < base) {
          // V8 collected on its own: measure the next step from there.
          base = used;
        }
        still = used > last ? 0 : still + 1;
        last = oldUsed();
        return still >= 10 ? quietMs : busyMs;
      };
      loop = timerLoop(look, busyMs);
      return Promise.resolve();
    },
    stop() {
      loop?.stop();
      loop = undefined;
      return Promise.resolve();
    },
  };
}
