/**
 * Helpers for the archive tests: a snapshot of the SIEM tables before a
 * move, and DuckDB (the real library, not our reader) reading the archive
 * back, so that "every row once, same values, same types" is checked by a
 * reader that shares no code with the writer.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { ARCHIVED_TABLES } from "../../archive/mover.ts";

/** Rows of a table by SQLite row id, every value as text (null stays null). */
export type Snapshot = Map<number, Array<string | null>>;

/** The column names of a table, row id first. */
export function columnsOf(db: DatabaseSync, table: string): string[] {
  return [
    "_rowid",
    ...(db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) =>
      c.name
    ),
  ];
}

function _text(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** Every row of each archived table, keyed by row id. */
export function snapshot(database: string): Record<string, Snapshot> {
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    const out: Record<string, Snapshot> = {};
    for (const table of Object.keys(ARCHIVED_TABLES)) {
      const cols = columnsOf(db, table);
      if (cols.length === 1) continue;
      const map: Snapshot = new Map();
      for (
        const r of db.prepare(`SELECT rowid AS _rowid, * FROM ${table}`).all() as Array<
          Record<string, unknown>
        >
      ) {
        map.set(Number(r._rowid), cols.map((c) => _text(r[c])));
      }
      out[table] = map;
    }
    return out;
  } finally {
    db.close();
  }
}

/** Opens DuckDB in memory. */
export async function duck() {
  const { DuckDBInstance } = await import("../../core/_deps/duckdb.ts");
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  return {
    async rows(sql: string): Promise<Array<Record<string, unknown>>> {
      return (await conn.runAndReadAll(sql)).getRowObjects() as Array<Record<string, unknown>>;
    },
    close() {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** The archive of a table as DuckDB reads it: values as text, times as ISO 8601 with ms. */
export async function archivedRows(
  d: Awaited<ReturnType<typeof duck>>,
  dir: string,
  table: string,
  columns: string[],
): Promise<Snapshot> {
  const time = ARCHIVED_TABLES[table] as string;
  const glob = `${dir}/${table}/*/*.parquet`;
  try {
    await Deno.stat(`${dir}/${table}`);
  } catch {
    return new Map();
  }
  const select = columns.map((c) =>
    c === time
      ? `strftime(${c}, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS "${c}"`
      : `CAST("${c}" AS VARCHAR) AS "${c}"`
  ).join(", ");
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await d.rows(`SELECT ${select} FROM read_parquet('${glob}', hive_partitioning = true)`);
  } catch (err) {
    if (/No files found/.test(String(err))) return new Map();
    throw err;
  }
  const out: Snapshot = new Map();
  for (const r of rows) {
    const id = Number(r._rowid);
    if (out.has(id)) throw new Error(`${table}: row ${id} is archived twice`);
    out.set(id, columns.map((c) => (r[c] === null ? null : String(r[c]))));
  }
  return out;
}

/**
 * Checks that each row of the snapshot is in exactly one place, database or
 * archive, with the same values; returns how many are archived per table.
 */
export async function checkExactlyOnce(
  before: Record<string, Snapshot>,
  database: string,
  dir: string,
): Promise<Record<string, number>> {
  const now = snapshot(database);
  const d = await duck();
  const archived: Record<string, number> = {};
  try {
    const db = new DatabaseSync(database, { readOnly: true });
    try {
      for (const [table, rows] of Object.entries(before)) {
        const cols = columnsOf(db, table);
        const arch = await archivedRows(d, dir, table, cols);
        const live = now[table] ?? new Map();
        archived[table] = arch.size;
        for (const [id, values] of rows) {
          const a = arch.get(id);
          const l = live.get(id);
          if (a && l) {
            throw new Error(`${table}: row ${id} is both in the database and in the archive`);
          }
          const got = a ?? l;
          if (!got) throw new Error(`${table}: row ${id} is lost`);
          for (let i = 0; i < cols.length; i++) {
            if (got[i] !== values[i]) {
              throw new Error(
                `${table}: row ${id} column ${cols[i]}: ${JSON.stringify(got[i])} != ${
                  JSON.stringify(values[i])
                }`,
              );
            }
          }
        }
        if (arch.size + live.size !== rows.size) {
          throw new Error(
            `${table}: ${arch.size} archived + ${live.size} live != ${rows.size} before`,
          );
        }
      }
    } finally {
      db.close();
    }
  } finally {
    d.close();
  }
  return archived;
}
