/**
 * The SQLite sink's INSERTs: one row per statement, and up to
 * {@linkcode MULTI_ROWS} rows of one table per statement where that is safe.
 *
 * Why several rows: each `run()` of node:sqlite costs about 1.5 µs beside
 * SQLite's own work (the call, the bindings' checks, the result object). A
 * 32-row statement stored the VM's backup rows 1.59× as fast as one row per
 * statement, and the central's alerts (UNIQUE id and four indexes) 1.26× as
 * fast written `INSERT OR IGNORE` (docs/performance.md). A multi-row INSERT
 * that may fail half-way (SQLite's ABORT, or `ON CONFLICT … DO NOTHING`) was
 * slower than one row per statement: it keeps a statement journal of every
 * page it changes, and five b-trees' pages are many. `OR IGNORE` keeps
 * none, but it skips rows for more reasons than a duplicate id (NOT NULL,
 * CHECK), and a type error in a STRICT table stops it with the rows before
 * it kept. So the writer takes the table's largest rowid before each
 * multi-row statement, and when the statement did not store every row, it
 * deletes what the statement stored (the rows past that rowid: it holds the
 * write lock, and new rows take the next rowids) and runs the rows again one
 * by one with the single-row statement, which dead-letters what SQLite
 * refuses and counts duplicates exactly as before. Tables with triggers (an
 * `OR IGNORE` would change how their triggers resolve conflicts) and tables
 * without rowids take one row per statement.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { quoteIdent, type TableDef } from "./_sqlite_table.ts";

/** The most rows in one multi-row INSERT. */
export const MULTI_ROWS = 32;

const _HIGHEST = 1n << 62n;

// SQLite's default limit on bound parameters (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
const _MAX_PARAMS = 32_766;

/**
 * A table's prepared INSERTs.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { prepareInserts } from "./_sqlite_multi.ts";
 * const d = new DatabaseSync(":memory:");
 * d.exec("CREATE TABLE t (a TEXT)");
 * const ins = prepareInserts(d, { name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] });
 * ins.one.run("x");
 * ```
 */
export interface TableInserts {
  /** One row per statement: `ON CONFLICT ("id") DO NOTHING` for a table with ids. */
  one: StatementSync;
  /** The multi-row statements, or `undefined` when the table takes one row at a time. */
  multi: MultiInsert | undefined;
}

/** A table's {@linkcode MULTI_ROWS}-row `INSERT OR IGNORE` and what undoes it. */
export interface MultiInsert {
  /** The INSERT. */
  insert: StatementSync;
  /** The table's largest rowid (NULL when empty). */
  last: StatementSync;
  /** Deletes the rows past a rowid. */
  undo: StatementSync;
  /** Columns per row. */
  width: number;
  /** The INSERT's arguments, reused. */
  args: unknown[];
}

/**
 * Prepares a table's INSERTs (after every table its triggers name exists).
 *
 * @param d The open connection; the table exists.
 * @param def The table.
 * @returns The statements.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { prepareInserts } from "./_sqlite_multi.ts";
 * const d = new DatabaseSync(":memory:");
 * d.exec("CREATE TABLE t (a TEXT)");
 * const ins = prepareInserts(d, { name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] });
 * assert.ok(ins.multi);
 * ```
 */
export function prepareInserts(d: DatabaseSync, def: TableDef): TableInserts {
  const names = def.columns.map(([c]) => quoteIdent(c)).join(", ");
  const marks = `(${def.columns.map(() => "?").join(", ")})`;
  const table = quoteIdent(def.name);
  const one = d.prepare(
    `INSERT INTO ${table} (${names}) VALUES ${marks}${
      def.dedup ? ` ON CONFLICT ("id") DO NOTHING` : ""
    }`,
  );
  const width = def.columns.length;
  if (width * MULTI_ROWS > _MAX_PARAMS) return { one, multi: undefined };
  const triggers = d.prepare(
    "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND lower(tbl_name) = lower(?)",
  ).get(def.name) as { n: number };
  if (triggers.n > 0) return { one, multi: undefined };
  // The rowid under a name no column of the table takes; none for a table WITHOUT ROWID.
  const taken = new Set(
    (d.prepare(`SELECT name FROM pragma_table_info(?)`).all(def.name) as Array<{ name: string }>)
      .map((c) => c.name.toLowerCase()),
  );
  const rowid = ["rowid", "_rowid_", "oid"].find((n) => !taken.has(n));
  if (rowid === undefined) return { one, multi: undefined };
  let last: StatementSync;
  try {
    last = d.prepare(`SELECT max(${rowid}) AS at FROM ${table}`);
  } catch {
    return { one, multi: undefined };
  }
  last.setReadBigInts(true);
  return {
    one,
    multi: {
      insert: d.prepare(
        `INSERT OR IGNORE INTO ${table} (${names}) VALUES ${
          new Array(MULTI_ROWS).fill(marks).join(", ")
        }`,
      ),
      last,
      undo: d.prepare(`DELETE FROM ${table} WHERE ${rowid} > ?`),
      width,
      args: new Array(width * MULTI_ROWS),
    },
  };
}

