/**
 * What the contenders of bench/contenders.ts share: their outputs (rows in
 * SQLite, lines in files), the started handle, the alerts table they all
 * write, and small process and port helpers.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { siemSchema } from "../siem/schema.ts";
import type { LoggedProcess } from "./lib.ts";

/** The repository's root directory (ends with `/`). */
export const BENCH_ROOT: string = new URL("../", import.meta.url).pathname;

/** Something a contender fills: rows of a SQLite table or lines of a file. */
export interface Output {
  /** What it is, for the report (`alerts rows`, `all_events lines`). */
  name: string;
  /** How much has landed so far; cheap enough to call ten times a second. */
  count(): number;
  /** The exact figure once the run is over (defaults to `count()`). */
  exact?(): number;
}

/**
 * Rows of a SQLite table, read from a separate read-only connection (the
 * table is written by another process). While polling it reads the largest
 * rowid, which needs no scan; `exact()` counts the rows.
 *
 * @param database The database file.
 * @param table The table.
 * @returns The output; 0 while the file or table does not exist yet.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DatabaseSync } from "node:sqlite";
 * import { sqliteRows } from "./contenders.ts";
 * const dir = await Deno.makeTempDir();
 * const db = new DatabaseSync(`${dir}/x.db`);
 * db.exec("CREATE TABLE alerts (a TEXT); INSERT INTO alerts VALUES ('x'), ('y')");
 * db.close();
 * const rows = sqliteRows(`${dir}/x.db`, "alerts");
 * assert.strictEqual(rows.count(), 2);
 * assert.strictEqual(rows.exact?.(), 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function sqliteRows(database: string, table: string): Output {
  const query = (sql: string): number => {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(database, { readOnly: true });
      const row = db.prepare(sql).get() as { n: number | bigint | null } | undefined;
      return Number(row?.n ?? 0);
    } catch {
      return 0; // not created yet, or locked for a moment
    } finally {
      db?.close();
    }
  };
  return {
    name: `${table} rows`,
    count: () => query(`SELECT max(rowid) AS n FROM "${table}"`),
    exact: () => query(`SELECT count(*) AS n FROM "${table}"`),
  };
}

/**
 * Lines of a file that another process appends to, counted incrementally:
 * each call reads only what was added since the last one.
 *
 * @param path The file.
 * @returns The output; 0 while the file does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fileLines } from "./contenders.ts";
 * const dir = await Deno.makeTempDir();
 * const lines = fileLines(`${dir}/out.jsonl`);
 * assert.strictEqual(lines.count(), 0);
 * await Deno.writeTextFile(`${dir}/out.jsonl`, "a\nb\n");
 * assert.strictEqual(lines.count(), 2);
 * await Deno.writeTextFile(`${dir}/out.jsonl`, "c\n", { append: true });
 * assert.strictEqual(lines.count(), 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fileLines(path: string): Output {
  let offset = 0;
  let lines = 0;
  const buf = new Uint8Array(1 << 20);
  const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "");
  return {
    name: `${name} lines`,
    count(): number {
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(path, { read: true });
      } catch {
        return lines;
      }
      try {
        file.seekSync(offset, Deno.SeekMode.Start);
        for (;;) {
          const n = file.readSync(buf);
          if (n === null || n === 0) break;
          offset += n;
          for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines++;
        }
      } finally {
        file.close();
      }
      return lines;
    },
  };
}

/** A contender once started. */
export interface Started {
  /** The process measured (CPU, memory). */
  pid: number;
  /** Where it takes TCP JSON lines on 127.0.0.1. */
  port: number;
  /** What it fills; the run is complete when each holds every event. */
  outputs: Output[];
  /** The tail of what it printed, for error messages. */
  printed(): string;
  /** Whether it has exited on its own. */
  exited(): boolean;
  /** Stops it (SIGTERM, then SIGKILL after 10 s) and waits for it. */
  stop(): Promise<void>;
}

/** A program that takes TCP JSON lines and stores them. */
export interface Contender {
  /** Short name for tables and the chart (`syslog-ng tuned`). */
  name: string;
  /** What it runs, for the report. */
  description: string;
  /** Why it cannot run on this machine (a binary or module is missing), or undefined. */
  unavailable(): string | undefined;
  /** Starts it in `dir` (an empty directory of its own) and waits until it listens. */
  start(dir: string): Promise<Started>;
}

/**
 * Whether a path exists.
 *
 * @param path The path.
 * @returns Whether `stat` finds it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathExists } from "./_contender_base.ts";
 * assert.equal(pathExists("/"), true);
 * ```
 */
export function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A TCP port free on 127.0.0.1 right now.
 *
 * @returns The port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { freePort } from "./_contender_base.ts";
 * assert.ok(freePort() > 0);
 * ```
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/**
 * Whether something accepts TCP connections on 127.0.0.1:`port`.
 *
 * @param port The port.
 * @returns Whether a connection opened.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptsOn } from "./_contender_base.ts";
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * assert.equal(await acceptsOn(l.addr.port), true);
 * l.close();
 * ```
 */
export async function acceptsOn(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A started contender over its process.
 *
 * @param proc The process.
 * @param port Where it listens.
 * @param outputs What it fills.
 * @returns The handle the run uses.
 *
 * @example
 * ```ts ignore
 * import { startedContender } from "./_contender_base.ts";
 * declare const proc: import("./lib.ts").LoggedProcess;
 * const started = startedContender(proc, 5514, []);
 * ```
 */
export function startedContender(proc: LoggedProcess, port: number, outputs: Output[]): Started {
  return {
    pid: proc.pid,
    port,
    outputs,
    printed: () => proc.text.trim().slice(-2000),
    exited: () => proc.exited,
    stop: () => proc.stop(),
  };
}

/**
 * The `CREATE` statements of sluice's SIEM `alerts` table (siem/schema.ts):
 * its columns, an `id` column for the dedup key with a UNIQUE index, and
 * indexes on timestamp, host, severity and rule; STRICT, as the sink makes
 * it. Other programs' rows are written into the very same table.
 *
 * @returns SQL statements, separated by semicolons.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { DatabaseSync } from "node:sqlite";
 * import { alertsTableSql } from "./contenders.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec(alertsTableSql());
 * assert.ok(db.prepare("SELECT count(*) AS n FROM alerts").get());
 * db.close();
 * ```
 */
export function alertsTableSql(): string {
  const table = siemSchema.tables.alerts;
  if (!table) throw new Error("alertsTableSql: siemSchema has no alerts table");
  const columns = Object.entries(table.columns).map(([c, t]) => `"${c}" ${t}`);
  const out = [
    `CREATE TABLE IF NOT EXISTS "alerts" ("id" TEXT, ${columns.join(", ")}) STRICT`,
    `CREATE UNIQUE INDEX IF NOT EXISTS "alerts_id" ON "alerts" ("id")`,
  ];
  for (const index of table.indexes ?? []) {
    const cols = typeof index === "string" ? [index] : "columns" in index ? index.columns : index;
    const unique = typeof index === "object" && "unique" in index && index.unique;
    out.push(
      `CREATE ${unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS "alerts_${
        cols.join("_")
      }" ON "alerts" (${cols.map((c) => `"${c}"`).join(", ")})`,
    );
  }
  return out.join(";\n") + ";";
}
