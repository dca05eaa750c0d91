/**
 * Shared pieces of the benchmark suite: result rows and timing helpers.
 * Every figure is reported beside a reference measured in the same run.
 *
 * @module
 */

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
  /** The same-run reference this row is compared with, when any. */
  reference?: { subject: string; value: number };
  /** Free text: what limits it, what was left out. */
  note?: string;
  /** Every run's figure when measured more than once (`value` is their median): the report shows min–max. */
  runs?: number[];
  /** CPU seconds (user + system) the measured process spent on the workload, median over runs. */
  cpuSeconds?: number;
  /** Resident memory (VmRSS) once started, before the workload was sent, in MB; median over runs. */
  idleRssMb?: number;
  /** Peak resident memory (VmHWM) by the end of the workload, in MB; median over runs. */
  peakRssMb?: number;
  /** Events sent, in the run that lost the most. */
  sent?: number;
  /** Events stored, in the run that lost the most (loss = sent − stored). */
  stored?: number;
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
 * Peak and current resident memory of this process in MB (Linux `/proc`).
 *
 * @param pid The process; this one when left out.
 * @returns `{ rss, hwm }` in MB, or zeros where `/proc` is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { memoryMb } from "./lib.ts";
 * assert.ok(memoryMb().rss >= 0);
 * ```
 */
export function memoryMb(pid: number | "self" = "self"): { rss: number; hwm: number } {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
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
 * CPU seconds (user + system, all threads) a process has used so far, from
 * `/proc/PID/stat` (Linux; the clock tick is taken as 100 Hz).
 *
 * @param pid The process; this one when left out.
 * @returns Seconds, or 0 where `/proc` is missing or the process is gone.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { cpuSeconds } from "./lib.ts";
 * assert.ok(cpuSeconds() >= 0);
 * ```
 */
export function cpuSeconds(pid: number | "self" = "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name (field 2) may hold blanks and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
