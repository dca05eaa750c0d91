/**
 * How much memory a pipeline may spend, chosen from the memory the machine
 * (or its cgroup) has: queue sizes, batch sizes, SQLite's page cache,
 * whether SQLite runs on a worker thread (a second V8 isolate) and where its
 * WAL is checkpointed, and the V8 heap flags that can still change once the
 * process runs. The examples read `--memory small|default|large|auto`
 * (`SLUICE_MEMORY`, auto) and size themselves from {@linkcode memoryBudget}.
 *
 * V8's flags are fixed for the main isolate once it has started (the young
 * generation's size is set when its heap is made, from `--v8-flags`), so
 * {@linkcode applyV8Budget} sets what V8 still reads later: how far the old
 * generation grows past its live data (read at every full collection) and
 * the young generation of isolates made afterwards (the SQLite worker).
 *
 * @module
 */

import { setFlagsFromString } from "node:v8";

/** A memory profile, or `auto` to choose one from the machine's memory. */
export type MemoryProfile = "small" | "default" | "large";

/** What a pipeline may spend, per {@linkcode memoryBudget}. */
export interface MemoryBudget {
  /** The profile chosen. */
  profile: MemoryProfile;
  /** The machine's (or cgroup's) memory in MiB it was chosen from, when known. */
  machineMb?: number;
  /** Events each sink's queue holds before sources are held back. */
  queueSize: number;
  /** Largest batch the engine hands to one sink write. */
  maxBatch: number;
  /** Rows per SQLite transaction. */
  sqliteBatch: number;
  /** SQLite's page cache per connection, MiB. */
  sqliteCacheMb: number;
  /** SQLite on a worker thread (a second V8 isolate) instead of the main thread. */
  sqliteWorker: boolean;
  /** Where SQLite's WAL is checkpointed: on a thread of its own, or in the commits. */
  sqliteCheckpoint: "background" | "inline";
  /** V8 flags {@linkcode applyV8Budget} sets at start (empty: V8's own). */
  v8Flags: string[];
  /**
   * A full V8 collection each time the old generation grew by this many MiB
   * (core/heap_cap.ts); 0 leaves it to V8's own limit. The VM example takes
   * it; the central example leaves it off unless `--heap-step-mb` is given
   * (its rate counts more than the few MB it saved there).
   */
  heapStepMb: number;
}

const _MIB = 1024 * 1024;

/** Reads a file's text, or undefined when it cannot be read. */
function _read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The memory this process may use, in MiB: the smaller of the machine's
 * `MemTotal` (/proc/meminfo) and its cgroup's limit (v2 `memory.max`, v1
 * `memory.limit_in_bytes`; `max` or a huge value means none).
 *
 * @param read Reads a file's text (for tests); undefined when missing.
 * @returns MiB, or undefined when nothing could be read (not Linux).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineMemoryMb } from "./memory_budget.ts";
 * const files: Record<string, string> = {
 *   "/proc/meminfo": "MemTotal:       8000000 kB\n",
 *   "/sys/fs/cgroup/memory.max": "536870912\n",
 * };
 * assert.equal(machineMemoryMb((p) => files[p]), 512);
 * ```
 */
export function machineMemoryMb(
  read: (path: string) => string | undefined = _read,
): number | undefined {
  const found: number[] = [];
  const total = /^MemTotal:\s+(\d+)\s*kB/m.exec(read("/proc/meminfo") ?? "");
  if (total) found.push(Number(total[1]) / 1024);
  for (const path of ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) {
    const text = read(path)?.trim();
    const bytes = text && /^\d+$/.test(text) ? Number(text) : NaN;
    // v1 writes "no limit" as a number near 2^63.
    if (Number.isFinite(bytes) && bytes > 0 && bytes < 2 ** 60) found.push(bytes / _MIB);
  }
  return found.length ? Math.round(Math.min(...found)) : undefined;
}

/** Below this much memory `auto` chooses `small`. */
export const SMALL_MACHINE_MB = 1536;
/** From this much memory `auto` chooses `large`. */
export const LARGE_MACHINE_MB = 65536;

interface _Profile extends Omit<MemoryBudget, "profile" | "machineMb" | "sqliteWorker"> {
  /** Cores from which SQLite gets a worker thread (a second isolate); Infinity: never. */
  workerCores: number;
}

const _PROFILES: Readonly<Record<MemoryProfile, _Profile>> = {
  // Half the default's queues and batches, a 2 MiB page cache. A central may be given
  // --v8-flags=--max-semi-space-size=2 as well (the main isolate's young generation is set
  // before any code runs): 50.6-51.5 against 54.3-55.5 MB under a 1M burst. The VM example
  // keeps the shipped 4: with the heap cap, 2 promoted more and peaked higher (median 40.3
  // against 36.8 MB) and ran 15-20 % slower (docs/performance.md).
  small: {
    queueSize: 500,
    maxBatch: 250,
    sqliteBatch: 500,
    sqliteCacheMb: 2,
    workerCores: Infinity,
    sqliteCheckpoint: "inline",
    v8Flags: ["--max-semi-space-size=2", "--heap-growing-percent=20"],
    heapStepMb: 4,
  },
  // Measured on 2 cores, 200k alerts alternating (docs/performance.md): SQLite on the main
  // thread with these sizes peaked at 92-95 MB private under `deno task start`'s
  // --max-semi-space-size=4 (102-109 MB with 8), at 0.72-1.16x the rate of `large`
  // (181-187 MB); a worker pays off only with cores to spare. The old generation grows 20%
  // past its live data instead of up to fourfold. At a 1M burst it peaked at 95-123 MB
  // (median 103, 11 runs): over 96 MB. sqliteBatch = queueSize: the SQLite sink's batch comes
  // from its own queue, so a larger sqliteBatch only counts with a larger queue.
  default: {
    queueSize: 1000,
    maxBatch: 500,
    sqliteBatch: 1000,
    sqliteCacheMb: 4,
    workerCores: 4,
    sqliteCheckpoint: "inline",
    v8Flags: ["--max-semi-space-size=2", "--heap-growing-percent=20"],
    // The VM example under a 1M-line burst: peak private 55-56 MB instead of 64-113 MB; a step of
    // 16 was 5-10 % faster than 8 (45-47 MB) in 5 of 6 alternating pairs (docs/performance.md,
    // 2026-12-07 evening).
    heapStepMb: 16,
  },
  // What the examples shipped before sizing from memory: SQLite on a worker with 4000-event
  // queues, 178-186 MB private under a 1M burst (docs/performance.md).
  large: {
    queueSize: 4000,
    maxBatch: 1000,
    sqliteBatch: 2000,
    sqliteCacheMb: 16,
    workerCores: 2,
    sqliteCheckpoint: "background",
    v8Flags: [],
    heapStepMb: 0,
  },
};

/**
 * The budget of a profile, or of the profile `auto` picks from the
 * machine's memory: `small` below {@linkcode SMALL_MACHINE_MB}, `large`
 * from {@linkcode LARGE_MACHINE_MB}, `default` between. SQLite gets a
 * worker thread with `large` from 2 cores, with `default` from 4, never
 * with `small`.
 *
 * @param profile A profile, or `auto`.
 * @param machineMb The machine's memory in MiB. @default {machineMemoryMb()}
 * @param cores Cores available. @default {navigator.hardwareConcurrency}
 * @returns The budget.
 * @throws {RangeError} On an unknown profile.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryBudget } from "./memory_budget.ts";
 * assert.equal(memoryBudget("auto", 1024, 2).profile, "small");
 * assert.equal(memoryBudget("auto", 8192, 2).profile, "default");
 * assert.equal(memoryBudget("large", 1024, 2).queueSize, 4000);
 * assert.equal(memoryBudget("default", 8192, 2).sqliteWorker, false);
 * assert.equal(memoryBudget("default", 8192, 4).sqliteWorker, true);
 * ```
 */
