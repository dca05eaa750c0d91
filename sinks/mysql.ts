/**
 * Stores events in MySQL or MariaDB tables made from the same table specs
 * as the SQLite sink (siem/schema.ts): each batch in multi-row prepared
 * INSERTs inside one transaction, acknowledged after COMMIT.
 *
 * @module
 */

import mysql from "../core/_deps/mysql2.ts";
import type { Connection } from "../core/_deps/mysql2.ts";
import type { LogEvent } from "../core/event.ts";
import type { Template } from "../core/template.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { numberOption } from "../core/options.ts";
import { checkVersion } from "../core/_state_version.ts";
import { checkIdent, type SqliteSchema, type TableDef } from "./_sqlite_table.ts";
import { siemSchema, siemTableOf } from "../siem/schema.ts";
import { MYSQL_VMS_TRIGGER } from "./_sql_siem.ts";
import {
  maskUrl,
  prepareSqlBatch,
  resolveSqlSchema,
  safeMessage,
  type SqlBatch,
  withDeadline,
} from "./_sql_common.ts";
import {
  isMysqlRowError,
  myDatetime,
  myIdent,
  myInsertSql,
  MYSQL_INDEXED_CHARS,
  myTableSql,
} from "./_sql_mysql.ts";

export type { SqliteIndex, SqliteSchema, SqliteTable, SqliteValue } from "./_sqlite_table.ts";
export type { Sink, SinkContext } from "../core/types.ts";
export type { LogEvent } from "../core/event.ts";
export type { Template, TemplateFn } from "../core/template.ts";
/** Options for {@linkcode mysqlSink}. */
export interface MysqlSinkOptions {
  /** The server: `mysql://user[:password]@host[:port]/database`. Logged with its password masked. */
  url: string;
  /** The password, when it is not in the URL (from the environment or a file). */
  password?: string;
  /** The tables (the SQLite sink's specs: `siemSchema`); created or upgraded at open. */
  schema: SqliteSchema;
  /** The table of each event: a name, a template or a function. @default {the schema's only table} */
  table?: Template;
  /** Where rows the server refuses go, with the error and the event as JSON. @default {"sluice_dead_letter"} */
  deadLetterTable?: string;
  /** Milliseconds to wait for a connection before the write fails (and is retried). @default {10000} */
  connectTimeoutMs?: number;
  /** Further statements run at open after the tables exist, each unless `skipIf` finds a row. */
  sql?: ReadonlyArray<{ statement: string; skipIf?: string }>;
  /**
   * Longest a batch's transaction may take; past it the connection is
   * dropped (a half-open socket never answers) and the write fails, to be
   * retried. @default {120000}
   */
  writeTimeoutMs?: number;
  /** Most events per batch (one transaction). @default {5000} */
  maxBatch?: number;
  /** Events queued before sources are held back. @default {10000} */
  queueSize?: number;
  /** A name for stats. */
  name?: string;
}

const _META = "sluice_meta";
// Rows per INSERT, and the text a statement carries at most (under a 16 MB max_allowed_packet).
const _CHUNK_ROWS = 500;
const _CHUNK_CHARS = 3_000_000;

/**
 * A sink that writes into MySQL or MariaDB through `npm:mysql2`. Tables
 * (InnoDB, utf8mb4, exact `utf8mb4_bin` comparison), indexes and missing
 * columns are created at open under `GET_LOCK` (several centrals may open
 * at once), with the schema's version in `sluice_meta`. Each batch goes in
 * as multi-row prepared INSERTs (values are bound, never spliced) with
 * `ON DUPLICATE KEY UPDATE` of nothing, so a stored id is skipped while a
 * bad value still fails (`INSERT IGNORE` would store it mangled); all in
 * one transaction, and `write()` resolves after COMMIT. A lost connection
 * rejects the write and the engine retries it. A row the server refuses
 * makes the batch run again row by row, that row going to the dead-letter
 * table. Indexed text is `VARCHAR(191)`: longer values are cut (the full
 * text stays in `raw`), NUL bytes stripped, both counted.
 *
 * Counters: `inserted`, `duplicates`, `dead_lettered`, `nul_stripped`,
 * `truncated`, `row_fallbacks`.
 *
 * @param options Server, schema, table.
 * @returns The sink.
 * @throws {TypeError} When the URL, a table or a column is invalid.
 *
 * @example
 * ```ts
 * import { mysqlSink } from "./mysql.ts";
 * import { siemSchema } from "../siem/schema.ts";
 * const sink = mysqlSink({ url: "mysql://sluice@127.0.0.1/siem", schema: siemSchema, table: "alerts" });
 * ```
 */
