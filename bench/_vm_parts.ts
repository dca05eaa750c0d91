/**
 * Parts of the VM scenario (bench/vm.ts): the counting TCP receiver the VM
 * forwards to, the ceiling of its local SQLite backup, row counts, and the
 * RSS floor of a bare `deno run`.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { LoggedProcess, memoryMb, sleep } from "./lib.ts";
import { ceilingInserts } from "./_ceiling_inserts.ts";

/** A TCP server that counts the newline bytes it receives, over every connection. */
export interface CountingReceiver {
  /** Where it listens on 127.0.0.1. */
  port: number;
  /** Newlines received. */
  lines: number;
  /** Connections accepted. */
  connections: number;
  /** Counts from zero again. */
  reset(): void;
  /** Closes it and its connections. */
  close(): Promise<void>;
}

/**
 * Starts a {@linkcode CountingReceiver} on a free port.
 *
 * @example
 * ```ts
 * import { countingReceiver } from "./_vm_parts.ts";
 * const r = countingReceiver();
 * await r.close();
 * ```
 */
export function countingReceiver(): CountingReceiver {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const state = {
    port: (listener.addr as Deno.NetAddr).port,
    lines: 0,
    connections: 0,
    reset() {
      state.lines = 0;
    },
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await accepting;
    },
  };
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(1 << 18);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        let k = 0;
        for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) k++;
        state.lines += k;
      }
    } catch {
      // closed under us
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        state.connections++;
        conns.add(conn);
        serve(conn);
      }
    } catch {
      // listener closed
    }
  })();
  return state;
}

/**
 * The backup's ceiling: the workload's lines inserted with one prepared
 * statement into the VM example's backup table (UNIQUE id, timestamp index),
 * with the same PRAGMAs (WAL, synchronous NORMAL, 16 KiB pages, 4 MiB cache)
 * in transactions of 2,000 rows (the sink's `maxBatch`; during a burst it
 * commits once per tail read, ~855 rows, which inserted as fast here), in
 * this process. Returns rows/s.
 *
 * @example
 * ```ts ignore
 * const rowsPerSecond = await backupCeiling(`${dir}/ceiling`, workload, 100_000);
 * ```
 */
export async function backupCeiling(dir: string, workload: string, n: number): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  const lines = (await Deno.readTextFile(workload)).split("\n", n);
  const db = new DatabaseSync(`${dir}/ceiling.db`);
  try {
    db.exec(
      "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -4096;",
    );
    db.exec(
      "CREATE TABLE events (id TEXT, timestamp TEXT, host TEXT, source TEXT, raw TEXT) STRICT",
    );
    db.exec("CREATE UNIQUE INDEX events_id ON events (id)");
    db.exec("CREATE INDEX events_timestamp ON events (timestamp)");
    const insert = ceilingInserts(db, "events", ["id", "timestamp", "host", "source", "raw"]);
    const base = Date.now();
    const batch = 2000; // sqliteSink's default maxBatch
    const t0 = performance.now();
    for (let i = 0; i < lines.length; i += batch) {
      db.exec("BEGIN IMMEDIATE");
      insert(i, Math.min(lines.length, i + batch), (j, args, at) => {
        args[at] = `vm:0123456789abcdef:${String(j * 300).padStart(12, "0")}`;
        args[at + 1] = new Date(base + j).toISOString();
        args[at + 2] = "vm";
        args[at + 3] = "alerts";
        args[at + 4] = lines[j] as string;
      });
      db.exec("COMMIT");
    }
    return lines.length / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The rows of a table, read-only; 0 while the database or table cannot be read.
 *
 * @example
 * ```ts ignore
 * tableRows(`${dir}/backup.db`, "events");
 * ```
 */
export function tableRows(db: string, table: string): number {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      conn.exec("PRAGMA busy_timeout = 1000");
      return Number((conn.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
}

/**
 * RSS of a bare `deno run` that only waits: the floor under any sluice process's idle RSS.
 *
 * @example
 * ```ts ignore
 * const floor = await denoFloorMb(dir);
 * ```
 */
export async function denoFloorMb(dir: string): Promise<number> {
  const script = `${dir}/idle.ts`;
  await Deno.writeTextFile(script, "setInterval(() => {}, 1000);\n");
  const proc = new LoggedProcess(Deno.execPath(), ["run", script]);
  try {
    await sleep(1500);
    return memoryMb(proc.pid).rss;
  } finally {
    await proc.stop();
  }
}
