/**
 * When the central's archive mover rests (`restRatio` of `archiveOnce`):
 * only while the central is busy. The signal is the busiest of the
 * process's other threads (the central's event loop, its SQLite writer):
 * the share of the wall time it spent on a CPU since the last part, read
 * from Linux's per-thread scheduler statistics. A central that takes logs
 * as fast as they come has a thread near 100 %; one that takes a steady
 * rate with capacity to spare has none near half, and then the mover runs
 * without resting. The mover's own thread is left out (it is busy by
 * design). Where the statistics cannot be read, there is no signal and the
 * mover rests after every part, as it did before.
 *
 * @example
 * ```ts
 * import { restSignal } from "./_rest.ts";
 * const signal = restSignal(); // undefined off Linux
 * // archiveOnce({ …, restRatio: 1, busy: signal?.busy });
 * ```
 *
 * @module
 */

/** CPU time of the process's threads at one moment. */
export interface CpuSample {
  /** The moment, ms (any monotonic clock). */
  wallMs: number;
  /** ms on a CPU so far, by thread id: every thread but the mover's own. */
  threads: ReadonlyMap<string, number>;
}

/** Takes a {@linkcode CpuSample}, or `undefined` when it cannot. */
export type CpuReader = () => CpuSample | undefined;

/**
 * Reads the CPU time of this process's threads but the calling one from
 * `/proc/self/task/<tid>/schedstat` (ns on a CPU, first field).
 *
 * @returns The reader, or `undefined` where `/proc` has no such files.
 *
 * @example
 * ```ts
 * import { procThreadsReader } from "./_rest.ts";
 * const s = procThreadsReader()?.();
 * console.log(s?.threads.size);
 * ```
 */
export function procThreadsReader(): CpuReader | undefined {
  let own: string;
  try {
    // "<pid>/task/<tid>"
    own = Deno.readLinkSync("/proc/thread-self").split("/").pop() as string;
    Deno.readTextFileSync(`/proc/self/task/${own}/schedstat`);
  } catch {
    return undefined;
  }
  return () => {
    const threads = new Map<string, number>();
    try {
      for (const e of Deno.readDirSync("/proc/self/task")) {
        if (e.name === own) continue;
        try {
          const text = Deno.readTextFileSync(`/proc/self/task/${e.name}/schedstat`);
          threads.set(e.name, Number(text.slice(0, text.indexOf(" "))) / 1e6);
        } catch {
          // The thread ended between the listing and the read.
        }
      }
    } catch {
      return undefined;
    }
    return { wallMs: performance.now(), threads };
  };
}

/** Options for {@linkcode restSignal}. */
export interface RestSignalOptions {
  /**
   * The central is busy when one of its threads was on a CPU at least this
   * share of the wall time (0-1) over the last part or the one before: a
   * central taking logs as fast as they come has one near 100 %, one with
   * capacity to spare stays well under (the bench `archive` prints both).
   * @default {0.7}
   */
  busyShare?: number;
  /** Where the samples come from (tests inject them). @default {procThreadsReader()} */
  read?: CpuReader;
}

/** The signal the mover asks after each part. */
export interface RestSignal {
  /** Whether the central was busy since the last call (or since the signal was made). */
  busy(): boolean;
  /** The busiest thread's share of each window so far, in order (for the pass's log line). */
  readonly shares: readonly number[];
  /** Leaves this thread (an OS thread id: the pass's commit thread) out of the signal. */
  ignore(tid: string): void;
}

/**
 * Makes the signal: it takes its first sample now, and each call compares
 * with the one before. Busy when the busiest thread reached `busyShare` in
 * this window or the one before (a window in which the central's writer
 * waited for the mover's deletes looks idle without being so), and when a
 * sample cannot be taken.
 *
 * @param options The threshold, the reader.
 * @returns The signal, or `undefined` when there is no reader (the mover
 *   then rests after every part).
 * @throws {RangeError} When `busyShare` is not in 0-1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restSignal } from "./_rest.ts";
 * let t = 0;
 * let cpu = 0;
 * const s = restSignal({ read: () => ({ wallMs: t, threads: new Map([["1", cpu]]) }) })!;
 * t += 100, cpu += 90; // a thread 90 % busy
 * assert.equal(s.busy(), true);
 * t += 100, cpu += 10;
 * assert.equal(s.busy(), true); // the window before was busy
 * t += 100, cpu += 10;
 * assert.equal(s.busy(), false);
 * ```
 */
export function restSignal(options: RestSignalOptions = {}): RestSignal | undefined {
  const busyShare = options.busyShare ?? 0.7;
  if (!(busyShare >= 0 && busyShare <= 1)) {
    throw new RangeError(`restSignal: "busyShare" must be within 0-1, got ${busyShare}`);
  }
  const read = options.read ?? procThreadsReader();
  if (!read) return undefined;
  let last = read();
  let before = false;
  const shares: number[] = [];
  const ignored = new Set<string>();
  return {
    shares,
    ignore(tid) {
      ignored.add(tid);
    },
    busy() {
      const now = read();
      if (!now || !last || now.wallMs <= last.wallMs) {
        last = now;
        return true;
      }
      let top = 0;
      for (const [tid, ms] of now.threads) {
        if (ignored.has(tid)) continue;
        const was = last.threads.get(tid);
        if (was !== undefined) top = Math.max(top, (ms - was) / (now.wallMs - last.wallMs));
      }
      last = now;
      shares.push(top);
      const busy = top >= busyShare;
      const answer = busy || before;
      before = busy;
      return answer;
    },
  };
}

/**
 * One line on a signal's windows: how many, and the busiest thread's share
 * (median, largest).
 *
 * @param shares {@linkcode RestSignal.shares}.
 * @returns The line's text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeShares } from "./_rest.ts";
 * assert.equal(describeShares([0.2, 0.9, 0.3]), "3 windows, busiest thread median 30 %, max 90 %");
 * ```
 */
export function describeShares(shares: readonly number[]): string {
  if (!shares.length) return "no windows";
  const s = [...shares].sort((a, b) => a - b);
  const pct = (x: number) => `${Math.round(x * 100)} %`;
  return `${s.length} windows, busiest thread median ${
    pct(s[Math.floor((s.length - 1) / 2)] as number)
  }, max ${pct(s[s.length - 1] as number)}`;
}
