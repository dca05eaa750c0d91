/**
 * The statements of one Postgres sink batch: the temporary staging table
 * each batch is COPYed into, the `INSERT … SELECT … ON CONFLICT DO NOTHING`
 * that moves it into the table, the one-row INSERT of the row-by-row
 * fallback, the id order rows are sent in, the COPY stream's write with
 * its deadline, and the batch's transaction with its statements pipelined.
 *
 * @module
 */

import type { Writable } from "node:stream";
import type postgres from "../core/_deps/postgres.ts";
import { isPostgresConnectionError } from "../core/_pg_crash_guard.ts";
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

/** Longest a COPY's data may take to be taken by the server. */
const _COPY_TIMEOUT_MS = 120_000;

/**
 * Writes a COPY's data and waits until the server has taken it all, within
 * a deadline (the stream is destroyed at it).
 *
 * @param stream The COPY stream (`tx.unsafe(copy).writable()`).
 * @param data The data in COPY format.
 * @param what What is copied, for errors.
 * @param sent Called once when the data and the end of the COPY are handed
 *   to the socket, before the server answers: statements sent then are
 *   pipelined behind the COPY (called at the finish when the stream does not
 *   tell).
 * @returns When the stream has finished (the server answered the COPY).
 *
 * @example
 * ```ts ignore
 * import { pgFinishCopy } from "./_sql_pg_move.ts";
 * await pgFinishCopy(stream, copyBytes(rows), "COPY into alerts");
 * ```
 */
export function pgFinishCopy(
  stream: Writable,
  data: Uint8Array,
  what: string,
  sent?: () => void,
): Promise<void> {
  let told = false;
  const tell = () => {
    if (told || !sent) return;
    told = true;
    sent();
  };
  // npm:postgres 3.4.9's COPY stream writes CopyDone in its `final` and then takes new statements;
  // its answer comes later (the finish). Wrapping `_final` sends the next statements without
  // waiting a round trip for it.
  const w = stream as Writable & { _final?: (cb: (err?: Error | null) => void) => void };
  const final = w._final;
  if (sent && typeof final === "function") {
    w._final = (cb) => {
      final.call(w, cb);
      tell();
    };
  }
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy(new Error(`${what} timed out`));
      reject(new Error(`${what} got no answer within ${_COPY_TIMEOUT_MS} ms`));
    }, _COPY_TIMEOUT_MS);
    // `on`, not `once`: when the connection drops mid-COPY, npm:postgres's stream errors a second
    // time (its destroy writes to the closed socket); with no listener that would crash the process.
    stream.on("error", (err) => (clearTimeout(timer), reject(err)));
    stream.once("finish", () => (clearTimeout(timer), tell(), resolve()));
    stream.end(data);
  });
}

/** One table's share of a batch, rendered before its transaction begins. */
export interface PgStaged {
  /** The table's name, for errors. */
  table: string;
  /** Its staging statements. */
  move: PgMove;
  /** Its rows in COPY text format, in id order. */
  data: Uint8Array;
}

/**
 * Stores one batch in one transaction on a connection of its own, with as
 * few round trips as the protocol allows: `BEGIN`, the staging table's
 * `CREATE … IF NOT EXISTS` and the `COPY` go out in one write; the move
 * right behind the COPY's data (the last table's with the further
 * statements and `COMMIT`), without waiting for the COPY's answer. Each
 * statement still runs only after the one before it succeeded (a failed
 * one aborts the transaction, and the `COMMIT` behind it then rolls back),
 * and this resolves only once the server answered `COMMIT`.
 *
 * @param s The pool.
 * @param staged The batch's tables, each rendered.
 * @param after Statements (with parameters) run after the moves, before `COMMIT`.
 * @returns The rows the moves inserted.
 * @throws The first statement's error, after the transaction was closed.
 *
 * @example
 * ```ts ignore
 * import { pgMoveSql, pgStoreBatch } from "./_sql_pg_move.ts";
 * const inserted = await pgStoreBatch(sql, [{ table: "t", move: pgMoveSql(def), data }], []);
 * ```
 */
export async function pgStoreBatch(
  s: postgres.Sql,
  staged: readonly PgStaged[],
  after: readonly (readonly [string, unknown[]])[],
): Promise<number> {
  const r = await s.reserve();
  const sent: Promise<postgres.RowList<postgres.Row[]>>[] = [];
  const send = (statement: string, params: unknown[] = []) => {
    const q = r.unsafe(statement, params as postgres.ParameterOrJSON<never>[]);
    // Run now; a failure is taken from `sent` below, after the transaction was closed.
    const p = q.then((x) => x);
    p.catch(() => {});
    sent.push(p);
    return p;
  };
  let commit: Promise<postgres.RowList<postgres.Row[]>> | undefined;
  try {
    send("BEGIN");
    const moves: Promise<postgres.RowList<postgres.Row[]>>[] = [];
    const end = () => {
      for (const [statement, params] of after) send(statement, params);
      return send("COMMIT");
    };
    for (let i = 0; i < staged.length; i++) {
      const { table, move, data } = staged[i] as PgStaged;
      send(move.create);
      const stream = await r.unsafe(move.copy).writable() as unknown as Writable;
      await pgFinishCopy(stream, data, `COPY into ${table}`, () => {
        moves.push(send(move.insert));
        if (i === staged.length - 1) commit = end();
      });
    }
    // No table (every row was refused): the dead letters alone.
    const committed = commit ?? (commit = end());
    await Promise.all(sent);
    const done = await committed;
    // COMMIT in a failed transaction answers ROLLBACK, not an error.
    if (done.command !== "COMMIT") throw new Error(`the transaction ended in ${done.command}`);
    let inserted = 0;
    for (const m of moves) inserted += (await m).count;
    return inserted;
  } catch (err) {
    await Promise.allSettled(sent);
    // A dropped connection has no transaction left to end (and must not be written to).
    if (!commit && !isPostgresConnectionError(err)) await r.unsafe("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    r.release();
  }
}
