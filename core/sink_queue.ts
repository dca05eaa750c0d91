/**
 * A sink's bounded queue and its writer: batches in, one `write()` at a
 * time out, retried with back-off until it succeeds, acknowledged after.
 *
 * @module
 */

import type { AckTracker } from "./acks.ts";
import { backoff, sleep } from "./backoff.ts";
import type { LogEvent } from "./event.ts";
import type { Logger } from "./log.ts";
import type { ComponentStats } from "./stats.ts";
import type { Sink } from "./types.ts";
import { errorMessage } from "./options.ts";

interface _Entry {
  events: LogEvent[];
  offset: number;
  tracker: AckTracker;
}

/**
 * Events a sink's queue holds, unless the sink or the pipeline says otherwise.
 * Every queued event stays in memory (about 1.5–2 KB for a parsed JSON alert),
 * and the heap grows to a few times what is live, so this sets much of a busy
 * pipeline's RSS. On the central under a 1M burst, 10,000 (with SQLite
 * batches of 5,000) peaked ~90 MB higher than 4,000 (batches of 2,000), for
 * ~5% more SQLite throughput in alternating runs. A larger queue buys
 * little when the sources can be held back: files and RELP replay.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_QUEUE_SIZE } from "./sink_queue.ts";
 * assert.equal(DEFAULT_QUEUE_SIZE, 4000);
 * ```
 */
export const DEFAULT_QUEUE_SIZE = 4000;

/** Options for {@linkcode SinkQueue}. */
export interface SinkQueueOptions {
  /** Events the queue holds before `enqueue()` waits. */
  capacity: number;
  /** Most events per `write()`. */
  maxBatch: number;
  /** First retry delay in ms. */
  retryInitialMs: number;
  /** Largest retry delay in ms. */
  retryMaxMs: number;
  /** Writes in flight at once (the sink's `concurrency`). @default {1} */
  concurrency?: number;
}

/**
 * Runs one sink: a bounded queue with back-pressure in front of a single
 * writer loop. A failed write is retried with exponential back-off, never
 * dropped; meanwhile the queue fills and holds the sources back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SinkQueue } from "./sink_queue.ts";
 * import { AckSequencer } from "./acks.ts";
 * import { ComponentStats } from "./stats.ts";
 * import { createLogger } from "./log.ts";
 * import { createEvent } from "./event.ts";
 * const written: string[] = [];
 * const queue = new SinkQueue(
 *   { kind: "mem", open: async () => {}, write: async (b) => void written.push(...b.map((e) => e.message)), close: async () => {} },
 *   new ComponentStats("sink", "mem", "mem"),
 *   createLogger("silent"),
 *   { capacity: 10, maxBatch: 10, retryInitialMs: 10, retryMaxMs: 100 },
 * );
 * queue.start();
 * const tracker = new AckSequencer().track(undefined);
 * tracker.expect(); tracker.seal();
 * await queue.enqueue([createEvent("a")], tracker);
 * await queue.drain();
 * await queue.stop();
 * assert.ok(written[0] === "a");
 * ```
 */
export class SinkQueue {
  /** The sink this queue feeds. */
  readonly sink: Sink;
  /** The sink's counters. */
  readonly stats: ComponentStats;
  readonly #log: Logger;
  readonly #options: SinkQueueOptions;
  #entries: Array<_Entry | undefined> = [];
  #head = 0;
  #count = 0;
  #spaceWaiters: Array<() => void> = [];
  #drainWaiters: Array<() => void> = [];
  #wake: (() => void) | undefined;
  #stopping = false;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;

  /**
   * Creates it.
   *
   * @param sink The sink to run.
   * @param stats Its counters.
   * @param log Its logger.
   * @param options Capacity, batch size and retry delays.
   */
  constructor(sink: Sink, stats: ComponentStats, log: Logger, options: SinkQueueOptions) {
    this.sink = sink;
    this.stats = stats;
    this.#log = log;
    this.#options = options;
  }

  /** Events queued or being written. */
  get depth(): number {
    return this.#count;
  }

