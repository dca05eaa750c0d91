/**
 * The bench's one memory sampler: peak RSS, peak private memory
 * (`RssAnon + RssShmem` of /proc/PID/status, RSS without the file-backed
 * pages) and peak PSS (/proc/PID/smaps_rollup) of a process and its
 * children, summed per sample, so that a daemon that forks (syslog-ng's
 * supervisor, rsyslog) is counted whole, as sluice is.
 *
 * @module
 */

import {
  type DeadlineOptions,
  type DeadlineResult,
  killTree,
  spawnGroup,
} from "../tests/_peers.ts";

/** Peak memory of a process tree over a workload, in MB. */
export interface MemoryPeak {
  /** Peak resident memory (sum of VmRSS over the tree; for a child process also its VmHWM). */
  rssMb: number;
  /** Peak private memory: sum of `RssAnon + RssShmem` over the tree. */
  privateMb: number;
  /** Peak proportional set size: sum of smaps_rollup `Pss:` over the tree; 0 where the kernel lacks it. */
  pssMb: number;
}

/** Options for {@linkcode sampleTree}. */
export interface SampleTreeOptions {
  /**
   * Count the process's descendants too. Turn it off for the bench process
   * itself when its children are load generators, not what is measured.
   * @default {true}
   */
  children?: boolean;
  /** Time between samples, in ms. @default {100} */
  intervalMs?: number;
}

/** A running sampler; see {@linkcode sampleTree}. */
export interface TreeSampler {
  /** Takes a sample now (also what the timer does) and returns the peaks so far. */
  sample(): MemoryPeak;
  /** Takes a last sample, stops the timer and returns the peaks. */
  stop(): MemoryPeak;
}

function _read(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function _kb(text: string, key: string): number {
  const at = text.indexOf(`\n${key}:`);
  if (at < 0) return 0;
  return parseInt(text.slice(at + key.length + 2).trimStart(), 10) || 0;
}

/** The process and, with `children`, every descendant (/proc/PID/task/TID/children). */
function _tree(root: string, children: boolean): string[] {
  const out = [root];
  if (!children) return out;
  for (let i = 0; i < out.length; i++) {
    let tasks: string[];
    try {
      tasks = [...Deno.readDirSync(`/proc/${out[i]}/task`)].map((t) => t.name);
    } catch {
      continue;
    }
    for (const task of tasks) {
      for (const pid of _read(`/proc/${out[i]}/task/${task}/children`).split(" ")) {
        if (pid && !out.includes(pid)) out.push(pid);
      }
    }
  }
  return out;
}

/**
 * Memory of a process tree now, in MB (Linux /proc; zeros elsewhere).
 *
 * @param pid The root process; this one when `"self"`.
 * @param children Whether to add its descendants. @default {true}
 * @returns RSS, private memory and PSS now, each summed over the tree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { treeMemory } from "./_memory.ts";
 * const m = treeMemory("self", false);
 * assert.ok(m.rssMb >= m.privateMb && m.privateMb > 0);
 * ```
 */
export function treeMemory(pid: number | "self", children = true): MemoryPeak {
  const root = pid === "self" ? String(Deno.pid) : String(pid);
  let rss = 0, priv = 0, pss = 0;
  for (const p of _tree(root, children)) {
    const status = "\n" + _read(`/proc/${p}/status`);
    rss += _kb(status, "VmRSS");
    priv += _kb(status, "RssAnon") + _kb(status, "RssShmem");
    pss += _kb("\n" + _read(`/proc/${p}/smaps_rollup`), "Pss");
  }
  return { rssMb: rss / 1024, privateMb: priv / 1024, pssMb: pss / 1024 };
}

/**
 * Samples a process tree's memory every `intervalMs` until stopped and
 * keeps the peak of each figure: the kernel keeps a peak of RSS only
 * (VmHWM, taken too for a child process, whose life is the workload's),
 * none of private memory or PSS. A workload that holds this event loop
 * (a synchronous parse loop in the bench process) is sampled at its ends
 * only; every other is sampled as it runs.
 *
 * @param pid The root process; the bench process itself when `"self"`.
 * @param options Whether children count, and how often to sample.
 * @returns The sampler; call `stop()` when the workload is done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sampleTree } from "./_memory.ts";
 * const sampler = sampleTree("self", { children: false });
 * const big = new Uint8Array(16 << 20).fill(1);
 * const peak = sampler.stop();
 * assert.ok(big.length > 0 && peak.privateMb > 16 && peak.rssMb >= peak.privateMb);
 * ```
 */
export function sampleTree(
  pid: number | "self",
  options: SampleTreeOptions = {},
): TreeSampler {
  const children = options.children ?? true;
  const intervalMs = options.intervalMs ?? 100;
  if (!(intervalMs > 0)) {
    throw new RangeError(`sampleTree: "intervalMs" must be positive, got ${intervalMs}`);
  }
  const peak: MemoryPeak = { rssMb: 0, privateMb: 0, pssMb: 0 };
  const sample = (): MemoryPeak => {
    const now = treeMemory(pid, children);
    peak.rssMb = Math.max(peak.rssMb, now.rssMb);
    peak.privateMb = Math.max(peak.privateMb, now.privateMb);
    peak.pssMb = Math.max(peak.pssMb, now.pssMb);
    if (pid !== "self") {
      const hwm = _kb("\n" + _read(`/proc/${pid}/status`), "VmHWM") / 1024;
      peak.rssMb = Math.max(peak.rssMb, hwm);
    }
    return { ...peak };
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  Deno.unrefTimer(timer);
  return {
    sample,
    stop() {
      clearInterval(timer);
      return sample();
    },
  };
}

/**
 * Runs `fn` while sampling the bench process itself (not its children),
 * for the scenarios that measure sluice in-process.
 *
 * @param fn The workload.
 * @returns What `fn` gave and the peaks over it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withMemory } from "./_memory.ts";
 * const { value, memory } = await withMemory(() => Promise.resolve(7));
 * assert.equal(value, 7);
 * assert.ok(memory.privateMb > 0);
 * ```
 */
export async function withMemory<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; memory: MemoryPeak }> {
  const sampler = sampleTree("self", { children: false });
  try {
    const value = await fn();
    return { value, memory: sampler.stop() };
  } finally {
    sampler.stop();
  }
}

/**
 * The row fields of a peak (`peakRssMb`, `peakPrivateMb`, `pssMb`), to
 * spread into a {@linkcode import("./lib.ts").BenchRow}.
 *
 * @param peak What a sampler gave.
 * @returns The three fields.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryFields } from "./_memory.ts";
 * assert.deepEqual(memoryFields({ rssMb: 3, privateMb: 2, pssMb: 1 }), {
 *   peakRssMb: 3, peakPrivateMb: 2, pssMb: 1,
 * });
 * ```
 */
export function memoryFields(
  peak: MemoryPeak,
): { peakRssMb: number; peakPrivateMb: number; pssMb: number } {
  return { peakRssMb: peak.rssMb, peakPrivateMb: peak.privateMb, pssMb: peak.pssMb };
}

/**
 * The median of each figure over several peaks (several runs of one
 * subject), as the other columns report runs; the upper middle of an even count.
 *
 * @param peaks The peaks.
 * @returns Their median, figure by figure; zeros when none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { medianPeak } from "./_memory.ts";
 * const a = { rssMb: 3, privateMb: 1, pssMb: 2 }, b = { rssMb: 1, privateMb: 2, pssMb: 1 };
 * assert.deepEqual(medianPeak([a, b, a]), { rssMb: 3, privateMb: 1, pssMb: 2 });
 * ```
 */
export function medianPeak(peaks: readonly MemoryPeak[]): MemoryPeak {
  const mid = (pick: (p: MemoryPeak) => number) => {
    const sorted = peaks.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? 0;
  };
  return {
    rssMb: mid((p) => p.rssMb),
    privateMb: mid((p) => p.privateMb),
    pssMb: mid((p) => p.pssMb),
  };
}

/**
 * The largest of each figure over several readings (one subject's passes).
 *
 * @param peaks The readings.
 * @returns Their maximum, figure by figure; zeros when none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maxOf } from "./_memory.ts";
 * const a = { rssMb: 3, privateMb: 1, pssMb: 2 }, b = { rssMb: 1, privateMb: 2, pssMb: 1 };
 * assert.deepEqual(maxOf([a, b]), { rssMb: 3, privateMb: 2, pssMb: 2 });
 * ```
 */
export function maxOf(peaks: readonly MemoryPeak[]): MemoryPeak {
  return {
    rssMb: Math.max(0, ...peaks.map((p) => p.rssMb)),
    privateMb: Math.max(0, ...peaks.map((p) => p.privateMb)),
    pssMb: Math.max(0, ...peaks.map((p) => p.pssMb)),
  };
}

async function _text(stream: ReadableStream<Uint8Array>, stop: Promise<void>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const stopped = stop.then(() => "stop" as const);
  let text = "";
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), stopped]);
      if (r === "stop") {
        await reader.cancel().catch(() => {});
        break;
      }
      if (r.done) break;
      text += decoder.decode(r.value, { stream: true });
      if (text.length > 1 << 20) text = text.slice(-(1 << 19));
    }
  } catch {
    // a cancelled or broken pipe: keep what came
  }
  return text;
}

