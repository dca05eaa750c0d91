/**
 * The statements of one Postgres sink batch: the temporary staging table
 * each batch is COPYed into, the `INSERT … SELECT … ON CONFLICT DO NOTHING`
 * that moves it into the table, the one-row INSERT of the row-by-row
 * fallback, and the id order rows are sent in (the batch's transaction
 * itself: sinks/_sql_pg_batch.ts).
 *
 * @module
 */

import type { TableDef } from "./_sqlite_table.ts";
import { pgIdent, pgType } from "./_sql_pg_copy.ts";

/**
 * A table's staging statements.
 *
 * @example
 * ```ts
 * import { type PgMove, pgMoveSql } from "./_sql_pg_move.ts";
 * const m: PgMove = pgMoveSql({ name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] });
 * ```
 */
export interface PgMove {
  /** Creates the staging table (temporary, all text, emptied at each commit) unless it exists. */
  create: string;
  /** `COPY … FROM STDIN` into the staging table. */
  copy: string;
  /** Moves the staging table's rows into the table, casting from text, skipping ids stored already. */
  insert: string;
  /** `COPY … FROM STDIN` straight into the table (fails whole on an id stored already). */
  direct: string;
}

function _cast(c: string, t: string): string {
  return pgType(c, t).replace(" NOT NULL", "");
}

/**
 * The staging table, COPY and move statements of one table; values are
 * cast from text in the move.
 *
 * @param def The resolved table.
 * @returns Its statements.
 *
 * @example
 * ```ts
 * import { pgMoveSql } from "./_sql_pg_move.ts";
 * pgMoveSql({ name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] }).copy;
 * // 'COPY "_sluice_stage_t" ("a") FROM STDIN'
 * ```
 */
export function pgMoveSql(def: TableDef): PgMove {
  const stage = pgIdent(`_sluice_stage_${def.name}`);
  const cols = def.columns.map(([c]) => pgIdent(c)).join(", ");
  const create = `CREATE TEMP TABLE IF NOT EXISTS ${stage} (${
    def.columns.map(([c]) => `${pgIdent(c)} TEXT`).join(", ")
  }) ON COMMIT DELETE ROWS`;
  const casts = def.columns.map(([c, t]) => `${pgIdent(c)}::${_cast(c, t)}`).join(", ");
  return {
    create,
    copy: `COPY ${stage} (${cols}) FROM STDIN`,
    direct: `COPY ${pgIdent(def.name)} (${cols}) FROM STDIN`,
    insert: `INSERT INTO ${
      pgIdent(def.name)
    } (${cols}) SELECT ${casts} FROM ${stage} ON CONFLICT DO NOTHING`,
  };
}

/**
 * One row's INSERT with parameters, for the row-by-row fallback.
 *
 * @param def The resolved table.
 * @returns The statement (`$1` … in column order).
 *
 * @example
 * ```ts
 * import { pgSingleSql } from "./_sql_pg_move.ts";
 * pgSingleSql({ name: "t", columns: [["a", "TEXT"]], values: [], indexes: [], dedup: false, sql: [] });
 * // 'INSERT INTO "t" ("a") VALUES ($1::TEXT) ON CONFLICT DO NOTHING'
 * ```
 */
export function pgSingleSql(def: TableDef): string {
  const cols = def.columns.map(([c]) => pgIdent(c)).join(", ");
  const params = def.columns.map(([c, t], k) => `$${k + 1}::${_cast(c, t)}`).join(", ");
  return `INSERT INTO ${pgIdent(def.name)} (${cols}) VALUES (${params}) ON CONFLICT DO NOTHING`;
}

/**
 * Orders ids as the move stores them (nulls last), so two writers of
 * overlapping batches take their key locks in one order and never
 * deadlock.
 *
 * @param a An id.
 * @param b Another.
 * @returns Negative, zero or positive, as for `Array.prototype.sort`.
 *
 * @example
 * ```ts
 * import { pgById } from "./_sql_pg_move.ts";
 * ["b", null, "a"].sort(pgById); // ["a", "b", null]
 * ```
 */
export function pgById(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  return String(a) < String(b) ? -1 : 1;
}
