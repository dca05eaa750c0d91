/**
 * Stores events in SQLite tables through the built-in `node:sqlite`: one
 * transaction per batch, deduplicated by event id, bad rows dead-lettered.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { LogEvent } from "../core/event.ts";
import { compileTemplate } from "../core/template.ts";
import type { RowSink, SinkContext } from "../core/types.ts";
import { errorMessage } from "../core/options.ts";
import { releaseDeadCompanions } from "./_sqlite_companion.ts";
import { isRowError, RowError } from "./_sqlite_errors.ts";
import { eventText, IDENT, type TableDef } from "./_sqlite_table.ts";
import { META_TABLE, openSchema } from "./_sqlite_schema.ts";
import { SqliteWal } from "./_sqlite_wal.ts";
import { SqliteWriter } from "./_sqlite_writer.ts";
import { sqliteSettings, type SqliteSinkOptions } from "./_sqlite_options.ts";

export type { SqliteIndex, SqliteSchema, SqliteTable, SqliteValue } from "./_sqlite_table.ts";
export type { SqliteSinkOptions } from "./_sqlite_options.ts";

/**
 * A sink that writes into SQLite. Its rows render apart from
 * being stored (a {@linkcode RowSink}), so the SQLite work can run on
 * another thread (see `workerSink`).
 */
export interface SqliteSink extends RowSink<SqliteRows> {
  /** The open database, for queries in tests and tools; throws before `open()`. */
  readonly db: DatabaseSync;
}

/**
 * A batch rendered into rows by {@linkcode SqliteSink.prepareRows}: plain
 * values only, so it crosses to a worker cheaply.
 */
export interface SqliteRows {
  /** Per row: its table, or `null` when the event could not be given one. */
  tables: Array<string | null>;
  /** Per row: the bound values in column order (empty when the row has an error). */
  args: unknown[][];
  /** Per row: the event id. */
  ids: Array<string | null>;
  /** Per row: why it cannot be stored (it is dead-lettered), or `null`. */
  errors: Array<string | null>;
  /** Per row with an error: the event as JSON, for the dead-letter table. */
  texts: Array<string | null>;
}

/**
 * Stores each batch in one SQLite transaction (several when one would run
 * longer than `maxTransactionMs`) and resolves after COMMIT. Creates
 * missing tables and indexes and upgrades an existing table in place: a
 * column it lacks is added (`ALTER TABLE … ADD COLUMN`, in a transaction,
 * once; nothing is ever dropped), and the versions are kept in
 * `sluice_meta`; a database written by a newer schema version
 * (`schema.version`) or storage format is refused at open. Values are always bound
 * parameters, never spliced into SQL. A row that fails goes to the
 * dead-letter table inside the same transaction and the rest is stored;
 * SQLITE_BUSY is waited out up to `busyTimeoutMs`, then the batch is
 * retried by the engine (deduplication makes that safe).
 *
 * Counters: `inserted`, `duplicates`, `dead_lettered`, `busy_retries`,
 * `wal_flushes` (background flushes of the WAL, see `walCheckpointMb`),
 * `checkpoints` (on the sink's checkpoint thread), `checkpoints_inline`
 * (the writer's own catch-ups that let the WAL start over) and
 * `checkpoint_waits` (catch-ups that first waited for the thread; see
 * `checkpoint`).
 *
 * @param options Database, table, columns and values, durability.
 * @returns The sink.
 * @throws {TypeError} When a column, index or value is missing or invalid.
 * @throws {RangeError} When a number option is out of range.
 *
 * @example Alerts with their own columns
 * ```ts
 * import { sqliteSink } from "./sqlite.ts";
 * const sink = sqliteSink({
 *   database: "siem.db",
 *   table: "alerts",
 *   columns: { timestamp: "TEXT", host: "TEXT", rule: "TEXT", raw: "TEXT" },
 *   values: { timestamp: "${ISODATE}", host: "${HOST}", rule: "${json.rule}", raw: "${MSG}" },
 *   indexes: ["timestamp", "host"],
 * });
 * ```
 */