/**
 * The order a batch's rows are stored in: grouped by table, each table's
 * rows in the order they came (the first table first), so that a batch
 * mixing tables still has runs of {@linkcode MULTI_ROWS} rows of one
 * table. Which table a row lands in first does not matter to SQLite.
 *
 * @param tables Each row's table.
 * @returns Row indexes in storing order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storingOrder } from "./_sqlite_multi.ts";
 * assert.deepEqual([...storingOrder(["a", "b", "a", null])], [0, 2, 1, 3]);
 * ```
 */
export function storingOrder(tables: ReadonlyArray<string | null>): Int32Array {
  const n = tables.length;
  const order = new Int32Array(n);
  const first = tables[0];
  let one = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (tables[i] !== first) one = false;
  }
  if (one) return order;
  const groups = new Map<string | null, number[]>();
  for (let i = 0; i < n; i++) {
    const name = tables[i] as string | null;
    const group = groups.get(name);
    if (group) group.push(i);
    else groups.set(name, [i]);
  }
  let at = 0;
  for (const group of groups.values()) for (const i of group) order[at++] = i;
  return order;
}

/**
 * How many rows from `order[from]` on (at most {@linkcode MULTI_ROWS}) are
 * for this table and have no error: when it is {@linkcode MULTI_ROWS} they
 * go in one multi-row statement; otherwise none of them can (the run ends
 * before 32), and they are stored one by one without looking again.
 *
 * @param ins The table's statements.
 * @param name The table.
 * @param tables Each row's table.
 * @param errors Each row's error.
 * @param order Row indexes in storing order ({@linkcode storingOrder}).
 * @param from The first position in `order`; its row is for this table, without an error.
 * @returns The run's length: 1 to {@linkcode MULTI_ROWS}, and 1 for a table without a multi-row statement.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { prepareInserts, runLength } from "./_sqlite_multi.ts";
 * const d = new DatabaseSync(":memory:");
 * d.exec("CREATE TABLE t (a TEXT)");
 * const ins = prepareInserts(d, { name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] });
 * assert.equal(runLength(ins, "t", ["t", "t", "u"], [null, null, null], Int32Array.of(0, 1, 2), 0), 2);
 * ```
 */
export function runLength(
  ins: TableInserts,
  name: string,
  tables: ReadonlyArray<string | null>,
  errors: ReadonlyArray<string | null>,
  order: Int32Array,
  from: number,
): number {
  if (ins.multi === undefined) return 1;
  const end = Math.min(from + MULTI_ROWS, order.length);
  let k = from + 1;
  for (; k < end; k++) {
    const i = order[k] as number;
    if (tables[i] !== name || errors[i] !== null) break;
  }
  return k - from;
}

/**
 * Stores the {@linkcode MULTI_ROWS} rows at `order[from…]` (a full
 * {@linkcode runLength}) in one statement, or none of them.
 *
 * @param multi The table's multi-row statements.
 * @param args Each row's values.
 * @param order Row indexes in storing order.
 * @param from The first position in `order`.
 * @param isRowError Whether an error is a row's (anything else is thrown).
 * @returns `true` when every row was stored; `false` when some row was
 * not (a duplicate, a constraint, a type), and what the statement stored
 * was deleted again: the rows are then to be run one by one.
 * @throws {Error} What SQLite throws that is not about a row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { MULTI_ROWS, prepareInserts, runMulti } from "./_sqlite_multi.ts";
 * const d = new DatabaseSync(":memory:");
 * d.exec("CREATE TABLE t (a TEXT NOT NULL)");
 * const ins = prepareInserts(d, { name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] });
 * const rows = Array.from({ length: MULTI_ROWS }, (_, i) => [i === 3 ? null : String(i)]);
 * const order = Int32Array.from(rows.keys());
 * assert.equal(runMulti(ins.multi!, rows, order, 0, () => true), false);
 * assert.equal((d.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 0);
 * ```
 */
export function runMulti(
  multi: MultiInsert,
  args: ReadonlyArray<readonly unknown[]>,
  order: Int32Array,
  from: number,
  isRowError: (err: unknown) => boolean,
): boolean {
  const buffer = multi.args;
  const width = multi.width;
  let at = 0;
  for (let k = from, end = from + MULTI_ROWS; k < end; k++) {
    const row = args[order[k] as number] as readonly unknown[];
    for (let c = 0; c < width; c++) buffer[at++] = row[c];
  }
  const before = (multi.last.get() as { at: bigint | null }).at ?? 0n;
  // Past 2^62 SQLite may soon take random rowids, some below `before`: one row at a time.
  if (before > _HIGHEST) {
    buffer.fill(null);
    return false;
  }
  let all: boolean;
  try {
    all = Number(multi.insert.run(...(buffer as never[])).changes) === MULTI_ROWS;
  } catch (err) {
    if (!isRowError(err)) throw err;
    all = false;
  } finally {
    // Let the values go: the buffer lives as long as the table's statements.
    buffer.fill(null);
  }
  if (!all) multi.undo.run(before);
  return all;
}
