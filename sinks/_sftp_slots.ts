/**
 * Numbered slots for the sftp-object sink's uploads: at most `n` at once,
 * each holding a slot number (which picks its SFTP channel), handed out in
 * the order asked.
 *
 * @module
 */

/**
 * `n` numbered slots, first come first served.
 *
 * @example
 * ```ts
 * import { Slots } from "./_sftp_slots.ts";
 * const slots = new Slots(2);
 * const a = await slots.acquire();
 * const b = await slots.acquire();
 * const c = slots.acquire();
 * slots.release(a);
 * console.assert(a !== b && (await c) === a);
 * ```
 */
export class Slots {
  readonly #free: number[];
  readonly #waiters: Array<(slot: number) => void> = [];

  /** @param n Slots (1 or more). */
  constructor(n: number) {
    this.#free = Array.from({ length: Math.max(1, n) }, (_, i) => i);
  }

  /**
   * Waits for a free slot.
   *
   * @returns Its number, 0 … n-1.
   */
  acquire(): Promise<number> {
    const slot = this.#free.shift();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Gives a slot back (to the longest waiter, if any).
   *
   * @param slot A number {@linkcode acquire} gave.
   */
  release(slot: number): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter(slot);
    else this.#free.push(slot);
  }
}