export function memoryBudget(
  profile: MemoryProfile | "auto",
  machineMb: number | undefined = machineMemoryMb(),
  cores: number = navigator.hardwareConcurrency ?? 1,
): MemoryBudget {
  const chosen: MemoryProfile = profile !== "auto"
    ? profile
    : machineMb === undefined
    ? "default"
    : machineMb < SMALL_MACHINE_MB
    ? "small"
    : machineMb >= LARGE_MACHINE_MB
    ? "large"
    : "default";
  const base = _PROFILES[chosen];
  if (!base) throw new RangeError(`memory profile: expected small, default, large or auto`);
  const { workerCores, ...sizes } = base;
  return {
    profile: chosen,
    ...(machineMb !== undefined ? { machineMb } : {}),
    ...sizes,
    sqliteWorker: cores >= workerCores,
    v8Flags: [...base.v8Flags],
  };
}

/**
 * Reads a profile name; a wrong one throws a RangeError naming `what`.
 *
 * @param value The text (`small`, `default`, `large`, `auto`).
 * @param what What to name in the error, `--memory`.
 * @returns The profile.
 * @throws {RangeError} On anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMemoryProfile } from "./memory_budget.ts";
 * assert.equal(parseMemoryProfile("small", "--memory"), "small");
 * assert.throws(() => parseMemoryProfile("tiny", "--memory"), /--memory/);
 * ```
 */
export function parseMemoryProfile(value: string, what: string): MemoryProfile | "auto" {
  if (value === "small" || value === "default" || value === "large" || value === "auto") {
    return value;
  }
  throw new RangeError(`${what}: expected "small", "default", "large" or "auto", got "${value}"`);
}

let _applied = "";

/**
 * Sets the budget's V8 flags in this process (once per distinct set): the
 * old generation's growth applies from the next full collection on, the
 * young generation's size to isolates made afterwards (workers); the main
 * isolate keeps the young generation `--v8-flags` gave it at start. The
 * `large` profile sets nothing, so V8 keeps what the command line said.
 *
 * @param budget The budget.
 * @returns The flags it set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyV8Budget, memoryBudget } from "./memory_budget.ts";
 * assert.deepEqual(applyV8Budget(memoryBudget("large", 8192, 2)), []);
 * ```
 */
export function applyV8Budget(budget: MemoryBudget): string[] {
  const key = budget.v8Flags.join(" ");
  if (key && key !== _applied) {
    setFlagsFromString(key);
    _applied = key;
  }
  return [...budget.v8Flags];
}
