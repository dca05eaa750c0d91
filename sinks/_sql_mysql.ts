/**
 * MySQL/MariaDB's side of the SQL server sinks: column types for the SQLite
 * table specs, the statements that create and upgrade a table, values in
 * the server's DATETIME form, and which errors belong to a row.
 *
 * @module
 */

import type { TableDef } from "./_sqlite_table.ts";

/**
 * Longest indexed text in characters: InnoDB keys hold 3072 bytes, and a
 * utf8mb4 character takes up to 4; four indexed columns share one key.
 *
 * @example
 * ```ts
 * import { MYSQL_INDEXED_CHARS } from "./_sql_mysql.ts";
 * MYSQL_INDEXED_CHARS; // 191
 * ```
 */
export const MYSQL_INDEXED_CHARS = 191;

/**
 * Quotes an identifier for MySQL.
 *
 * @param name An identifier (already checked against `IDENT`).
 * @returns It in backquotes.
 *
 * @example
 * ```ts
 * import { myIdent } from "./_sql_mysql.ts";
 * myIdent("alerts"); // "`alerts`"
 * ```
 */
export function myIdent(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

/**
 * The MySQL type of a column: `timestamp` is `DATETIME(3)` (UTC), `id` and
 * indexed text `VARCHAR(191)`, other text `LONGTEXT`, INTEGER `BIGINT`,
 * REAL `DOUBLE`, BLOB `LONGBLOB`; `NOT NULL` is kept.
 *
 * @param column The column's name.
 * @param sqliteType Its normalised SQLite type.
 * @param indexed Whether an index covers it.
 * @returns The MySQL type.
 *
 * @example
 * ```ts
 * import { myType } from "./_sql_mysql.ts";
 * myType("host", "TEXT", true); // "VARCHAR(191)"
 * ```
 */
export function myType(column: string, sqliteType: string, indexed: boolean): string {
  const [base = "TEXT"] = sqliteType.split(" ");
  const notNull = sqliteType.endsWith("NOT NULL") ? " NOT NULL" : "";
  if (column === "timestamp") return `DATETIME(3)${notNull}`;
  if (column === "id") return `VARCHAR(${MYSQL_INDEXED_CHARS})`;
  switch (base) {
    case "INT":
    case "INTEGER":
      return `BIGINT${notNull}`;
    case "REAL":
      return `DOUBLE${notNull}`;
    case "BLOB":
      return `LONGBLOB${notNull}`;
    default:
      return `${indexed ? `VARCHAR(${MYSQL_INDEXED_CHARS})` : "LONGTEXT"}${notNull}`;
  }
}

/** The columns some index of a table covers. */
function _indexed(def: TableDef): Set<string> {
  return new Set(def.indexes.flatMap((i) => i.columns));
}

/**
 * The statements that create a table (with `seq`, an AUTO_INCREMENT primary
 * key in the order rows were stored, unless the spec has its own) or add its missing columns and
 * indexes (MySQL has no `CREATE INDEX IF NOT EXISTS`, so the existing ones
 * are passed in).
 *
 * @param def The resolved table.
 * @param columns Columns the table has (empty when it does not exist).
 * @param indexes Index names the table has.
 * @returns Statements to run in order.
 *
 * @example
 * ```ts
 * import { myTableSql } from "./_sql_mysql.ts";
 * myTableSql({ name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] }, new Set(), new Set());
 * ```
 */
export function myTableSql(
  def: TableDef,
  columns: ReadonlySet<string>,
  indexes: ReadonlySet<string>,
): string[] {
  const t = myIdent(def.name);
  const indexed = _indexed(def);
  const out: string[] = [];
  // `seq`: the order rows were stored in (SQLite's rowid for the read side), and InnoDB's
  // clustered key, which then grows at its right edge.
  const seq = def.columns.some(([c]) => c === "seq")
    ? []
    : ["`seq` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY"];
  if (columns.size === 0) {
    const cols = [
      ...seq,
      ...def.columns.map(([c, type]) => `${myIdent(c)} ${myType(c, type, indexed.has(c))}`),
    ];
    // utf8mb4_bin: ids and hosts compare exactly, as in SQLite and Postgres.
    out.push(
      `CREATE TABLE IF NOT EXISTS ${t} (${
        cols.join(", ")
      }) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  } else {
    if (seq.length && !columns.has("seq")) out.push(`ALTER TABLE ${t} ADD COLUMN ${seq[0]} FIRST`);
    for (const [c, type] of def.columns) {
      if (!columns.has(c)) {
        out.push(
          `ALTER TABLE ${t} ADD COLUMN ${myIdent(c)} ${
            myType(c, type, indexed.has(c)).replace(" NOT NULL", "")
          }`,
        );
      }
    }
  }
  for (const index of def.indexes) {
    const name = indexName(def.name, index.columns, index.unique ?? false);
    if (indexes.has(name)) continue;
    out.push(
      `CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${myIdent(name)} ON ${t} (${
        index.columns.map(myIdent).join(", ")
      })`,
    );
  }
  return out;
}

/**
 * An index's name (at most 64 characters).
 *
 * @example
 * ```ts
 * import { indexName } from "./_sql_mysql.ts";
 * indexName("alerts", ["host", "timestamp"], false); // "alerts_host_timestamp_idx"
 * ```
 */
export function indexName(table: string, columns: readonly string[], unique: boolean): string {
  return `${table}_${columns.join("_")}${unique ? "_key" : "_idx"}`.slice(0, 64);
}

const _ISO = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)\d*Z$/;

/**
 * An ISO 8601 UTC time as DATETIME text (`2026-01-01 00:00:10.000`); other
 * text is parsed as a date first, and what is not one is returned as it is
 * (the server refuses it and the row is dead-lettered).
 *
 * @param v The value.
 * @returns The DATETIME text.
 *
 * @example
 * ```ts
 * import { myDatetime } from "./_sql_mysql.ts";
 * myDatetime("2026-01-01T00:00:10.000Z"); // "2026-01-01 00:00:10.000"
 * ```
 */
export function myDatetime(v: unknown): unknown {
  if (typeof v !== "string") return v;
  let m = _ISO.exec(v);
  if (!m) {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) return v;
    m = _ISO.exec(new Date(ms).toISOString());
    if (!m) return v;
  }
  return `${m[1]} ${m[2]}`;
}

/**
 * Whether a MySQL error is about a row's data (SQLSTATE class 22 data
 * exception or 23 integrity constraint, on a connection that is still
 * good), so the batch is redone row by row, rather than about the
 * connection or the server (retried whole).
 *
 * @param err The error.
 * @returns True for a row's error.
 *
 * @example
 * ```ts
 * import { isMysqlRowError } from "./_sql_mysql.ts";
 * isMysqlRowError({ sqlState: "22007" }); // true
 * ```
 */
export function isMysqlRowError(err: unknown): boolean {
  const e = err as { sqlState?: unknown; fatal?: unknown };
  if (e?.fatal === true || typeof e?.sqlState !== "string") return false;
  return e.sqlState.startsWith("22") || e.sqlState.startsWith("23");
}

const _inserts = new Map<string, string>();

/**
 * A multi-row INSERT of `rows` rows into a table that leaves a row whose
 * unique key exists as it is (MySQL's `ON DUPLICATE KEY UPDATE` of the first
 * column to itself), cached per table, width and row count.
 *
 * @param def The table.
 * @param rows Rows in the statement.
 * @returns The SQL, with `?` placeholders.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { myInsertSql } from "./_sql_mysql.ts";
 * const def = { name: "t", columns: [["id", "TEXT"], ["a", "TEXT"]] as Array<[string, string]>, values: [], indexes: [], dedup: true, sql: [] };
 * assert.match(myInsertSql(def, 2), /VALUES \(\?, \?\), \(\?, \?\) ON DUPLICATE KEY UPDATE `id` = `id`$/);
 * ```
 */
export function myInsertSql(def: TableDef, rows: number): string {
  const key = `${def.name}\0${def.columns.length}\0${rows}`;
  let sql = _inserts.get(key);
  if (sql) return sql;
  const cols = def.columns.map(([c]) => myIdent(c));
  const one = `(${cols.map(() => "?").join(", ")})`;
  const first = cols[0] as string;
  sql = `INSERT INTO ${myIdent(def.name)} (${cols.join(", ")}) VALUES ${
    new Array(rows).fill(one).join(", ")
  } ON DUPLICATE KEY UPDATE ${first} = ${first}`;
  if (_inserts.size > 1000) _inserts.clear();
  _inserts.set(key, sql);
  return sql;
}
