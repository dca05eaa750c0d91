/**
 * The SQLite sink's writer: stores rendered rows in transactions of at
 * most `maxTransactionMs`, routes each row to its table (made ready on
 * first use), dead-letters the rows SQLite refuses, and waits out another
 * writer's lock.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { sleep } from "../core/backoff.ts";
import type { Logger } from "../core/log.ts";
import { errorMessage } from "../core/options.ts";
import type { ComponentStats } from "../core/stats.ts";
import { batchError, isRowError, isTableError, RowError } from "./_sqlite_errors.ts";
import { ensureTable } from "./_sqlite_schema.ts";
import { beginImmediate } from "./_sqlite_begin.ts";
import { quoteIdent, rowText, type TableDef } from "./_sqlite_table.ts";
import {
  MULTI_ROWS,
  type MultiInsert,
  prepareInserts,
  runLength,
  runMulti,
  storingOrder,
  type TableInserts,
} from "./_sqlite_multi.ts";
import type { SqliteWal } from "./_sqlite_wal.ts";
import type { SqliteRows } from "./sqlite.ts";

/** What {@linkcode SqliteWriter} needs. */
export interface SqliteWriterOptions {
  /** The database's path, for messages. */
  database: string;
  /** The dead-letter table (it exists). */
  deadLetter: string;
  /** Create tables `STRICT`. */
  strict: boolean;
  /** How long BEGIN waits for another writer. */
  busyTimeoutMs: number;
  /** Longest transaction before it commits and yields. */
  maxTxMs: number;
  /** A table's definition by name; throws a `RowError` for a name it refuses. */
  defFor: (name: string) => TableDef;
  /** The WAL glue, told before each BEGIN and after each COMMIT. */
  wal: SqliteWal;
  /** Counters. */
  stats?: ComponentStats | undefined;
  /** Told about dead letters and created tables. */
  log?: Logger | undefined;
}

/**
 * Writes {@linkcode SqliteRows} into an open connection.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { SqliteWal } from "./_sqlite_wal.ts";
 * import { SqliteWriter } from "./_sqlite_writer.ts";
 * import { openSchema } from "./_sqlite_schema.ts";
 * const d = new DatabaseSync(":memory:");
 * const def = { name: "t", columns: [["a", "TEXT"]] as Array<[string, string]>, values: [], indexes: [], dedup: false, sql: [] };
 * openSchema(d, { database: ":memory:", deadLetter: "dead", tables: [def], strict: true });
 * const wal = new SqliteWal({ database: ":memory:", journalMode: "MEMORY", synchronous: "OFF", checkpoint: "inline", walCheckpointMb: 8 });
 * const w = new SqliteWriter(d, [def], { database: ":memory:", deadLetter: "dead", strict: true, busyTimeoutMs: 100, maxTxMs: 100, defFor: () => def, wal });
 * await w.write({ tables: ["t"], args: [["x"]], ids: [null], errors: [null], texts: [null] });
 * d.close();
 * ```
 */
export class SqliteWriter {
  readonly #d: DatabaseSync;
  readonly #o: SqliteWriterOptions;
  readonly #dead: StatementSync;
  #tables = new Map<string, TableInserts>();
  // Tables that failed their check in this batch: checked again next batch, since someone may fix them.
  #refused = new Map<string, string>();