export function sqliteSink(options: SqliteSinkOptions): SqliteSink {
  const where = "sqliteSink";
  const {
    strict,
    deadLetter,
    busyTimeoutMs,
    maxTxMs,
    cacheSizeMb,
    walCheckpointMb,
    pageSize,
    maxBatch,
    queueSize,
    journalMode,
    synchronous,
    checkpoint,
    schemaVersion,
    defs,
    shared,
    tableOption,
    fixedTable,
  } = sqliteSettings(options);
  const renderTable = compileTemplate(tableOption);

  let db: DatabaseSync | undefined;
  let writer: SqliteWriter | undefined;
  let wal: SqliteWal | undefined;

  function defFor(name: string): TableDef {
    if (
      !IDENT.test(name) || name.length > 128 || /^sqlite_/i.test(name) || name === META_TABLE
    ) {
      throw new RowError(`table name "${name.slice(0, 100)}" is not a valid identifier`);
    }
    if (shared) return shared(name);
    const def = defs.get(name);
    if (!def) throw new RowError(`table "${name}" is not in the schema`);
    return def;
  }

  const sink: SqliteSink = {
    kind: "sqlite",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    queueSize,
    get db(): DatabaseSync {
      if (!db) throw new Error(`${where}: the sink is not open`);
      return db;
    },
    open(ctx: SinkContext): Promise<void> {
      const { stats, log } = ctx;
      const d = new DatabaseSync(options.database);
      const w = new SqliteWal({
        database: options.database,
        journalMode,
        synchronous,
        checkpoint,
        walCheckpointMb,
      });
      try {
        // A short busy timeout covers brief contention (a checkpoint); longer waits are async, in begin().
        d.exec(`PRAGMA busy_timeout = ${Math.min(busyTimeoutMs, 100)}`);
        // Only takes effect on a new, empty file, and must come before WAL is switched on.
        d.exec(`PRAGMA page_size = ${pageSize}`);
        d.exec(`PRAGMA journal_mode = ${journalMode}`);
        d.exec(`PRAGMA synchronous = ${synchronous}`);
        d.exec(`PRAGMA cache_size = ${-Math.round(cacheSizeMb * 1024)}`);
        w.configure(d);
        // A schema's tables all exist before any INSERT is prepared: triggers may name each other.
        const eager = defs.size ? [...defs.values()] : fixedTable ? [defFor(fixedTable)] : [];
        try {
          // The versions, the dead-letter table and these tables (created or upgraded) in one
          // transaction, which may wait for another writer up to busyTimeoutMs.
          d.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
          openSchema(d, {
            database: options.database,
            deadLetter,
            tables: eager,
            strict,
            log,
            ...(schemaVersion ? { schema: schemaVersion } : {}),
          });
          d.exec(`PRAGMA busy_timeout = ${Math.min(busyTimeoutMs, 100)}`);
          writer = new SqliteWriter(d, eager, {
            database: options.database,
            deadLetter,
            strict,
            busyTimeoutMs,
            maxTxMs,
            defFor,
            wal: w,
            stats,
            log,
          });
        } catch (err) {
          throw err instanceof Error && err.message.startsWith(`${where}:`)
            ? err
            : new Error(`${where}: ${errorMessage(err)}`, { cause: err });
        }
      } catch (err) {
        writer = undefined;
        d.close();
        return Promise.reject(err);
      }
      db = d;
      wal = w;
      w.start(d, stats, log);
      return Promise.resolve();
    },
    prepareRows(batch: readonly LogEvent[]): SqliteRows {
      const n = batch.length;
      const rows: SqliteRows = {
        tables: new Array(n),
        args: new Array(n),
        ids: new Array(n),
        errors: new Array(n),
        texts: new Array(n),
      };
      for (let i = 0; i < n; i++) {
        const e = batch[i] as LogEvent;
        let name = fixedTable;
        rows.ids[i] = e.id ?? null;
        try {
          if (name === undefined) name = renderTable(e);
          const values = defFor(name).values;
          const args = new Array(values.length);
          for (let k = 0; k < values.length; k++) {
            args[k] = (values[k] as (e: LogEvent) => unknown)(e);
          }
          rows.tables[i] = name;
          rows.args[i] = args;
          rows.errors[i] = null;
          rows.texts[i] = null;
        } catch (err) {
          if (!isRowError(err)) throw err;
          rows.tables[i] = name ?? null;
          rows.args[i] = [];
          rows.errors[i] = errorMessage(err);
          rows.texts[i] = eventText(e);
        }
      }
      return rows;
    },
    writeRows(rows: SqliteRows): Promise<void> {
      if (!writer) return Promise.reject(new Error(`${where}: write() before open()`));
      return writer.write(rows);
    },
    write(batch: readonly LogEvent[]): Promise<void> {
      if (batch.length === 0) return Promise.resolve();
      if (!db) return Promise.reject(new Error(`${where}: write() before open()`));
      return sink.writeRows(sink.prepareRows(batch));
    },
    async close(): Promise<void> {
      await wal?.stop(db);
      wal = undefined;
      writer = undefined;
      const d = db;
      db = undefined;
      if (d) {
        try {
          d.exec("PRAGMA optimize");
        } catch {
          // Only a hint to the query planner.
        }
        d.close();
        // SQLite deletes its -wal and -shm when the last connection closes: only then are our
        // descriptors of them closed (a file still in use keeps its descriptor).
        releaseDeadCompanions();
      }
    },
  };
  return sink;
}
