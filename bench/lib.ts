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
 * import { timed } from "./lib.ts";
 * const s = await timed(async () => {});
 * console.assert(s >= 0);
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
 * import { median } from "./lib.ts";
 * console.assert(await median(3, async () => 1) === 1);
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
 * import { memoryMb } from "./lib.ts";
 * console.assert(memoryMb().rss >= 0);
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
