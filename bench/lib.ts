/**
 * Shared pieces of the benchmark suite: result rows and timing helpers.
 * Every figure is reported beside a reference measured in the same run.
 *
 * @module
 */

import {
  type DeadlineOptions,
  type DeadlineResult,
  killTree,
  runWithDeadline,
  spawnGroup,
  which,
} from "../tests/_peers.ts";
import type { MemoryPeak } from "./_memory.ts";

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

/** Memory of one process, in MB, as {@linkcode memoryMb} reads it. */
export interface MemoryMb {
  /** Resident now (VmRSS). */
  rss: number;
  /** Peak resident (VmHWM). */
  hwm: number;
  /** Resident pages mapped from files now (RssFile). */
  file: number;
  /** Private memory now: `RssAnon + RssShmem`. */
  private: number;
  /** The largest `private` any call of {@linkcode memoryMb} or {@linkcode sampleMemory} saw for this process. */
  peakPrivate: number;
  /** Proportional set size now (smaps_rollup `Pss:`); 0 where the kernel lacks it. */
  pss: number;
}

const _peakPrivate = new Map<number | "self", number>();

/**
 * Peak and current resident memory of a process in MB (Linux `/proc`), how
 * much of it is mapped from files (the binary, libraries), its private
 * memory (`RssAnon + RssShmem`) and PSS. The kernel keeps no peak of the
 * private memory: each call records the largest seen per process, so call
 * it (or run {@linkcode sampleMemory}) during the workload.
 *
 * @param pid The process; this one when left out.
 * @returns The figures in MB, or zeros where `/proc` is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { memoryMb } from "./lib.ts";
 * const m = memoryMb();
 * assert.ok(m.rss >= m.file && m.file >= 0 && m.peakPrivate >= m.private);
 * ```
 */
export function memoryMb(pid: number | "self" = "self"): MemoryMb {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    const priv = (kb("RssAnon") + kb("RssShmem")) / 1024;
    const peakPrivate = Math.max(priv, _peakPrivate.get(pid) ?? 0);
    _peakPrivate.set(pid, peakPrivate);
    let pss = 0;
    try {
      const rollup = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
      pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) / 1024;
    } catch {
      // kernels before 4.14, or not ours to read
    }
    return {
      rss: kb("VmRSS") / 1024,
      hwm: kb("VmHWM") / 1024,
      file: kb("RssFile") / 1024,
      private: priv,
      peakPrivate,
      pss,
    };
  } catch {
    return { rss: 0, hwm: 0, file: 0, private: 0, peakPrivate: 0, pss: 0 };
  }
}

/**
 * Samples a process's private memory every `intervalMs` until stopped, as
 * VmHWM does for RSS; `stop()` returns the peak and the last reading.
 *
 * @param pid The process; this one when left out.
 * @param intervalMs Between samples. @default {50}
 * @returns `stop()`, giving the final {@linkcode MemoryMb} with `peakPrivate` over the samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sampleMemory } from "./lib.ts";
 * const sampler = sampleMemory();
 * const big = new Uint8Array(8 << 20).fill(1);
 * const m = sampler.stop();
 * assert.ok(big.length > 0 && m.peakPrivate >= m.private && m.peakPrivate > 8);
 * ```
 */
