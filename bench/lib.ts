/**
 * Shared pieces of the benchmark suite: result rows and timing helpers. Memory
 * and CPU readings live in `_process_stats.ts`, the children the bench starts
 * in `_children.ts`; both are exported from here too.
 * Every figure is reported beside a reference measured in the same run.
 *
 * @module
 */

import { type DeadlineOptions, type DeadlineResult, runWithDeadline } from "../tests/_peers.ts";
import type { MemoryPeak } from "./_memory.ts";

export { cpuSeconds, type MemoryMb, memoryMb, sampleMemory } from "./_process_stats.ts";
export {
  centralArgs,
  LoggedProcess,
  type LoggedProcessOptions,
  sluiceRunArgs,
  SMALL_HEAP_V8_FLAGS,
  syslogNgBin,
  VM_SMALL_V8_FLAGS,
} from "./_children.ts";

/** One measured figure. */
export interface BenchRow {
  /** Which scenario (`engine`, `parsers`, `tcp`, `sqlite` …). */
  scenario: string;
  /** What was measured (`generator → json → blackhole`). */
  subject: string;
  /** The figure. */
  value: number;
  /** Its unit (`events/s`, `MB/s`, `MB`). */
  unit: string;
  /**
   * The same-run reference this row is compared with, when any, and the
   * peak memory of its process tree when it is a process of its own
   * (see {@linkcode import("./_memory.ts").sampleTree}).
   */
  reference?: { subject: string; value: number; memory?: MemoryPeak };
  /** Free text: what limits it, what was left out. */
  note?: string;
  /** Every run's figure when measured more than once (`value` is their median): the report shows min–max. */
  runs?: number[];
  /** CPU seconds (user + system) the measured process spent on the workload, median over runs. */
  cpuSeconds?: number;
  /** Resident memory (VmRSS) once started, before the workload was sent, in MB; median over runs. */
  idleRssMb?: number;
  /**
   * Peak resident memory over the workload, in MB, of what the row measures
   * (a process and its children, or the bench process for an in-process
   * row), from {@linkcode import("./_memory.ts").sampleTree}; median over
   * runs. With {@linkcode peakPrivateMb} and {@linkcode pssMb} the three
   * memory columns every measured row carries.
   */
  peakRssMb?: number;
  /**
   * Of the resident memory, the pages mapped from files (RssFile: the
   * program's own binary and libraries, shared and clean) at the end of the
   * workload, in MB; median over runs. Both RSS columns include them; a
   * Deno process maps ~24 MB of its binary before it runs any code.
   */
  fileRssMb?: number;
  /**
   * Peak private memory (`RssAnon + RssShmem` of /proc/PID/status: RSS
   * without the file-backed pages), sampled during the workload, in MB;
   * median over runs. The memory targets are set on this figure.
   */
  peakPrivateMb?: number;
  /** Peak proportional set size (/proc/PID/smaps_rollup `Pss:`) over the workload, in MB; median over runs. */
  pssMb?: number;
  /** Events sent, in the run that lost the most. */
  sent?: number;
  /** Events stored, in the run that lost the most (loss = sent − stored). */
  stored?: number;
  /**
   * Why the measurement failed (a child hung past its deadline, a reference
   * exited non-zero): the row is reported as FAILED, never as a figure, and
   * the bench exits 1.
   */
  failed?: string;
  /** Why it was not measured here (a peer is not installed): reported, not failed. */
  skipped?: string;
  /** When the row was measured (ISO time): set by `bench/main.ts`, shown when a report merges runs. */
  measuredAt?: string;
}

/** Options every scenario module receives. */
export interface BenchOptions {
  /** Small sizes, one run, no contenders: the CI smoke test. */
  quick: boolean;
  /** A scratch directory for the scenario's files. */
  dir: string;
}

/** A scenario module's entry point. */
export type Scenario = (options: BenchOptions) => Promise<BenchRow[]>;

/**
 * A row that carries the three memory columns, unless it was skipped or
 * failed: what {@linkcode MeasuredScenario} returns.
 */
export type MeasuredRow =
  & BenchRow
  & (
    | { peakRssMb: number; peakPrivateMb: number; pssMb: number }
    | { skipped: string }
    | { failed: string }
  );

