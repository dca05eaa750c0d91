/**
 * The bound on parsed entries that one agentless source holds over all its
 * hosts: read and parsed but not yet taken by the pipeline (pending in a
 * host's batch, or in an emit waiting for a full queue). Each host holds at
 * most one batch anyway; with 50 hosts that was 50 batches of parsed
 * events at once. A host that finds the budget spent hands on what it has
 * and stops reading (its SSH window then stops journalctl) until others'
 * batches are taken.
 *
 * @module
 */

/**
 * Entries held across hosts, with a wait for room.
 *
 * @example
 * ```ts
 * import { EntryBudget } from "./_ssh_journal_budget.ts";
 * const budget = new EntryBudget(100);
 * budget.take(120);
 * console.assert(budget.spent);
 * const room = budget.room(new AbortController().signal);
 * budget.give(60);
 * await room;
 * console.assert(!budget.spent && budget.held === 60);
 * ```
 */
export class EntryBudget {
  /** The most entries held before hosts wait. */
  readonly limit: number;
  #held = 0;
  #waiters: Array<() => void> = [];

  /** @param limit Entries held over all hosts before they wait (at least 1). */
  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError(`EntryBudget: limit must be >= 1, got ${limit}`);
    this.limit = limit;
  }

  /** Entries held now. */
  get held(): number {
    return this.#held;
  }

  /** Whether hosts should stop reading. */
  get spent(): boolean {
    return this.#held >= this.limit;
  }

  /** Counts `n` parsed entries as held. */
  take(n: number): void {
    this.#held += n;
  }

  /** Counts `n` entries as taken by the pipeline (or dropped); wakes waiters when there is room. */
  give(n: number): void {
    this.#held = Math.max(0, this.#held - n);
    if (this.#held < this.limit && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Resolves once there is room (at once if there is) or `signal` aborts.
   *
   * @param signal Ends the wait.
   */
  room(signal: AbortSignal): Promise<void> {
    if (!this.spent || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
