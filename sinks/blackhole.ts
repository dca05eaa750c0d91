/**
 * A sink that only counts, for benchmarks and for discarding on purpose.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Sink } from "../core/types.ts";

/** A {@linkcode Sink} that counts what it swallows. */
export interface BlackholeSink extends Sink {
  /** Events written so far. */
  readonly count: number;
}

/** Options for {@linkcode blackholeSink}. */
export interface BlackholeSinkOptions {
  /** A name for stats. */
  name?: string;
  /** Most events per write. @default {1000} */
  maxBatch?: number;
}

/**
 * Discards events and counts them. Use it to drop on purpose (a path that
 * must lose events says so) and to measure the engine.
 *
 * @param options Name and batch size.
 * @returns The sink, with a `count`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blackholeSink } from "./blackhole.ts";
 * const sink = blackholeSink();
 * await sink.write([]);
 * assert.ok(sink.count === 0);
 * ```
 */
export function blackholeSink(options: BlackholeSinkOptions = {}): BlackholeSink {
  let count = 0;
  return {
    kind: "blackhole",
    ...(options.name ? { name: options.name } : {}),
    ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
    get count() {
      return count;
    },
    open: () => Promise.resolve(),
    write(batch: readonly LogEvent[]) {
      count += batch.length;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
