/**
 * Runs the sluice command line (runner/main.ts) and, on SIGUSR2, writes what
 * this isolate holds to the file `SLUICE_IDLE_PROBE` names: `Deno.memoryUsage()`,
 * V8's heap, heap space and code statistics. bench/idle_memory.ts starts the
 * examples through it to break their idle private memory down.
 *
 * ```sh
 * SLUICE_IDLE_PROBE=/tmp/probe.json deno run -A bench/_idle_probe.ts examples/pipeline.central.ts
 * ```
 *
 * @module
 */

import {
  getHeapCodeStatistics,
  getHeapSpaceStatistics,
  getHeapStatistics,
  setFlagsFromString,
} from "node:v8";
import { runInNewContext } from "node:vm";
import { DatabaseSync } from "node:sqlite";
import { trimMalloc } from "../core/gc.ts";

/** What {@linkcode probeSnapshot} reads, bytes. */
export interface ProbeSnapshot {
  /** `Deno.memoryUsage()`. */
  memory: Deno.MemoryUsage;
  /** `v8.getHeapStatistics()`. */
  heap: Record<string, number>;
  /** Per space: committed (physical) and used bytes. */
  spaces: Record<string, { physical: number; used: number }>;
  /** `v8.getHeapCodeStatistics()`. */
  code: Record<string, number>;
  /** The SQLite connections seen (opened through node:sqlite in this isolate): file, cache_size. */
  sqlite?: { file: string; cacheSize: number }[];
  /** The experiments run so far ({@linkcode probeAct}). */
  acts?: string[];
  /**
   * glibc malloc over all arenas (`mallinfo2()`, with FFI on glibc): `arena` bytes
   * taken from the system by brk/arenas, `mmapped` in its own mappings,
   * `inUse` allocated, `free` held free.
   */
  malloc?: { arena: number; mmapped: number; inUse: number; free: number };
}

let _mallinfo: (() => Uint8Array) | null | undefined;

/** glibc's mallinfo2(), or undefined where there is no FFI or no glibc. */
function _malloc(): ProbeSnapshot["malloc"] {
  if (_mallinfo === undefined) {
    _mallinfo = null;
    try {
      const lib = Deno.dlopen("libc.so.6", {
        mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") } },
      });
      _mallinfo = () => lib.symbols.mallinfo2() as Uint8Array;
    } catch {
      // not glibc, or no FFI
    }
  }
  if (!_mallinfo) return undefined;
  const b = _mallinfo();
  const v = [...new BigUint64Array(b.buffer, b.byteOffset, 10)].map(Number);
  return { arena: v[0]!, mmapped: v[4]!, inUse: v[7]!, free: v[8]! };
}

const _dbs = new Set<DatabaseSync>();

/** Records every node:sqlite connection of this isolate that runs exec() or prepare(). */
function _watchSqlite(): void {
  const proto = DatabaseSync.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of ["exec", "prepare"]) {
    const orig = proto[name]!;
    proto[name] = function (this: DatabaseSync, ...a: unknown[]) {
      _dbs.add(this);
      return orig.apply(this, a);
    };
  }
}

function _sqlite(): { file: string; cacheSize: number }[] {
  const out: { file: string; cacheSize: number }[] = [];
  for (const db of _dbs) {
    if (!db.isOpen) {
      _dbs.delete(db);
      continue;
    }
    try {
      const file = String(
        (db.prepare("PRAGMA database_list").all()[0] as { file?: string } | undefined)?.file,
      );
      const cacheSize = Number(
        (db.prepare("PRAGMA cache_size").get() as Record<string, number>).cache_size,
      );
      out.push({ file, cacheSize });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

let _gc: ((o?: unknown) => void) | undefined;

/**
 * Runs one memory experiment in this process: `gc` (a full collection and
 * malloc_trim, as core/idle_gc.ts), `last-resort` (V8's memory-reducing
 * collection), `gc8` (eight full collections, which age unused bytecode out),
 * `sqlite` (PRAGMA shrink_memory on every connection seen), `trim` (malloc_trim).
 *
 * @param act The experiment.
 *
 * @example
 * ```ts
 * import { probeAct } from "./_idle_probe.ts";
 * probeAct("trim");
 * ```
 */
export function probeAct(act: string): void {
  if (!_gc) {
    setFlagsFromString("--expose-gc");
    _gc = runInNewContext("gc") as (o?: unknown) => void;
  }
  if (act === "gc") _gc();
  else if (act === "last-resort") _gc({ type: "major", execution: "sync", flavor: "last-resort" });
  else if (act === "gc8") { for (let i = 0; i < 8; i++) _gc(); }
  else if (act === "sqlite") {
    for (const db of _dbs) {
      if (db.isOpen) db.exec("PRAGMA shrink_memory");
    }
  }
  trimMalloc();
}

/**
 * Reads this isolate's memory figures.
 *
 * @returns The figures, bytes.
 *
 * @example
 * ```ts
 * import { probeSnapshot } from "./_idle_probe.ts";
 * console.assert((probeSnapshot().heap.used_heap_size ?? 0) > 0);
 * ```
 */
export function probeSnapshot(): ProbeSnapshot {
  const malloc = Deno.build.os === "linux" ? _malloc() : undefined;
  const spaces: ProbeSnapshot["spaces"] = {};
  for (const s of getHeapSpaceStatistics()) {
    spaces[s.space_name] = { physical: s.physical_space_size, used: s.space_used_size };
  }
  return {
    memory: Deno.memoryUsage(),
    heap: { ...getHeapStatistics() } as unknown as Record<string, number>,
    spaces,
    code: { ...getHeapCodeStatistics() } as unknown as Record<string, number>,
    ...(malloc ? { malloc } : {}),
  };
}

if (import.meta.main) {
  const out = Deno.env.get("SLUICE_IDLE_PROBE");
  if (out) {
    _watchSqlite();
    const acts = (Deno.env.get("SLUICE_IDLE_PROBE_ACTS") ?? "").split(",").filter((a) => a);
    const done: string[] = [];
    const dump = () =>
      Deno.writeTextFileSync(
        out,
        JSON.stringify({ ...probeSnapshot(), sqlite: _sqlite(), acts: done }),
      );
    Deno.addSignalListener("SIGUSR2", dump);
    Deno.addSignalListener("SIGUSR1", () => {
      const act = acts[done.length];
      if (act) {
        probeAct(act);
        done.push(act);
      }
      dump();
    });
  }
  const { main } = await import("../runner/main.ts");
  Deno.exit(await main(Deno.args));
}
