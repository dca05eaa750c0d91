/**
 * Stores events in PostgreSQL tables made from the same table specs as the
 * SQLite sink (siem/schema.ts): each batch is COPYed straight into its
 * tables, or (once an id was found stored) into temporary staging tables
 * moved with `INSERT … SELECT … ON CONFLICT DO NOTHING`, in one pipelined
 * transaction, acknowledged after COMMIT.
 *
 * @module
 */

import postgres from "../core/_deps/postgres.ts";
import { isPostgresConnectionError, onPostgresWriteCrash } from "../core/_pg_crash_guard.ts";
import type { LogEvent } from "../core/event.ts";
import type { Template } from "../core/template.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { numberOption } from "../core/options.ts";
import { checkIdent, type SqliteSchema } from "./_sqlite_table.ts";
import { siemSchema, siemTableOf } from "../siem/schema.ts";
import { PG_VMS_TRIGGER } from "./_sql_siem.ts";
import {
  maskUrl,
  prepareSqlBatch,
  resolveSqlSchema,
  safeMessage,
  type SqlBatch,
  withDeadline,
} from "./_sql_common.ts";
import { copyBytes, isPgRowError, pgIdent } from "./_sql_pg_copy.ts";
import { pgEnsureSchema } from "./_sql_pg_schema.ts";
import { pgById, type PgMove, pgMoveSql, pgSingleSql } from "./_sql_pg_move.ts";
import { PgLostWatch, type PgStaged, pgStoreBatch } from "./_sql_pg_batch.ts";

export type { SqliteIndex, SqliteSchema, SqliteTable, SqliteValue } from "./_sqlite_table.ts";
export type { Sink, SinkContext } from "../core/types.ts";
export type { LogEvent } from "../core/event.ts";
export type { Template, TemplateFn } from "../core/template.ts";
/** Options for {@linkcode postgresSink}. */
export interface PostgresSinkOptions {
  /** The server: `postgres://user[:password]@host[:port]/database`. Logged with its password masked. */
  url: string;
  /** The password, when it is not in the URL (from the environment or a file). */
  password?: string;
  /** The tables (the SQLite sink's specs: `siemSchema`); created or upgraded at open. */
  schema: SqliteSchema;
  /** The table of each event: a name, a template or a function. @default {the schema's only table} */
  table?: Template;
  /** Where rows the server refuses go, with the error and the event as JSON. @default {"sluice_dead_letter"} */
  deadLetterTable?: string;
  /** Seconds to wait for a connection before the write fails (and is retried). @default {10} */
  connectTimeoutS?: number;
  /**
   * Connections, and so batches stored at once: with 2, the next batch is
   * rendered and sent while the server stores the previous one (batches may
   * then commit out of order; ids keep that harmless). @default {2}
   */
  connections?: number;
  /**
   * Longest a batch's transaction may take; past it the connections are
   * dropped (a half-open socket never answers) and the write fails, to be
   * retried. @default {120000}
   */
  writeTimeoutMs?: number;
  /** Most events per batch (one transaction). @default {5000} */
  maxBatch?: number;
  /** Events queued before sources are held back. @default {10000} */
  queueSize?: number;
  /** Further statements run at open, after the tables exist (triggers, views): make them idempotent. */
  sql?: readonly string[];
  /** A name for stats. */
  name?: string;
}

// Once a connection to the server was lost, how long any other batch in flight may still take.
const _LOST_GRACE_MS = 5000;
// After a direct COPY was refused, how long batches go through staging before trying it again.
const _STAGING_AFTER_REFUSAL_MS = 60_000;
// A B-tree key holds ~2.7 KB in Postgres; four indexed text columns share one key.
const _INDEXED_TEXT_BYTES = 600;

