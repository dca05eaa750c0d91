/**
 * End-to-end acknowledgements: a batch is safe once every sink it reached
 * wrote it; a source learns so in the order it emitted its batches, so a
 * checkpoint only ever advances over a contiguous acknowledged range.
 *
 * @module
 */

import type { AckCallback } from "./types.ts";

/**
 * One emitted batch waiting for its sinks. Each sink that received part of
 * the batch calls {@linkcode AckTracker.settle} once that part is durable.
 */
export class AckTracker {
  #pending: number;
  #done = false;
  readonly #sequencer: AckSequencer;
  readonly #callback: AckCallback | undefined;

  /**
   * Creates it.
   *
   * @param sequencer The emitting source's sequencer.
   * @param pending How many sink deliveries must settle.
   * @param callback The source's callback.
   */
  constructor(sequencer: AckSequencer, pending: number, callback: AckCallback | undefined) {
    this.#sequencer = sequencer;
    this.#pending = pending;
    this.#callback = callback;
  }

  /** `true` once every delivery settled. */
  get done(): boolean {
    return this.#done;
  }

  /** Adds a delivery that must settle too (before the tracker is sealed). */
  expect(): void {
    this.#pending++;
  }

  /** Marks that no more deliveries will be added; settles at once when none are pending. */
  seal(): void {
    if (this.#pending === 0) this.#finish();
  }

  /** One delivery is durable. */
  settle(): void {
    if (--this.#pending === 0) this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#sequencer.release();
  }

  /** @internal Fires the source's callback. */
  fire(): void {
    this.#callback?.();
  }
}

/**
 * Orders one source's acknowledgements: callbacks fire in emission order,
 * even when later batches finish first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AckSequencer } from "./acks.ts";
 * const order: number[] = [];
 * const seq = new AckSequencer();
 * const a = seq.track(() => order.push(1));
 * const b = seq.track(() => order.push(2));
 * a.expect(); b.expect(); a.seal(); b.seal();
 * b.settle();
 * assert.ok(order.length === 0);
 * a.settle();
 * assert.ok(order.join() === "1,2");
 * ```
 */
export class AckSequencer {
  #queue: Array<AckTracker | undefined> = [];
  #head = 0;
  #idle: Array<() => void> = [];

  /**
   * Starts tracking a newly emitted batch.
   *
   * @param callback What to call when the batch and every earlier one are safe.
   * @returns The batch's tracker; call `expect()` per delivery, then `seal()`.
   */
  track(callback: AckCallback | undefined): AckTracker {
    const tracker = new AckTracker(this, 0, callback);
    this.#queue.push(tracker);
    return tracker;
  }

  /** How many batches are not acknowledged yet. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Resolves once every tracked batch is acknowledged. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** @internal Called by a tracker that finished. */
  release(): void {
    while (this.#head < this.#queue.length) {
      const tracker = this.#queue[this.#head] as AckTracker;
      if (!tracker.done) break;
      this.#queue[this.#head++] = undefined;
      try {
        tracker.fire();
      } catch {
        // a throwing source callback must not stop the callbacks behind it
      }
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (this.pending === 0 && this.#idle.length) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }
}
