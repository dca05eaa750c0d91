/**
 * The options of sinks/sqlite.ts and their checks: defaults applied, every
 * bad value refused with the option's name, the table definitions resolved
 * once.
 *
 * @module
 */

import { numberOption } from "../core/options.ts";
import { DEFAULT_QUEUE_SIZE } from "../core/sink_queue.ts";
import type { Template } from "../core/template.ts";
import {
  checkIdent,
  DEFAULT_TABLE,
  resolveTable,
  type SqliteIndex,
  type SqliteSchema,
  type SqliteTable,
  type SqliteValue,
  type TableDef,
} from "./_sqlite_table.ts";

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

/** {@linkcode SqliteSinkOptions} checked, defaults applied, tables resolved. */
export interface SqliteSettings {
  /** STRICT tables and type checks. */
  strict: boolean;
  /** Deduplicate by event id. */
  dedup: boolean;
  /** The dead-letter table. */
  deadLetter: string;
  /** Longest wait for the write lock, ms. */
  busyTimeoutMs: number;
  /** Longest transaction, ms. */
  maxTxMs: number;
  /** The page cache, MB. */
  cacheSizeMb: number;
  /** WAL size that triggers a checkpoint, MB. */
  walCheckpointMb: number;
  /** The page size of a new database. */
  pageSize: number;
  /** Events per batch. */
  maxBatch: number;
  /** Batches queued. */
  queueSize: number;
  /** PRAGMA journal_mode. */
  journalMode: string;
  /** PRAGMA synchronous. */
  synchronous: string;
  /** Where WAL checkpoints run. */
  checkpoint: "background" | "inline";
  /** A named schema's version. */
  schemaVersion: { name: string; version: number } | undefined;
  /** A schema's tables by name (empty without a schema). */
  defs: Map<string, TableDef>;
  /** Without a schema: the one table layout, for any name. */
  shared: ((name: string) => TableDef) | undefined;
  /** The table option, resolved (a name or a template). */
  tableOption: Template;
  /** The one table every event goes to, when `table` is a plain name. */
  fixedTable: string | undefined;
}

/**
 * Checks a SQLite sink's options and resolves its tables.
 *
 * @param options The options.
 * @returns The settings.
 * @throws {TypeError | RangeError} Naming the bad option.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sqliteSettings } from "./_sqlite_options.ts";
 * assert.equal(sqliteSettings({ database: ":memory:" }).pageSize, 16_384);
 * assert.throws(() => sqliteSettings({ database: ":memory:", pageSize: 1000 }), /pageSize/);
 * ```
 */
export function sqliteSettings(options: SqliteSinkOptions): SqliteSettings {
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
  return {
    strict,
    dedup,
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
  };
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
