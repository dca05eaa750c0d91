/**
 * The days of a table to archive, found a day at a time by index searches
 * (archive/mover.ts moves them day by day), and its columns as Parquet
 * columns.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { ParquetColumn } from "./parquet.ts";

/**
 * Whether a day (the first ten characters of a time) is a real
 * `YYYY-MM-DD` date, which names an archive directory.
 *
 * @param day The day.
 * @returns Whether it is a date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isArchiveDay } from "./_days.ts";
 * assert.equal(isArchiveDay("2026-12-07"), true);
 * assert.equal(isArchiveDay("yesterday"), false);
 * ```
 */
export function isArchiveDay(day: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(`${day}T00:00:00.000Z`));
}

/**
 * The days (the first ten characters of the time) with rows before
 * `cutoff`, in order, found a day at a time with one search of the time
 * index each: a `SELECT DISTINCT substr(…)` read the whole index (1.7 s
 * of a 1,000,000-alert pass). A day whose rows are not ISO 8601 is
 * returned once too (the caller warns and leaves it), and the search
 * always moves on past the value it found.
 *
 * @param db An open database.
 * @param table The table (a plain name, checked by the caller).
 * @param timeColumn Its time column (plain too).
 * @param cutoff Only rows before this time.
 * @returns The days, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { archiveDays } from "./_days.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE t (ts TEXT); CREATE INDEX t_ts ON t (ts)");
 * db.exec("INSERT INTO t VALUES ('2026-01-01T10:00:00Z'), ('2026-01-01T11:00:00Z'), ('2026-01-03T00:00:00Z')");
 * assert.deepEqual([...archiveDays(db, "t", "ts", "2026-02-01")], ["2026-01-01", "2026-01-03"]);
 * ```
 */
export function* archiveDays(
  db: DatabaseSync,
  table: string,
  timeColumn: string,
  cutoff: string,
): Generator<string> {
  const from = db.prepare(
    `SELECT min(${timeColumn}) AS t FROM ${table} WHERE ${timeColumn} >= ? AND ${timeColumn} < ?`,
  );
  const after = db.prepare(
    `SELECT min(${timeColumn}) AS t FROM ${table} WHERE ${timeColumn} > ? AND ${timeColumn} < ?`,
  );
  let t = (from.get("", cutoff) as { t: string | null } | undefined)?.t ?? null;
  while (typeof t === "string") {
    const day = t.slice(0, 10);
    yield day;
    // Past the day's ISO times ("…T…", the part's range), or past every value with this prefix
    // when it is no date; then values of the day that are not ISO come up as their own "day".
    const next = isArchiveDay(day) ? `${day}U` : `${day}\u{10ffff}`;
    const r = next > t ? from.get(next, cutoff) : after.get(t, cutoff);
    t = (r as { t: string | null } | undefined)?.t ?? null;
  }
}

const _IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * The Parquet columns of a table, read from the database itself (what the
 * sink created from siem/schema.ts, migrations included), with the SQLite
 * row id first as `_rowid`.
 *
 * @param db An open database.
 * @param table The table.
 * @param timeColumn Its time column (stored as TIMESTAMP).
 * @returns The columns, or `undefined` when the table does not exist.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { tableColumns } from "./_days.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE alerts (timestamp TEXT NOT NULL, n INTEGER)");
 * assert.deepEqual(tableColumns(db, "alerts", "timestamp")?.map((c) => c.type), ["INT64", "TIMESTAMP", "INT64"]);
 * ```
 */
export function tableColumns(
  db: DatabaseSync,
  table: string,
  timeColumn: string,
): ParquetColumn[] | undefined {
  if (!_IDENT.test(table)) {
    throw new TypeError(`archive: table name ${JSON.stringify(table)} is not plain`);
  }
  const info = db.prepare(`PRAGMA table_info(${table})`).all() as Array<
    { name: string; type: string; notnull: number }
  >;
  if (info.length === 0) return undefined;
  const cols: ParquetColumn[] = [{ name: "_rowid", type: "INT64", nullable: false }];
  for (const c of info) {
    const t = c.type.toUpperCase();
    const type: ParquetColumn["type"] = c.name === timeColumn
      ? "TIMESTAMP"
      : t.startsWith("INT")
      ? "INT64"
      : t.startsWith("REAL")
      ? "DOUBLE"
      : "STRING";
    cols.push({ name: c.name, type, nullable: c.notnull === 0 || c.name === "id" });
  }
  return cols;
}