export function sampleMemory(
  pid: number | "self" = "self",
  intervalMs = 50,
): { stop(): MemoryMb } {
  _peakPrivate.delete(pid);
  memoryMb(pid);
  const timer = setInterval(() => memoryMb(pid), intervalMs);
  Deno.unrefTimer(timer);
  return {
    stop() {
      clearInterval(timer);
      return memoryMb(pid);
    },
  };
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

/**
 * Where syslog-ng is installed, if it is.
 *
 * @returns The binary's path, or `undefined`.
 *
 * @example
 * ```ts
 * import { syslogNgBin } from "./lib.ts";
 * const bin = syslogNgBin();
 * console.log(bin ?? "syslog-ng is not installed");
 * ```
 */
export function syslogNgBin(): string | undefined {
  // SLUICE_TEST_HIDE_PEERS hides it, as from the tests (a fresh machine).
  return which("/usr/sbin/syslog-ng", "syslog-ng") ?? which("/usr/bin/syslog-ng", "syslog-ng");
}

/**
 * V8 flags for a machine short of memory: a 2 MiB young generation (the
 * shipped 8 MiB, twice over, lives in each isolate) and an old generation
 * that grows 20% past its live data before the next collection, where V8
 * by default lets it grow up to fourfold under load. More collections, so
 * more CPU per event; the bench measures both sides of that trade.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SMALL_HEAP_V8_FLAGS, sluiceRunArgs } from "./lib.ts";
 * const args = sluiceRunArgs("/tmp/state", "p.ts", SMALL_HEAP_V8_FLAGS);
 * assert.match(args[1]!, /--heap-growing-percent=20$/);
 * ```
 */
export const SMALL_HEAP_V8_FLAGS = "--max-semi-space-size=2,--heap-growing-percent=20";

/**
 * The `deno` arguments that run a pipeline file under the sluice runner in
 * the bench, quiet (`--log-level warn`), with its state in `stateDir`. The
 * V8 flags are the ones `deno task start` ships (read from deno.json, so the
 * bench measures what users run) with `v8` after them, or `BENCH_V8_FLAGS`
 * in place of both; then `BENCH_SLUICE_FLAGS`, split on spaces
 * (`--cpu-prof`, for profiling).
 *
 * @param stateDir The runner's `--state-dir`.
 * @param pipeline The pipeline file; its own arguments go after the result.
 * @param v8 V8 flags for this process, after the shipped ones.
 * @returns Arguments for `deno`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sluiceRunArgs } from "./lib.ts";
 * const args = sluiceRunArgs("/tmp/state", "p.ts", "--max-old-space-size=24");
 * assert.match(args[1]!, /^--v8-flags=--max-semi-space-size=\d+,--max-old-space-size=24$/);
 * assert.deepEqual(args.slice(-3), ["--state-dir", "/tmp/state", "p.ts"]);
 * ```
 */
export function sluiceRunArgs(stateDir: string, pipeline: string, v8?: string): string[] {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { tasks: { start: string } };
  const shipped = /--v8-flags=(\S+)/.exec(config.tasks.start)?.[1];
  const flags = Deno.env.get("BENCH_V8_FLAGS") ?? [shipped, v8].filter((f) => f).join(",");
  const extra = (Deno.env.get("BENCH_SLUICE_FLAGS") ?? "").split(" ").filter((f) => f);
  return [
    "run",
    ...(flags ? [`--v8-flags=${flags}`] : []),
    ...extra,
    "-A",
    new URL("../runner/main.ts", import.meta.url).pathname,
    "--log-level",
    "warn",
    "--state-dir",
    stateDir,
    pipeline,
  ];
}

/**
 * The arguments after a central pipeline file (the example or a bench
 * pipeline): its data under `data`, every listener on a free port (the
 * pipeline prints the ones it got).
 *
 * @param data The pipeline's data directory.
 * @returns Arguments for the pipeline file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { centralArgs } from "./lib.ts";
 * assert.deepEqual(centralArgs("/tmp/d").slice(0, 2), ["--data", "/tmp/d"]);
 * ```
 */
export function centralArgs(data: string): string[] {
  return ["--data", data, "--json-port", "0", "--relp-port", "0", "--syslog-port", "0"];
}

/** Options for {@linkcode LoggedProcess}. */
export interface LoggedProcessOptions {
  /** Its working directory. */
  cwd?: string;
  /** Its environment (added to this one's). */
  env?: Record<string, string>;
}

/**
 * A child process whose stdout and stderr are kept (the last 64 KiB), which
 * can be waited on for a line and stops politely (SIGTERM), then not (SIGKILL
 * after 15 s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoggedProcess } from "./lib.ts";
 * const p = new LoggedProcess(Deno.execPath(), ["eval", "console.error('ready')"]);
 * assert.equal((await p.waitFor(/ready/))[0], "ready");
 * await p.stop();
 * ```
 */
export class LoggedProcess {
  readonly #child: Deno.ChildProcess;
  readonly #status: Promise<Deno.CommandStatus>;
  readonly #readers: Promise<void>[];
  #text = "";
  #exited = false;

  /**
   * Starts it.
   *
   * @param bin The program.
   * @param args Its arguments.
   * @param options Working directory and environment.
   */
  constructor(bin: string, args: string[], options: LoggedProcessOptions = {}) {
    this.#child = spawnGroup(bin, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    this.#status = this.#child.status.then((s) => {
      this.#exited = true;
      return s;
    });
    this.#readers = [this.#child.stdout, this.#child.stderr].map(async (stream) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        this.#text += decoder.decode(chunk, { stream: true });
        if (this.#text.length > 1 << 16) this.#text = this.#text.slice(-(1 << 15));
      }
    });
  }

  /** Its process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** What it printed lately. */
  get text(): string {
    return this.#text;
  }

  /** Whether it has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /**
   * Waits until its output matches.
   *
   * @param pattern What to wait for.
   * @param timeoutMs How long at most. @default {60000}
   * @returns The match.
   * @throws {Error} When it exits or the time is up first, with what it printed.
   */
  async waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const m = this.#text.match(pattern);
      if (m) return m;
      if (this.#exited) break;
      await sleep(25);
    }
    throw new Error(`timed out waiting for ${pattern} in:\n${this.#text.slice(-3000)}`);
  }

  /**
   * SIGTERM, SIGKILL (to it and its children) after 15 s, then waits for
   * the exit and, at most 5 s more, for the output.
   */
  async stop(): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // gone already
      }
      const timer = setTimeout(() => killTree(this.#child), 15_000);
      await this.#status;
      clearTimeout(timer);
    }
    await this.#status;
    // A child of its own that outlived it would keep the pipes open.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(this.#readers),
      new Promise((resolve) => (timer = setTimeout(resolve, 5_000))),
    ]);
    clearTimeout(timer);
    killTree(this.#child);
  }
}