/**
 * A sink that writes into PostgreSQL through `npm:postgres`. Tables,
 * indexes and missing columns are created at open under an advisory lock
 * (several centrals may open at once), with the schema's version in
 * `sluice_meta` (a database written by a newer schema is refused). Each
 * batch, in one transaction with its statements pipelined, rows in id order
 * (which keeps two writers of overlapping batches from deadlocking): COPY
 * (text format) straight into each table; when that is refused (an id is
 * stored already: a replay, a second central) the batch runs again, and
 * the next minute's batches run, through one temporary all-text staging
 * table per table and `INSERT INTO t SELECT … ON CONFLICT DO NOTHING`.
 * `write()` resolves after COMMIT. A lost
 * connection or a restarting server rejects the write and the engine
 * retries it (the id makes a replay store nothing twice). A row the server
 * refuses (a bad type, a constraint) makes the batch run again row by row
 * under savepoints, that row going to the dead-letter table. NUL bytes,
 * which Postgres text cannot hold, are stripped, and indexed text beyond
 * 600 bytes is cut (the full text stays in `raw`).
 *
 * Counters: `inserted`, `duplicates`, `dead_lettered`, `nul_stripped`,
 * `truncated`, `row_fallbacks`, `direct_refused`.
 *
 * @param options Server, schema, table.
 * @returns The sink.
 * @throws {TypeError} When the URL, a table or a column is invalid.
 *
 * @example
 * ```ts
 * import { postgresSink } from "./postgres.ts";
 * import { siemSchema } from "../siem/schema.ts";
 * const sink = postgresSink({ url: "postgres://sluice@127.0.0.1/siem", schema: siemSchema, table: "alerts" });
 * ```
 */