export function mysqlSink(options: MysqlSinkOptions): Sink {
  const where = "mysqlSink";
  if (typeof options?.url !== "string" || !/^(mysql|mariadb):\/\//i.test(options.url)) {
    throw new TypeError(`${where}: "url" must be a mysql:// URL`);
  }
  const schema = resolveSqlSchema(where, options.schema, options.table);
  const deadLetter = options.deadLetterTable ?? "sluice_dead_letter";
  checkIdent(where, "deadLetterTable", deadLetter);
  const connectTimeout = numberOption(
    where,
    "connectTimeoutMs",
    options.connectTimeoutMs,
    10_000,
    1,
  );
  const writeTimeoutMs = numberOption(
    where,
    "writeTimeoutMs",
    options.writeTimeoutMs,
    120_000,
    1,
  );
  const maxBatch = numberOption(where, "maxBatch", options.maxBatch, 5000, 1);
  const queueSize = numberOption(where, "queueSize", options.queueSize, 10_000, 1);
  const url = new URL(options.url.replace(/^mariadb:/i, "mysql:"));
  const password = options.password ??
    (url.password ? decodeURIComponent(url.password) : undefined);
  const secrets = [password];
  const shown = maskUrl(options.url);
  const fail = (what: string, err: unknown) =>
    new Error(`${where}: ${what} (${shown}): ${safeMessage(err, secrets)}`, { cause: err });
  const timeColumn = new Map<string, number>();
  for (const def of schema.defs.values()) {
    timeColumn.set(def.name, def.columns.findIndex(([c]) => c === "timestamp"));
  }

  let conn: Connection | undefined;
  let ctx: SinkContext | undefined;

  async function connect(): Promise<Connection> {
    if (conn) return conn;
    const c = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      ...(password !== undefined ? { password } : {}),
      database: decodeURIComponent(url.pathname.slice(1)),
      charset: "utf8mb4",
      connectTimeout,
      // Affected rows count inserted rows only: a duplicate left as it is counts 0.
      flags: ["-FOUND_ROWS"],
      supportBigNumbers: true,
    });
    c.on("error", () => {
      if (conn === c) conn = undefined;
    });
    await c.query(
      "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
    );
    conn = c;
    return c;
  }

  function drop(): void {
    const c = conn;
    conn = undefined;
    c?.destroy();
  }

  async function ensureSchema(c: Connection): Promise<void> {
    const [[lock]] = await c.query("SELECT GET_LOCK('sluice schema', 60) AS got") as unknown as [
      Array<{ got: number }>,
    ];
    if (lock?.got !== 1) throw new Error(`${where}: another sluice held the schema lock for 60 s`);
    try {
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${_META} (\`key\` VARCHAR(191) PRIMARY KEY, value TEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      );
      const key = schema.version ? `schema.${schema.version.name}` : undefined;
      if (key && schema.version) {
        const [rows] = await c.execute(`SELECT value FROM ${_META} WHERE \`key\` = ?`, [key]);
        const stored = Number((rows as Array<{ value: string }>)[0]?.value ?? 0);
        const { name, version } = schema.version;
        checkVersion(where, shown, stored, version, `schema "${name}"`);
      }
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${
          myIdent(deadLetter)
        } (ts DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), ` +
          `table_name VARCHAR(191), event_id VARCHAR(191), error TEXT NOT NULL, event LONGTEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      );
      for (const def of schema.defs.values()) {
        const [cols] = await c.execute(
          "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?",
          [def.name],
        );
        const [idx] = await c.execute(
          "SELECT DISTINCT index_name AS i FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ?",
          [def.name],
        );
        const columns = new Set((cols as Array<{ c: string }>).map((r) => r.c));
        const indexes = new Set((idx as Array<{ i: string }>).map((r) => r.i));
        for (const statement of myTableSql(def, columns, indexes)) await c.query(statement);
      }
      for (const { statement, skipIf } of options.sql ?? []) {
        if (skipIf) {
          const [found] = await c.query(skipIf);
          if ((found as unknown[]).length) continue;
        }
        await c.query(statement);
      }
      if (key && schema.version) {
        await c.execute(
          `INSERT INTO ${_META} (\`key\`, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = ?`,
          [key, String(schema.version.version), String(schema.version.version)],
        );
      }
    } finally {
      await c.query("SELECT RELEASE_LOCK('sluice schema')").catch(() => {});
    }
  }

  async function insertRows(c: Connection, def: TableDef, rows: unknown[][]): Promise<number> {
    let inserted = 0;
    let at = 0;
    while (at < rows.length) {
      let end = at;
      let chars = 0;
      while (end < rows.length && end - at < _CHUNK_ROWS && (end === at || chars < _CHUNK_CHARS)) {
        for (const v of rows[end] as unknown[]) if (typeof v === "string") chars += v.length;
        end++;
      }
      const [r] = await c.execute(myInsertSql(def, end - at), rows.slice(at, end).flat() as never);
      inserted += (r as { affectedRows: number }).affectedRows;
      at = end;
    }
    return inserted;
  }

  async function deadLetterAll(c: Connection, b: SqlBatch): Promise<void> {
    for (const r of b.rejected) {
      await c.execute(
        `INSERT INTO ${
          myIdent(deadLetter)
        } (table_name, event_id, error, event) VALUES (?, ?, ?, ?)`,
        [r.table, r.id, r.error.slice(0, 60_000), r.event],
      );
    }
  }

  /** One transaction within the write deadline; past it, the connection is dropped. */
  function inTransaction(fn: (c: Connection) => Promise<number>): Promise<number> {
    return withDeadline(transaction(fn), writeTimeoutMs, "a batch", drop);
  }

  async function transaction(fn: (c: Connection) => Promise<number>): Promise<number> {
    const c = await connect();
    try {
      // Inside the try: a connection the server closed while it sat idle fails here, and must be
      // dropped, or every retry would meet the same closed connection.
      await c.query("START TRANSACTION");
      const n = await fn(c);
      await c.query("COMMIT");
      return n;
    } catch (err) {
      if (isMysqlRowError(err)) await c.query("ROLLBACK").catch(() => drop());
      else drop();
      throw err;
    }
  }

  return {
    kind: "mysql",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    queueSize,
    async open(cx: SinkContext): Promise<void> {
      ctx = cx;
      try {
        await ensureSchema(await connect());
      } catch (err) {
        drop();
        if (err instanceof Error && err.message.startsWith(`${where}:`)) throw err;
        throw fail("cannot open", err);
      }
      cx.log.info(`connected to ${shown}`);
    },
    async write(batch: readonly LogEvent[]): Promise<void> {
      if (batch.length === 0) return;
      if (!ctx) throw new Error(`${where}: write() before open()`);
      const b = prepareSqlBatch(schema, batch, { indexedTextBytes: MYSQL_INDEXED_CHARS });
      for (const [name, rows] of b.byTable) {
        const k = timeColumn.get(name) ?? -1;
        if (k >= 0) { for (const row of rows) row[k] = myDatetime(row[k]); }
      }
      const total = batch.length - b.rejected.length;
      const names = [...b.byTable.keys()].sort();
      let inserted: number;
      try {
        inserted = await inTransaction(async (c) => {
          let n = 0;
          for (const name of names) {
            n += await insertRows(c, schema.defFor(name), b.byTable.get(name) as unknown[][]);
          }
          await deadLetterAll(c, b);
          return n;
        });
      } catch (err) {
        if (!isMysqlRowError(err)) throw fail("write failed", err);
        ctx.stats.add("row_fallbacks", 1);
        const before = b.rejected.length;
        try {
          // A failed statement rolls back only itself in InnoDB: no savepoints needed.
          inserted = await inTransaction(async (c) => {
            let n = 0;
            for (const name of names) {
              const def = schema.defFor(name);
              for (const row of b.byTable.get(name) as unknown[][]) {
                try {
                  n += await insertRows(c, def, [row]);
                } catch (e) {
                  if (!isMysqlRowError(e)) throw e;
                  b.rejected.push({
                    table: name,
                    id: def.dedup ? (row[0] as string | null) : null,
                    error: safeMessage(e, secrets),
                    event: JSON.stringify({ table: name, values: row }),
                  });
                }
              }
            }
            await deadLetterAll(c, b);
            return n;
          });
        } catch (err2) {
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
      const c = conn;
      conn = undefined;
      await c?.end().catch(() => c.destroy());
    },
  };
}

/** Options for {@linkcode siemMysqlSink}: those of {@linkcode mysqlSink} but the table layout. */
export interface SiemMysqlSinkOptions extends Omit<MysqlSinkOptions, "schema" | "table"> {
  /** The field holding the category (set by `categorize()`). @default {"category"} */
  categoryField?: string;
}

/**
 * A {@linkcode mysqlSink} with the `siemSchema` tables that stores each
 * event in the table of its category, routed as `siemSqliteSink` routes
 * (`siemTableOf`), with the heartbeats → vms trigger.
 *
 * @param options Server and the other {@linkcode mysqlSink} options.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { siemMysqlSink } from "./mysql.ts";
 * const sink = siemMysqlSink({ url: "mysql://sluice@127.0.0.1/siem" });
 * ```
 */
export function siemMysqlSink(options: SiemMysqlSinkOptions): Sink {
  const { categoryField = "category", sql = [], ...rest } = options;
  return mysqlSink({
    ...rest,
    schema: siemSchema,
    table: siemTableOf(categoryField),
    sql: [MYSQL_VMS_TRIGGER, ...sql],
  });
}
