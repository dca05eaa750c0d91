/**
 * What the bench reads of a process from Linux `/proc`: its memory (RSS,
 * file-backed, private, PSS, and the private peak the kernel does not keep)
 * and the CPU seconds it has used. Exported from `lib.ts` too.
 *
 * @module
 */

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