  /** Starts the writer loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Queues events for the sink. Waits while the queue is full; an empty
   * queue always accepts, so a batch larger than the capacity still passes.
   *
   * @param events The events (the queue keeps the array).
   * @param tracker Settled once the events are written.
   */
  async enqueue(events: LogEvent[], tracker: AckTracker): Promise<void> {
    while (
      !this.#stopping && this.#count > 0 && this.#count + events.length > this.#options.capacity
    ) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    this.#entries.push({ events, offset: 0, tracker });
    this.#count += events.length;
    this.stats.received += events.length;
    this.stats.queued = this.#count;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves once everything queued so far is written. */
  drain(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Stops the writer loop: lets the write in flight finish (or its retries
   * be cut short) and returns. Events still queued stay unacknowledged.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    // Emitters still waiting for room return: their events stay unacknowledged.
    this.#release();
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
    await this.#loop;
  }

  #take(): { batch: LogEvent[]; settle: AckTracker[] } {
    const max = this.#options.maxBatch;
    const settle: AckTracker[] = [];
    let batch: LogEvent[] | undefined;
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head] as _Entry;
      const room = max - (batch?.length ?? 0);
      if (room <= 0) break;
      const rest = entry.events.length - entry.offset;
      if (batch === undefined && entry.offset === 0 && rest <= max) {
        batch = entry.events;
        // Drop the queue's reference at once: consumed entries must not pin events in memory.
        this.#entries[this.#head++] = undefined;
        settle.push(entry.tracker);
        if (batch.length === max || this.#head >= this.#entries.length) break;
        batch = batch.slice();
        continue;
      }
      batch ??= [];
      const n = Math.min(room, rest);
      for (let i = 0; i < n; i++) batch.push(entry.events[entry.offset + i] as LogEvent);
      entry.offset += n;
      if (entry.offset === entry.events.length) {
        this.#entries[this.#head++] = undefined;
        settle.push(entry.tracker);
      }
    }
    if (this.#head > 64 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return { batch: batch ?? [], settle };
  }

  async #run(): Promise<void> {
    const limit = Math.max(1, this.#options.concurrency ?? 1);
    const inFlight = new Set<Promise<void>>();
    let failed = false;
    while (true) {
      while (!failed && inFlight.size < limit && this.#head < this.#entries.length) {
        const { batch, settle } = this.#take();
        const written: Promise<void> = this.#write(batch).then((ok) => {
          inFlight.delete(written);
          if (!ok) {
            failed = true;
            return;
          }
          this.#count -= batch.length;
          this.stats.processed += batch.length;
          this.stats.queued = this.#count;
          for (const tracker of settle) tracker.settle();
          this.#release();
        });
        inFlight.add(written);
      }
      if (failed) {
        await Promise.all(inFlight);
        return;
      }
      if (inFlight.size === 0) {
        if (this.#stopping) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      // A write finished, or (with room for another) new events arrived.
      const waits: Promise<void>[] = [...inFlight];
      if (inFlight.size < limit) waits.push(new Promise<void>((resolve) => (this.#wake = resolve)));
      await Promise.race(waits);
    }
  }

  async #write(batch: LogEvent[]): Promise<boolean> {
    for (let attempt = 1;; attempt++) {
      try {
        await this.sink.write(batch);
        if (attempt > 1) this.#log.info("write succeeded after retries", { attempts: attempt });
        return true;
      } catch (err) {
        this.stats.errors++;
        this.stats.add("retries");
        if (this.#stopping) {
          this.#log.error("write failed while stopping; events stay unacknowledged", {
            events: batch.length,
            error: errorMessage(err),
          });
          return false;
        }
        const delay = backoff(attempt, {
          initialMs: this.#options.retryInitialMs,
          maxMs: this.#options.retryMaxMs,
        });
        this.#log.warn(`write failed, retrying in ${delay} ms`, {
          attempt,
          events: batch.length,
          error: errorMessage(err),
        });
        await sleep(delay, this.#abort.signal);
      }
    }
  }

  #release(): void {
    const waiters = this.#spaceWaiters;
    if (waiters.length) {
      this.#spaceWaiters = [];
      for (const w of waiters) w();
    }
    if (this.#count === 0 && this.#drainWaiters.length) {
      const drained = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of drained) w();
    }
  }
}