/**
 * Runs a command to completion as `runChild` in lib.ts does (killed with
 * its children at the deadline, an error naming what hung), sampling the
 * memory of its process tree meanwhile: for a reference that is a command
 * (`sftp -b` with its `ssh`, `rclone`). A command that ends within a
 * sample interval (20 ms) may show zeros.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param options `what` it is and `timeoutMs`, cwd, env (stdin is not given).
 * @returns Exit code, stdout, stderr and the peaks of its tree.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSampled } from "./_memory.ts";
 * const r = await runSampled("sh", ["-c", "sleep 0.2; echo hi"], { what: "echo", timeoutMs: 10_000 });
 * assert.equal(r.stdout, "hi\n");
 * assert.ok(r.memory.rssMb > 0);
 * ```
 */
export async function runSampled(
  cmd: string,
  args: string[],
  options: Omit<DeadlineOptions, "stdin">,
): Promise<DeadlineResult & { memory: MemoryPeak }> {
  const child = spawnGroup(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  // Often short-lived (a second of sftp): sampled more often than a daemon.
  const sampler = sampleTree(child.pid, { intervalMs: 20 });
  let timedOut = false;
  let letGo: () => void = () => {};
  const stop = new Promise<void>((resolve) => (letGo = resolve));
  const timer = setTimeout(() => {
    timedOut = true;
    killTree(child);
    letGo();
  }, options.timeoutMs);
  let grace: ReturnType<typeof setTimeout> | undefined;
  try {
    const outputs = Promise.all([_text(child.stdout, stop), _text(child.stderr, stop)]);
    const status = await child.status;
    // Its /proc is gone by now: the last sample that counts was the timer's.
    const memory = sampler.stop();
    // Output held open by a grandchild does not hold it up.
    grace = setTimeout(() => (killTree(child), letGo()), 2_000);
    const [stdout, stderr] = await outputs;
    if (timedOut) {
      throw new Error(
        `${options.what} hung: killed after ${options.timeoutMs} ms\n${stderr.slice(-2000)}`,
      );
    }
    return { code: status.code, stdout, stderr, memory };
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
    sampler.stop();
  }
}