  /**
   * Prepares the INSERTs of the tables already made ready, and the dead-letter one.
   *
   * @param d The open connection, its schema ready.
   * @param ready Tables that exist already (all of them before any INSERT is prepared: triggers may name each other).
   * @param options Names, limits, table lookup, WAL glue, counters.
   */
  constructor(d: DatabaseSync, ready: readonly TableDef[], options: SqliteWriterOptions) {
    this.#d = d;
    this.#o = options;
    for (const def of ready) this.#tables.set(def.name, prepareInserts(d, def));
    this.#dead = d.prepare(
      `INSERT INTO ${quoteIdent(options.deadLetter)} (ts, table_name, event_id, error, event) ` +
        `VALUES (?, ?, ?, ?, ?) ON CONFLICT (table_name, event_id) DO NOTHING`,
    );
  }

  /**
   * Stores the rows; resolves after the last COMMIT.
   *
   * @param rows Rendered rows.
   * @throws {Error} When the database fails the batch (the engine retries it).
   */
  async write(rows: SqliteRows): Promise<void> {
    const d = this.#d;
    const o = this.#o;
    const n = rows.tables.length;
    if (n === 0) return;
    this.#refused = new Map();
    const total = { inserted: 0, duplicates: 0, deadLettered: 0 };
    // Grouped by table, so that a batch mixing tables still stores runs of 32 rows per INSERT.
    const order = storingOrder(rows.tables);
    let i = 0;
    try {
      while (i < n) {
        const caughtUp = o.wal.beforeTransaction(d);
        if (caughtUp) await caughtUp;
        // BEGIN without an await when the lock is free: nothing else on this thread may run
        // between BEGIN and COMMIT (another sink's BEGIN would find the file locked).
        const busy = beginImmediate(d, o.busyTimeoutMs, () => o.stats?.add("busy_retries"));
        if (busy) await busy;
        const chunk = { inserted: 0, duplicates: 0, deadLettered: 0 };
        const started = performance.now();
        let lookAt = i + 256;
        while (i < n) {
          const r = order[i] as number;
          const name = rows.tables[r] as string | null;
          if (rows.errors[r] === null && name !== null) {
            const ins = this.#insertsOr(name);
            const run = typeof ins === "string"
              ? 1
              : runLength(ins, name, rows.tables, rows.errors, order, i);
            if (
              run === MULTI_ROWS &&
              runMulti((ins as TableInserts).multi as MultiInsert, rows.args, order, i, isRowError)
            ) {
              chunk.inserted += MULTI_ROWS;
              i += MULTI_ROWS;
            } else {
              // A run too short for one statement, or one it did not store whole: row by row.
              for (const end = i + run; i < end; i++) {
                this.#one(rows, order[i] as number, ins, chunk);
              }
            }
          } else this.#one(rows, order[i++] as number, undefined, chunk);
          if (i >= lookAt) {
            if (performance.now() - started > o.maxTxMs) break;
            lookAt = i + 256;
          }
        }
        d.exec("COMMIT");
        o.wal.afterCommit();
        total.inserted += chunk.inserted;
        total.duplicates += chunk.duplicates;
        total.deadLettered += chunk.deadLettered;
        // Let timers and sockets run between the transactions of a long batch.
        if (i < n) await sleep(0);
      }
    } catch (err) {
      try {
        if (d.isTransaction) d.exec("ROLLBACK");
      } catch {
        // The rollback failing too leaves SQLite to roll back on the next BEGIN.
      }
      // A table may have been created in the rolled-back transaction, or dropped under us.
      this.#tables = new Map();
      throw batchError(err, o.database);
    } finally {
      const stats = o.stats;
      if (stats) {
        if (total.inserted) stats.add("inserted", total.inserted);
        if (total.duplicates) stats.add("duplicates", total.duplicates);
        if (total.deadLettered) {
          stats.add("dead_lettered", total.deadLettered);
          stats.errors += total.deadLettered;
        }
      }
    }
    if (total.deadLettered) {
      o.log?.warn(
        `${total.deadLettered} row(s) went to the dead-letter table "${o.deadLetter}"`,
      );
    }
  }

  /** Stores row `i` alone (or dead-letters it), counting into `chunk`. */
  #one(
    rows: SqliteRows,
    i: number,
    known: TableInserts | string | undefined,
    chunk: { inserted: number; duplicates: number; deadLettered: number },
  ): void {
    const name = rows.tables[i] as string | null;
    let error = rows.errors[i] as string | null;
    if (error === null) {
      try {
        const ins = known ?? this.#insertsOr(name as string);
        if (typeof ins === "string") throw new RowError(ins);
        if (ins.one.run(...(rows.args[i] as never[])).changes === 0) chunk.duplicates++;
        else chunk.inserted++;
      } catch (err) {
        if (!isRowError(err)) throw err;
        error = errorMessage(err);
      }
    }
    if (error !== null) {
      const row = this.#dead.run(
        new Date().toISOString(),
        name,
        rows.ids[i] ?? null,
        error,
        rows.texts[i] ?? rowText(name, rows.args[i] as unknown[], this.#o.defFor),
      );
      if (row.changes) chunk.deadLettered++;
      else chunk.duplicates++;
    }
  }

  /** A table's INSERTs, or why its rows cannot be stored (a table error). */
  #insertsOr(name: string): TableInserts | string {
    try {
      return this.#tableFor(name);
    } catch (err) {
      if (err instanceof RowError) return err.message;
      throw err;
    }
  }

  /** A table's INSERTs, making the table ready (created or upgraded) on first use. */
  #tableFor(name: string): TableInserts {
    let stmt = this.#tables.get(name);
    if (stmt) return stmt;
    const known = this.#refused.get(name);
    if (known !== undefined) throw new RowError(known);
    try {
      const def = this.#o.defFor(name);
      ensureTable(this.#d, def, this.#o.strict, this.#o.log);
      stmt = prepareInserts(this.#d, def);
    } catch (err) {
      // A table that cannot be made ready (a column SQLite will not add, a UNIQUE index its
      // rows break) fails its rows; a full disk or a lock fails the batch.
      if (!isTableError(err)) throw err;
      const message = err instanceof RowError
        ? err.message
        : `table "${name.slice(0, 100)}" cannot take rows: ${errorMessage(err)}`;
      this.#refused.set(name, message);
      throw new RowError(message);
    }
    this.#tables.set(name, stmt);
    return stmt;
  }
}
