/**
 * Stores events in SQLite tables through the built-in `node:sqlite`: one
 * transaction per batch, deduplicated by event id, bad rows dead-lettered.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { LogEvent } from "../core/event.ts";
import { compileTemplate, type Template } from "../core/template.ts";
import type { RowSink, SinkContext } from "../core/types.ts";
import { errorMessage, numberOption } from "../core/options.ts";
import { DEFAULT_QUEUE_SIZE } from "../core/sink_queue.ts";
import { releaseDeadCompanions } from "./_sqlite_companion.ts";
import { isRowError, RowError } from "./_sqlite_errors.ts";
import {
  checkIdent,
  DEFAULT_TABLE,
  eventText,
  IDENT,
  resolveTable,
  type SqliteIndex,
  type SqliteSchema,
  type SqliteTable,
  type SqliteValue,
  type TableDef,
} from "./_sqlite_table.ts";
import { META_TABLE, openSchema } from "./_sqlite_schema.ts";
import { SqliteWal } from "./_sqlite_wal.ts";
import { SqliteWriter } from "./_sqlite_writer.ts";

export type { SqliteIndex, SqliteSchema, SqliteTable, SqliteValue } from "./_sqlite_table.ts";

/** Options for {@linkcode sqliteSink}. */
export interface SqliteSinkOptions {
  /** The database file (created when missing), or `":memory:"`. */
  database: string;
  /**
   * The table each event goes to. A template (`"events_${YEAR}${MONTH}"`)
   * routes one sink into several tables; a rendered name must match
   * `[A-Za-z_][A-Za-z0-9_]*`, or the row is dead-lettered. @default {"events"}, or the
   * schema's only table
   */
  table?: Template;
  /**
   * Columns of the table(s), as in {@linkcode SqliteTable.columns}. Leave
   * out (with `values`) for a generic table: `id`, `timestamp` (ISO 8601,
   * UTC), `host`, `program`, `severity` (0–7), `message`, `fields` (JSON).
   */
  columns?: Readonly<Record<string, string>>;
  /** Column values, as in {@linkcode SqliteTable.values}. */
  values?: Readonly<Record<string, SqliteValue>>;
  /** Indexes, as in {@linkcode SqliteTable.indexes}. */
  indexes?: ReadonlyArray<string | readonly string[] | SqliteIndex>;
  /**
   * Several tables with their own columns (instead of `columns`/`values`):
   * all are created at open; `table` picks one per event, and a name not in
   * the schema is dead-lettered.
   */
  schema?: SqliteSchema;
  /**
   * Store each event id once: an `id TEXT` column with a UNIQUE index,
   * and inserts that skip an id already stored, so a replayed batch is
   * stored once. Events without an id store NULL and are never skipped.
   * @default {true}
   */
  dedup?: boolean;
  /**
   * Where rows that fail (a constraint, a type, a bad table name) go, with
   * the error and the event as JSON. @default {"sluice_dead_letter"}
   */
  deadLetterTable?: string;
  /** Create tables `STRICT`, so a value of the wrong type is refused (and dead-lettered) rather than stored. @default {true} */
  strict?: boolean;
  /** A rendered template equal to this text is stored as NULL (syslog-ng's `null()`); `null` stores text as it is. @default {""} */
  nullIf?: string | null;
  /** How long a write waits for another writer's lock before the batch is retried later. @default {5000} */
  busyTimeoutMs?: number;
  /** Longest time one transaction runs before it commits and yields to the event loop (the batch then continues in the next one), so a big batch never stalls sockets and timers for long. @default {100} */
  maxTransactionMs?: number;
  /** SQLite journal mode. WAL lets readers query while the sink writes. @default {"WAL"} */
  journalMode?: "WAL" | "DELETE" | "TRUNCATE" | "PERSIST" | "MEMORY" | "OFF";
  /**
   * `NORMAL` (with WAL) survives a crash of the process; `FULL` also a
   * power loss, at the cost of an fsync per commit. @default {"NORMAL"}
   */
  synchronous?: "OFF" | "NORMAL" | "FULL" | "EXTRA";
  /**
   * The WAL size in MiB at which it is copied back into the database (a
   * checkpoint; SQLite's `wal_autocheckpoint`, here in MiB rather than
   * pages). With `checkpoint: "inline"`, the commit that crosses it waits
   * for the disk to flush the copy, so a smaller WAL keeps the slowest
   * commit short; with `"background"`, another thread copies each such
   * amount while commits go on. The sink also flushes the WAL in the
   * background after each commit (one flush at a time, off this thread), so
   * the checkpoint's own flush of the WAL finds little left. Inline, on the
   * machine the benchmarks run on: the slowest commit of a bulk load took
   * 41–50 ms, against 98–116 ms with SQLite's default (16 MiB at 16 KiB
   * pages), at the same rate. Only used with `journalMode: "WAL"`; the
   * background flush only with `synchronous: "NORMAL"`.
   * @default {8}
   */
  walCheckpointMb?: number;
  /**
   * Where the WAL is copied back into the database: `"background"` on a
   * thread of the sink's own (started at the first checkpoint), so commits
   * never wait for the disk's flush of the database file, with the WAL kept
   * to about 8 × `walCheckpointMb` during a burst; `"inline"` in the commit
   * that crosses `walCheckpointMb`, as SQLite does by default (one thread
   * less, for the smallest memory). In a bulk load of the SIEM alerts table
   * on the benchmark machine, the flush was about a third of the writer's
   * time inline, and the load ran ~1.25× as fast with it in the background
   * (the sink's thread went from 34% to 9% of its time in COMMIT in the
   * central example). Only with `journalMode: "WAL"`, `synchronous` NORMAL
   * or FULL, and a file database; should the thread or the WAL-index file
   * it reads fail, the sink warns and goes back to inline.
   * @default {"background"}
   */
  checkpoint?: "background" | "inline";
  /**
   * Page cache size in MiB. It counts in the process's resident memory; the
   * SIEM tables' indexes grow at their right edge (time, id), so a small
   * cache keeps inserts fast. @default {16}
   */
  cacheSizeMb?: number;
  /**
   * Page size in bytes of a database the sink creates (an existing file
   * keeps its own): larger pages mean fewer writes per commit, about 1.2–1.5×
   * the inserts per second of SQLite's 4096 for the SIEM tables. A power of two
   * from 512 to 65536. @default {16384}
   */
  pageSize?: number;
  /** Most events per batch (one transaction). @default {2000} */
  maxBatch?: number;
  /** Events queued before sources are held back (two batches). @default {DEFAULT_QUEUE_SIZE} (4000) */
  queueSize?: number;
  /** A name for stats. */
  name?: string;
}

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
  if (typeof options?.database !== "string" || options.database === "") {
    throw new TypeError(`${where}: "database" must be a file path or ":memory:"`);
  }
  const strict = options.strict ?? true;
  const dedup = options.dedup ?? true;
  const nullIf = options.nullIf === undefined ? "" : options.nullIf;
  const deadLetter = options.deadLetterTable ?? "sluice_dead_letter";
  checkIdent(where, "deadLetterTable", deadLetter);
  const busyTimeoutMs = numberOption(where, "busyTimeoutMs", options.busyTimeoutMs, 5000, 0);
  const maxTxMs = numberOption(where, "maxTransactionMs", options.maxTransactionMs, 100, 1);
  const cacheSizeMb = numberOption(where, "cacheSizeMb", options.cacheSizeMb, 16, 0);
  const walCheckpointMb = numberOption(
    where,
    "walCheckpointMb",
    options.walCheckpointMb,
    8,
    0.0625,
  );
  const pageSize = numberOption(where, "pageSize", options.pageSize, 16_384, 512);
  if (pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new RangeError(
      `${where}: "pageSize" must be a power of two from 512 to 65536, got ${pageSize}`,
    );
  }
  const maxBatch = numberOption(where, "maxBatch", options.maxBatch, 2000, 1);
  const queueSize = numberOption(where, "queueSize", options.queueSize, DEFAULT_QUEUE_SIZE, 1);
  const journalMode = options.journalMode ?? "WAL";
  const synchronous = options.synchronous ?? "NORMAL";
  const checkpoint = options.checkpoint ?? "background";
  if (checkpoint !== "background" && checkpoint !== "inline") {
    throw new TypeError(
      `${where}: "checkpoint" must be "background" or "inline", got "${checkpoint}"`,
    );
  }
  if (!["WAL", "DELETE", "TRUNCATE", "PERSIST", "MEMORY", "OFF"].includes(journalMode)) {
    throw new TypeError(
      `${where}: "journalMode" must be WAL, DELETE, TRUNCATE, PERSIST, MEMORY or OFF, got "${journalMode}"`,
    );
  }
  if (!["OFF", "NORMAL", "FULL", "EXTRA"].includes(synchronous)) {
    throw new TypeError(
      `${where}: "synchronous" must be OFF, NORMAL, FULL or EXTRA, got "${synchronous}"`,
    );
  }

  const schemaVersion = _schemaVersion(where, options.schema);
  // Resolve the table definitions once.
  const defs = new Map<string, TableDef>();
  let shared: ((name: string) => TableDef) | undefined;
  if (options.schema) {
    if (options.columns || options.values || options.indexes) {
      throw new TypeError(
        `${where}: give either "schema" or "columns"/"values"/"indexes", not both`,
      );
    }
    for (const [name, table] of Object.entries(options.schema.tables)) {
      checkIdent(where, `schema.tables.${name}`, name);
      defs.set(
        name,
        resolveTable(`${where}: schema.tables.${name}`, name, table, dedup, strict, nullIf),
      );
    }
    if (defs.size === 0) throw new TypeError(`${where}: "schema" has no tables`);
  } else {
    const table: SqliteTable = options.columns
      ? {
        columns: options.columns,
        ...(options.values ? { values: options.values } : {}),
        ...(options.indexes ? { indexes: options.indexes } : {}),
      }
      : options.values
      ? (() => {
        throw new TypeError(`${where}: "values" needs "columns"`);
      })()
      : { ...DEFAULT_TABLE, ...(options.indexes ? { indexes: options.indexes } : {}) };
    const check = resolveTable(where, "t", table, dedup, strict, nullIf);
    shared = (name) => ({ ...check, name });
  }
  let tableOption = options.table;
  if (tableOption === undefined) {
    if (defs.size > 1) {
      throw new TypeError(`${where}: "table" is required with a schema of several tables`);
    }
    tableOption = defs.size === 1 ? [...defs.keys()][0] as string : "events";
  }
  const fixedTable = typeof tableOption === "string" && !tableOption.includes("$")
    ? tableOption
    : undefined;
  if (fixedTable !== undefined) {
    checkIdent(where, "table", fixedTable);
    if (defs.size && !defs.has(fixedTable)) {
      throw new TypeError(`${where}: "table" "${fixedTable}" is not in the schema`);
    }
  }
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

/** A named schema's version, checked at construction. */
function _schemaVersion(
  where: string,
  schema: SqliteSchema | undefined,
): { name: string; version: number } | undefined {
  if (!schema || (schema.version === undefined && schema.name === undefined)) return undefined;
  const { name, version = 0 } = schema;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`${where}: "schema.name" must be a non-empty string with "schema.version"`);
  }
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) {
    throw new RangeError(
      `${where}: "schema.version" must be a whole number from 0, got ${String(version)}`,
    );
  }
  return { name, version };
}