/**
 * A scenario whose every row carries peak RSS, private memory and PSS (the
 * scenarios of `deno task bench`; tests/bench/memory_columns_test.ts holds
 * each to it).
 */
export type MeasuredScenario = (options: BenchOptions) => Promise<MeasuredRow[]>;

/**
 * Runs a child to completion, or kills it and its children at the deadline
 * and throws an error naming what hung (the one way the bench runs a
 * command: `sftp -b`, `rclone`, installers). Output held open by a
 * grandchild does not hold it up.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param options `what` it is (named when it hangs) and `timeoutMs`, stdin, cwd, env.
 * @returns Exit code, stdout and stderr.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runChild } from "./lib.ts";
 * const r = await runChild("sh", ["-c", "echo hi"], { what: "echo", timeoutMs: 10_000 });
 * assert.equal(r.stdout, "hi\n");
 * ```
 */
export function runChild(
  cmd: string,
  args: string[],
  options: DeadlineOptions,
): Promise<DeadlineResult> {
  return runWithDeadline(cmd, args, options);
}

/**
 * Waits for a promise (a connection, an accept, a child's exit) at most
 * `timeoutMs`, or throws an error naming what hung.
 *
 * @param what What is awaited, for the error.
 * @param timeoutMs The deadline.
 * @param promise The wait.
 * @returns What the promise gave.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deadline } from "./lib.ts";
 * assert.equal(await deadline("one", 1000, Promise.resolve(1)), 1);
 * await assert.rejects(deadline("never", 10, new Promise(() => {})), /never hung/);
 * ```
 */
export async function deadline<T>(
  what: string,
  timeoutMs: number,
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} hung: no answer after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Times an async function and returns its duration in seconds.
 *
 * @param fn The work.
 * @returns Seconds it took.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { timed } from "./lib.ts";
 * const s = await timed(async () => {});
 * assert.ok(s >= 0);
 * ```
 */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/**
 * Runs a measurement several times and keeps the median.
 *
 * @param runs How many runs.
 * @param fn One measurement returning a number.
 * @returns The median.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { median } from "./lib.ts";
 * assert.strictEqual(await median(3, async () => 1), 1);
 * ```
 */
export async function median(runs: number, fn: () => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await fn());
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)] as number;
}

/**
 * The median, smallest and largest of some figures.
 *
 * @param values The figures (at least one).
 * @returns `{ median, min, max }`; the median of an even count is the upper middle one.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { spread } from "./lib.ts";
 * assert.deepStrictEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
 * ```
 */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) throw new RangeError("spread: no values");
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)] as number,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
  };
}

/**
 * Waits `ms` milliseconds.
 *
 * @param ms How long.
 * @returns When the time is up.
 *
 * @example
 * ```ts
 * import { sleep } from "./lib.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` until it is true or `timeoutMs` passed, and checks once more at the end.
 *
 * @param check The condition (may be async).
 * @param timeoutMs How long to wait at most.
 * @param everyMs How often to look. @default {20}
 * @returns Whether the condition held.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { waitFor } from "./lib.ts";
 * assert.equal(await waitFor(() => true, 100), true);
 * assert.equal(await waitFor(() => false, 30), false);
 * ```
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 20,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return await check();
}

/**
 * Appends all of one file to another in large writes (a burst, as a log writer under load).
 *
 * @param from The file to copy.
 * @param to The file to append to (it must exist).
 * @returns When every byte is written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appendFile } from "./lib.ts";
 * const a = await Deno.makeTempFile(), b = await Deno.makeTempFile();
 * await Deno.writeTextFile(a, "x\n");
 * await appendFile(a, b);
 * assert.equal(await Deno.readTextFile(b), "x\n");
 * ```
 */
export async function appendFile(from: string, to: string): Promise<void> {
  const src = await Deno.open(from, { read: true });
  const dst = await Deno.open(to, { write: true, append: true });
  try {
    const buf = new Uint8Array(4 << 20);
    for (;;) {
      const n = await src.read(buf);
      if (n === null) break;
      for (let off = 0; off < n;) off += await dst.write(buf.subarray(off, n));
    }
  } finally {
    src.close();
    dst.close();
  }
}
