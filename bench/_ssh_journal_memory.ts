/**
 * The memory row of bench/ssh_journal.ts: `sshJournalSource` pulling from
 * 50 hosts at once into a counting sink, with this process's private memory
 * (`RssAnon + RssShmem`, bench/_memory.ts) sampled as it runs: the peak, and
 * the peaks of the first and second half of the entries, to tell whether
 * memory stays flat while entries keep coming or grows with them.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import type { LogEvent } from "../core/event.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import type { Sink } from "../core/types.ts";
import { type SshJournalHost, sshJournalSource } from "../sources/ssh_journal.ts";
import { treeMemory } from "./_memory.ts";

/** A counting sink: `n` events so far, `at` the `performance.now()` of the last write. */
export type CountingSink = Sink & { n: number; at: number };

/**
 * A sink that counts what it is given and notes when (so a rate ends at the
 * last entry stored, not after the engine's stop).
 *
 * @example
 * ```ts
 * import { counter } from "./_ssh_journal_memory.ts";
 * const sink = counter();
 * await sink.write([{ message: "x", fields: {}, receivedAt: 0 }]);
 * console.assert(sink.n === 1 && sink.at > 0);
 * ```
 */
export function counter(): CountingSink {
  const sink = {
    kind: "count",
    n: 0,
    at: 0,
    open: () => Promise.resolve(),
    write(batch: readonly LogEvent[]) {
      sink.n += batch.length;
      sink.at = performance.now();
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return sink;
}

/**
 * The bench's agentless pipeline: `sshJournalSource` over `hosts` (batches of
 * 2000; SSH in a worker thread when `worker` is `true`) into a counting
 * sink, with its state in `stateDir`; not started.
 *
 * @example
 * ```ts ignore
 * const { engine, sink } = pullEngine(hosts, stateDir);
 * await engine.start(); // … until sink.n reaches the entries expected
 * ```
 */
export function pullEngine(
  hosts: SshJournalHost[],
  stateDir: string,
  worker = false,
): { engine: Engine; sink: CountingSink } {
  const sink = counter();
  const engine = new Engine(
    definePipeline({
      sources: { pull: sshJournalSource({ hosts, maxBatch: 2000, worker }) },
      paths: [{ from: ["pull"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("error") },
  );
  return { engine, sink };
}

/** What one 50-host run measured. */
export interface ManyHostsResult {
  /** Entries per second over all hosts, handshakes included. */
  rate: number;
  /** Private memory of this process before the source started, MB. */
  startPrivateMb: number;
  /** Peak private memory over the run, MB. */
  peakPrivateMb: number;
  /** Peak RSS over the run, MB. */
  peakRssMb: number;
  /** Peak PSS over the run, MB. */
  peakPssMb: number;
  /** Peak private memory while the first half of the entries arrived, MB. */
  firstHalfMb: number;
  /** Peak private memory while the second half arrived, MB. */
  secondHalfMb: number;
}

/**
 * Whether a run's memory is flat: the second half's peak within 10% (and
 * 16 MB) of the first half's, which holds the 50 handshakes.
 *
 * @param r A run.
 * @returns `true` when flat.
 *
 * @example
 * ```ts
 * import { isFlat } from "./_ssh_journal_memory.ts";
 * const r = { rate: 1, startPrivateMb: 50, peakPrivateMb: 120, peakRssMb: 150, peakPssMb: 130, firstHalfMb: 120, secondHalfMb: 118 };
 * console.assert(isFlat(r));
 * ```
 */
export function isFlat(r: ManyHostsResult): boolean {
  const grew = r.secondHalfMb - r.firstHalfMb;
  return grew <= Math.max(16, r.firstHalfMb * 0.1);
}

/**
 * Pulls `expect` entries from `hosts` through an engine into a counting
 * sink, sampling private memory every 20 ms.
 *
 * @param hosts The hosts (50 sessions, possibly on one sshd).
 * @param expect Entries over all hosts.
 * @param stateDir The engine's state directory.
 * @param deadlineMs Rejects (naming what hung) past this.
 * @returns Rate and memory figures.
 *
 * @example
 * ```ts ignore
 * const r = await manyHosts(hosts, 50 * 5000, `${dir}/state-mem`, 600_000);
 * console.log(r.peakPrivateMb, isFlat(r));
 * ```
 */
export async function manyHosts(
  hosts: SshJournalHost[],
  expect: number,
  stateDir: string,
  deadlineMs: number,
): Promise<ManyHostsResult> {
  const { engine, sink } = pullEngine(hosts, stateDir);
  const start = treeMemory("self", false);
  let first = 0, second = 0, peakRss = start.rssMb, peakPss = start.pssMb;
  const sample = () => {
    const m = treeMemory("self", false);
    peakRss = Math.max(peakRss, m.rssMb);
    peakPss = Math.max(peakPss, m.pssMb);
    if (sink.n < expect / 2) first = Math.max(first, m.privateMb);
    else second = Math.max(second, m.privateMb);
  };
  const started = performance.now();
  const timer = setInterval(sample, 20);
  let deadline: ReturnType<typeof setTimeout> | undefined;
  await engine.start();
  try {
    await Promise.race([
      (async () => {
        while (sink.n < expect) await new Promise((r) => setTimeout(r, 20));
      })(),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(
          () =>
            reject(
              new Error(`the source reading ${expect} entries from ${hosts.length} hosts hung`),
            ),
          deadlineMs,
        );
      }),
    ]);
    sample();
  } finally {
    clearTimeout(deadline);
    clearInterval(timer);
    await engine.stop();
  }
  return {
    rate: sink.n / ((performance.now() - started) / 1000),
    startPrivateMb: start.privateMb,
    peakPrivateMb: Math.max(first, second),
    peakRssMb: peakRss,
    peakPssMb: peakPss,
    firstHalfMb: first,
    secondHalfMb: second,
  };
}