export function postgresSink(options: PostgresSinkOptions): Sink {
  const where = "postgresSink";
  if (typeof options?.url !== "string" || !/^postgres(ql)?:\/\//i.test(options.url)) {
    throw new TypeError(`${where}: "url" must be a postgres:// URL`);
  }
  const schema = resolveSqlSchema(where, options.schema, options.table);
  const deadLetter = options.deadLetterTable ?? "sluice_dead_letter";
  checkIdent(where, "deadLetterTable", deadLetter);
  const connectTimeout = numberOption(where, "connectTimeoutS", options.connectTimeoutS, 10, 1);
  const connections = numberOption(where, "connections", options.connections, 2, 1);
  const writeTimeoutMs = numberOption(
    where,
    "writeTimeoutMs",
    options.writeTimeoutMs,
    120_000,
    1,
  );
  const maxBatch = numberOption(where, "maxBatch", options.maxBatch, 5000, 1);
  const queueSize = numberOption(where, "queueSize", options.queueSize, 10_000, 1);
  const secrets = [options.password, _urlPassword(options.url)];
  const shown = maskUrl(options.url);
  const fail = (what: string, err: unknown) =>
    new Error(`${where}: ${what} (${shown}): ${safeMessage(err, secrets)}`, { cause: err });

  let sql: postgres.Sql | undefined;
  let ctx: SinkContext | undefined;
  let unguard: (() => void) | undefined;
  const watch = new PgLostWatch(_LOST_GRACE_MS);
  // Until then, batches go through staging (a direct COPY was refused: replays, a second central).
  let stagingUntil = 0;
  // The staging table's column list and the INSERT … SELECT casts, per table.
  const moves = new Map<string, PgMove>();
  const idColumn = new Map<string, number>();
  for (const def of schema.defs.values()) {
    moves.set(def.name, pgMoveSql(def));
    idColumn.set(def.name, def.dedup ? def.columns.findIndex(([c]) => c === "id") : -1);
  }
  const single = new Map<string, string>();

  function pool(): postgres.Sql {
    return postgres(options.url, {
      max: connections,
      ...(options.password !== undefined ? { password: options.password } : {}),
      connect_timeout: connectTimeout,
      idle_timeout: 300,
      onnotice: () => {},
      connection: { application_name: "sluice" },
    });
  }

  /**
   * New connections for the next batch: the client would reconnect a dropped connection in
   * place, and one that closed with a write queued never sends again (core/_pg_crash_guard.ts).
   * Every other batch in flight then gets a few seconds to settle (its server is likely gone).
   */
  function lost(s: postgres.Sql | undefined): void {
    watch.lost();
    if (!s || sql !== s) return;
    sql = pool();
    s.end({ timeout: 0 }).catch(() => {});
  }

  /**
   * A batch's work within the write deadline, and within a few seconds once a connection to the
   * server was lost; past either, the pool's connections are dropped and made anew.
   */
  function guarded<T>(s: postgres.Sql, work: Promise<T>): Promise<T> {
    const drop = () => {
      if (sql === s) sql = pool();
      s.end({ timeout: 0 }).catch(() => {});
    };
    return watch.run(withDeadline(work, writeTimeoutMs, "a batch", drop), drop);
  }

  /** Each table's rows in id order and COPY format, rendered before the transaction begins. */
  function stage(b: SqlBatch): PgStaged[] {
    const out: PgStaged[] = [];
    for (const name of [...b.byTable.keys()].sort()) {
      const rows = b.byTable.get(name) as unknown[][];
      // In id order, which INSERT … SELECT keeps (a fresh temp heap scans in the order written):
      // two writers of overlapping batches then take their key locks in one order, no deadlock.
      const k = idColumn.get(name) ?? -1;
      if (k >= 0) rows.sort((x, y) => pgById(x[k], y[k]));
      out.push({
        table: name,
        move: moves.get(name) as PgMove,
        data: copyBytes(rows),
        rows: rows.length,
      });
    }
    return out;
  }

  /**
   * Stores a batch: by a COPY straight into its tables while no batch has met a stored id lately
   * (the server then does the work of a plain `\copy`, ~1.35x less than the move), else, or when
   * that COPY is refused, through staging and the move (which skips stored ids).
   */
  async function store(s: postgres.Sql, b: SqlBatch, c: SinkContext): Promise<number> {
    const staged = stage(b);
    const dead = deadLetters(b);
    if (Date.now() >= stagingUntil) {
      try {
        return await guarded(s, pgStoreBatch(s, staged, dead, true));
      } catch (err) {
        // Only a statement the server refused (a SQLSTATE: a stored id, a bad value) is redone
        // through staging; a lost connection or a deadline fails the write, to be retried.
        const code = (err as { code?: unknown })?.code;
        if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) throw err;
        stagingUntil = Date.now() + _STAGING_AFTER_REFUSAL_MS;
        c.stats.add("direct_refused", 1);
      }
    }
    return await guarded(s, pgStoreBatch(s, staged, dead, false));
  }

  /** The dead-letter INSERTs of a batch's rejected rows. */
  function deadLetters(b: SqlBatch): [string, unknown[]][] {
    return b.rejected.map((r) => [
      `INSERT INTO ${
        pgIdent(deadLetter)
      } (table_name, event_id, error, event) VALUES ($1, $2, $3, $4)`,
      [r.table, r.id, r.error, r.event.replaceAll("\0", "")],
    ]);
  }

  async function deadLetterAll(tx: postgres.TransactionSql, b: SqlBatch): Promise<void> {
    for (const [statement, params] of deadLetters(b)) {
      await tx.unsafe(statement, params as postgres.ParameterOrJSON<never>[]);
    }
  }

  async function rowByRow(tx: postgres.TransactionSql, b: SqlBatch): Promise<number> {
    let inserted = 0;
    for (const name of [...b.byTable.keys()].sort()) {
      const def = schema.defFor(name);
      let statement = single.get(name);
      if (!statement) single.set(name, statement = pgSingleSql(def));
      for (const row of b.byTable.get(name) as unknown[][]) {
        const params = row.map(_param) as postgres.ParameterOrJSON<never>[];
        try {
          const r = await tx.savepoint((sp) => sp.unsafe(statement as string, params));
          inserted += r.count;
        } catch (err) {
          if (!isPgRowError(err)) throw err;
          const id = def.dedup ? (row[0] as string | null) : null;
          b.rejected.push({
            table: name,
            id,
            error: safeMessage(err, secrets),
            event: JSON.stringify({ table: name, values: row.map(_param) }),
          });
        }
      }
    }
    await deadLetterAll(tx, b);
    return inserted;
  }

  return {
    kind: "postgres",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    queueSize,
    concurrency: connections,
    async open(c: SinkContext): Promise<void> {
      ctx = c;
      const s = pool();
      try {
        await pgEnsureSchema(s, schema, deadLetter, options.sql ?? [], where, shown);
      } catch (err) {
        await s.end({ timeout: 1 }).catch(() => {});
        if (err instanceof Error && err.message.startsWith(`${where}:`)) throw err;
        throw fail("cannot open", err);
      }
      sql = s;
      // A client crash on a dropped connection (see core/_pg_crash_guard.ts) is survived: the
      // batch in flight fails and is retried, on connections made anew.
      unguard = onPostgresWriteCrash((err) => {
        c.stats.add("client_crashes_caught", 1);
        c.log.warn(`the Postgres client failed on a dropped connection; reconnecting`, {
          error: safeMessage(err, secrets),
        });
        lost(sql);
      });
      c.log.info(`connected to ${shown}`);
    },
    async write(batch: readonly LogEvent[]): Promise<void> {
      if (batch.length === 0) return;
      const s = sql;
      if (!s || !ctx) throw new Error(`${where}: write() before open()`);
      const b = prepareSqlBatch(schema, batch, { indexedTextBytes: _INDEXED_TEXT_BYTES });
      const total = batch.length - b.rejected.length;
      let inserted: number;
      try {
        inserted = await store(s, b, ctx);
      } catch (err) {
        if (isPostgresConnectionError(err)) lost(s);
        if (!isPgRowError(err)) throw fail("write failed", err);
        ctx.stats.add("row_fallbacks", 1);
        const before = b.rejected.length;
        try {
          inserted = await guarded(s, s.begin((tx) => rowByRow(tx, b)) as Promise<number>);
        } catch (err2) {
          if (isPostgresConnectionError(err2)) lost(s);
          b.rejected.length = before;
          throw fail("write failed", err2);
        }
      }
      const { stats } = ctx;
      if (inserted) stats.add("inserted", inserted);
      const stored = total - (b.rejected.length - (batch.length - total));
      if (stored > inserted) stats.add("duplicates", stored - inserted);
      if (b.rejected.length) {
        stats.add("dead_lettered", b.rejected.length);
        stats.errors += b.rejected.length;
        ctx.log.warn(`${b.rejected.length} row(s) dead-lettered into ${deadLetter}`, {
          first: b.rejected[0]?.error ?? "",
        });
      }
      if (b.nulStripped) stats.add("nul_stripped", b.nulStripped);
      if (b.truncated) stats.add("truncated", b.truncated);
    },
    async close(): Promise<void> {
      const s = sql;
      sql = undefined;
      await s?.end({ timeout: 5 }).catch(() => {});
      unguard?.();
      unguard = undefined;
    },
  };
}

/** Options for {@linkcode siemPostgresSink}: those of {@linkcode postgresSink} but the table layout. */
export interface SiemPostgresSinkOptions extends Omit<PostgresSinkOptions, "schema" | "table"> {
  /** The field holding the category (set by `categorize()`). @default {"category"} */
  categoryField?: string;
}

/**
 * A {@linkcode postgresSink} with the `siemSchema` tables that stores each
 * event in the table of its category, routed as `siemSqliteSink` routes
 * (`siemTableOf`), with the heartbeats → vms trigger in PL/pgSQL.
 *
 * @param options Server and the other {@linkcode postgresSink} options.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { siemPostgresSink } from "./postgres.ts";
 * const sink = siemPostgresSink({ url: "postgres://sluice@127.0.0.1/siem" });
 * ```
 */
export function siemPostgresSink(options: SiemPostgresSinkOptions): Sink {
  const { categoryField = "category", sql = [], ...rest } = options;
  return postgresSink({
    ...rest,
    schema: siemSchema,
    table: siemTableOf(categoryField),
    sql: [...PG_VMS_TRIGGER, ...sql],
  });
}

function _urlPassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

function _param(v: unknown): unknown {
  return v === undefined ? null : v;
}
