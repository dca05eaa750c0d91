/**
 * PostgreSQL's side of the SQL server sinks: column types for the SQLite
 * table specs, COPY text-format encoding, and which errors belong to a row
 * (a data or constraint error: redo the batch row by row) rather than to
 * the connection (reject: the engine retries the batch).
 *
 * @module
 */

import type { TableDef } from "./_sqlite_table.ts";

/**
 * The Postgres type of a column of a SQLite table spec: `timestamp` is
 * `TIMESTAMPTZ`, INTEGER `BIGINT`, REAL `DOUBLE PRECISION`, BLOB `BYTEA`,
 * TEXT and ANY `TEXT`; `NOT NULL` is kept.
 *
 * @param column The column's name.
 * @param sqliteType Its normalised SQLite type (`TEXT NOT NULL`).
 * @returns The Postgres type.
 *
 * @example
 * ```ts
 * import { pgType } from "./_sql_pg_copy.ts";
 * pgType("timestamp", "TEXT NOT NULL"); // "TIMESTAMPTZ NOT NULL"
 * ```
 */
export function pgType(column: string, sqliteType: string): string {
  const [base = "TEXT"] = sqliteType.split(" ");
  const notNull = sqliteType.endsWith("NOT NULL") ? " NOT NULL" : "";
  if (column === "timestamp") return `TIMESTAMPTZ${notNull}`;
  if (column === "id") return "TEXT";
  switch (base) {
    case "INT":
    case "INTEGER":
      return `BIGINT${notNull}`;
    case "REAL":
      return `DOUBLE PRECISION${notNull}`;
    case "BLOB":
      return `BYTEA${notNull}`;
    default:
      return `TEXT${notNull}`;
  }
}

/**
 * Quotes an identifier for Postgres.
 *
 * @param name An identifier (already checked against `IDENT`).
 * @returns It in double quotes.
 *
 * @example
 * ```ts
 * import { pgIdent } from "./_sql_pg_copy.ts";
 * pgIdent("alerts"); // "\"alerts\""
 * ```
 */
export function pgIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const _ESC = /[\\\n\r\t]/g;
const _HAS_ESC = /[\\\n\r\t]/;
const _ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function _field(v: unknown): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "string") {
    return _HAS_ESC.test(v) ? v.replace(_ESC, (c) => _ESCAPES[c] as string) : v;
  }
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (v instanceof Uint8Array) {
    let hex = "\\\\x";
    for (const b of v) hex += b.toString(16).padStart(2, "0");
    return hex;
  }
  return _field(String(v));
}

const _ENCODER = new TextEncoder();
// Rows are joined into strings of about this many characters, each encoded into the batch's bytes
// at once: one big string of a whole batch is a rope of tens of thousands of pieces, which the
// runtime walks slowly to convert (measured: 30-50 ms a 5k-row batch until the JIT warms up).
const _CHUNK_CHARS = 16_384;

/**
 * Rows in COPY's text format (tab-separated, `\N` for NULL, backslash
 * escapes, one line a row; text values already free of NUL bytes) as UTF-8
 * bytes, ready for the COPY stream: rows joined into short strings that are
 * encoded into one growing buffer (no string of the whole batch).
 *
 * @param rows Rows of values in column order.
 * @returns The COPY data.
 *
 * @example
 * ```ts
 * import { copyBytes } from "./_sql_pg_copy.ts";
 * new TextDecoder().decode(copyBytes([["a", null]])); // "a\t\\N\n"
 * ```
 */
export function copyBytes(rows: readonly unknown[][]): Uint8Array {
  let buf = new Uint8Array(Math.max(4096, rows.length * 256));
  let n = 0;
  let chunk = "";
  const flush = () => {
    // UTF-8 takes at most 3 bytes a UTF-16 unit.
    if (buf.length - n < chunk.length * 3) {
      const bigger = new Uint8Array(Math.max(buf.length * 2, n + chunk.length * 3));
      bigger.set(buf.subarray(0, n));
      buf = bigger;
    }
    n += _ENCODER.encodeInto(chunk, buf.subarray(n)).written;
    chunk = "";
  };
  for (const row of rows) {
    for (let k = 0; k < row.length; k++) {
      if (k) chunk += "\t";
      chunk += _field(row[k]);
    }
    chunk += "\n";
    if (chunk.length >= _CHUNK_CHARS) flush();
  }
  flush();
  return buf.subarray(0, n);
}

/**
 * Whether a Postgres error is about the data of a row (SQLSTATE classes 22
 * data exception, 23 integrity constraint, 54 program limit such as an index
 * key too large, 42804 datatype mismatch), so the batch is redone row by
 * row, rather than about the connection or the server (retried whole).
 *
 * @param err The error.
 * @returns True for a row's error.
 *
 * @example
 * ```ts
 * import { isPgRowError } from "./_sql_pg_copy.ts";
 * isPgRowError({ code: "22P02" }); // true
 * ```
 */
export function isPgRowError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string" || code.length !== 5) return false;
  return /^(22|23|54)/.test(code) || code === "42804";
}

/**
 * The statements that create a table, its indexes and any missing column.
 * Every table also gets `seq`, an identity primary key in the order rows
 * were stored (unless the spec has a `seq` column of its own).
 *
 * @param def The resolved table.
 * @param existing Columns the table has already (empty when it does not exist).
 * @returns Statements to run in order.
 *
 * @example
 * ```ts
 * import { pgTableSql } from "./_sql_pg_copy.ts";
 * pgTableSql({ name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] }, new Set());
 * ```
 */
export function pgTableSql(def: TableDef, existing: ReadonlySet<string>): string[] {
  const t = pgIdent(def.name);
  const out: string[] = [];
  // `seq`: the order rows were stored in, as SQLite's rowid is for the read side (cursors, tail).
  const seq = def.columns.some(([c]) => c === "seq")
    ? []
    : [`"seq" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY`];
  if (existing.size === 0) {
    const cols = [...seq, ...def.columns.map(([c, type]) => `${pgIdent(c)} ${pgType(c, type)}`)];
    out.push(`CREATE TABLE IF NOT EXISTS ${t} (${cols.join(", ")})`);
  } else {
    if (seq.length && !existing.has("seq")) out.push(`ALTER TABLE ${t} ADD COLUMN ${seq[0]}`);
    for (const [c, type] of def.columns) {
      // An added column cannot be NOT NULL on rows that exist: the constraint is left off.
      if (!existing.has(c)) {
        out.push(
          `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${pgIdent(c)} ${
            pgType(c, type).replace(" NOT NULL", "")
          }`,
        );
      }
    }
  }
  for (const index of def.indexes) {
    const name = `${def.name}_${index.columns.join("_")}${index.unique ? "_key" : "_idx"}`.slice(
      0,
      63,
    );
    out.push(
      `CREATE ${index.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${pgIdent(name)} ON ${t} (${
        index.columns.map(pgIdent).join(", ")
      })`,
    );
  }
  return out;
}
