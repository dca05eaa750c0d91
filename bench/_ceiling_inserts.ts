/**
 * The raw insert loop of the SQLite ceilings (bench/_central_ceiling.ts,
 * bench/_vm_parts.ts, bench/sqlite.ts): prepared statements of 32 rows
 * each, `INSERT OR IGNORE`, as sqliteSink stores rows
 * (sinks/_sqlite_multi.ts), with one row per statement for the rest.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Rows per multi-row statement, as sinks/_sqlite_multi.ts's `MULTI_ROWS`. */
const _ROWS = 32;

/**
 * Fills one row's values into `args` from position `at`.
 *
 * @example
 * ```ts
 * import type { PutRow } from "./_ceiling_inserts.ts";
 * const put: PutRow = (i, args, at) => { args[at] = `row ${i}`; };
 * ```
 */
export type PutRow = (i: number, args: unknown[], at: number) => void;

/**
 * Prepares a table's ceiling INSERTs and returns the loop that stores rows
 * `from` to `to` (not included) through them, in the caller's transaction.
 *
 * @param db The open connection; the table exists.
 * @param table The table (quoted as needed).
 * @param columns Its columns, in the order `put` fills them (quoted as needed).
 * @returns The loop.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { ceilingInserts } from "./_ceiling_inserts.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE t (id TEXT UNIQUE, a TEXT)");
 * const insert = ceilingInserts(db, "t", ["id", "a"]);
 * insert(0, 40, (i, args, at) => { args[at] = `${i}`; args[at + 1] = "x"; });
 * ```
 */
export function ceilingInserts(
  db: DatabaseSync,
  table: string,
  columns: readonly string[],
): (from: number, to: number, put: PutRow) => void {
  const width = columns.length;
  const marks = `(${columns.map(() => "?").join(", ")})`;
  const head = `INTO ${table} (${columns.join(", ")}) VALUES `;
  const multi = db.prepare(`INSERT OR IGNORE ${head}${new Array(_ROWS).fill(marks).join(", ")}`);
  const one = db.prepare(`INSERT ${head}${marks} ON CONFLICT ("id") DO NOTHING`);
  const args: unknown[] = new Array(_ROWS * width);
  const single: unknown[] = new Array(width);
  return (from, to, put) => {
    let i = from;
    for (; i + _ROWS <= to; i += _ROWS) {
      for (let k = 0; k < _ROWS; k++) put(i + k, args, k * width);
      multi.run(...(args as never[]));
    }
    for (; i < to; i++) {
      put(i, single, 0);
      one.run(...(single as never[]));
    }
  };
}
