/**
 * The MySQL/MariaDB adapter of {@linkcode SiemStore}: reads the tables
 * `siemMysqlSink()` writes (sinks/mysql.ts) with the same answers as the
 * SQLite store, through `npm:mysql2`. Reads go over one connection whose
 * session is READ ONLY, in UTC, with ANSI quotes; the dashboard's own tables
 * are written over a second connection opened on first use.
 *
 * @module
 */

import mysql from "../core/_deps/mysql2.ts";
import type { Connection } from "../core/_deps/mysql2.ts";
import { maskUrl, safeMessage } from "../sinks/_sql_common.ts";
import { _sqlStore } from "./_sql_store.ts";
import { _serverIso, type _SqlDriver, type _SqlQuery, type _SqlRow } from "./_sql_store_db.ts";
import { _serverUiDdl } from "./_sql_store_ui.ts";
import type { SiemStore } from "./types.ts";

export type * from "./types.ts";

/**
 * Options for {@linkcode openMysqlStore}.
 *
 * @example
 * ```ts
 * import type { MysqlStoreOptions } from "./mysql.ts";
 * const options: MysqlStoreOptions = { url: "mysql://siem@nas/siem", hourCacheMs: 0 };
 * ```
 */
export interface MysqlStoreOptions {
  /** The server: `mysql://user[:password]@host[:port]/database` (or `mariadb://`). Shown with its password masked. */
  url: string;
  /** The password, when it is not in the URL (from the environment or a file). Never shown. */
  password?: string;
  /** Milliseconds to wait for a connection. @default {10000} */
  connectTimeoutMs?: number;
  /**
   * How long `series` and `overview` reuse the figures of a complete past hour, in ms (0: never).
   * @default {60000}
   */
  hourCacheMs?: number;
}

const _where = "mysqlStore";
// MYSQL_TYPE_DATETIME, MYSQL_TYPE_TIMESTAMP, MYSQL_TYPE_TIMESTAMP2, MYSQL_TYPE_DATETIME2.
const _TIME_TYPES: ReadonlySet<number> = new Set([12, 7, 17, 18]);
const _DATETIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?$/;

/** DATETIME text (`2026-01-01 00:00:10.12`) as ISO 8601 UTC with milliseconds. */
function _isoOf(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const m = _DATETIME.exec(v);
  if (!m) return v;
  return `${m[1]}T${m[2]}.${(m[3] ?? "").padEnd(3, "0").slice(0, 3)}Z`;
}

/** A time bound as DATETIME text. */
function _datetime(ms: number): string {
  return _serverIso(ms).replace("T", " ").slice(0, 23);
}

/** Rows with their time columns as ISO text. */
function _rows(rows: unknown, fields: unknown): _SqlRow[] {
  const list = Array.isArray(rows) ? rows as _SqlRow[] : [];
  const times = (Array.isArray(fields) ? fields : [])
    .filter((f: { columnType?: number }) => _TIME_TYPES.has(f.columnType ?? -1))
    .map((f: { name: string }) => f.name);
  if (times.length === 0) return list;
  return list.map((r) => {
    const out = { ...r };
    for (const t of times) out[t] = _isoOf(out[t]);
    return out;
  });
}

/** Runs tasks on one connection one at a time (a transaction must not interleave). */
function _serial(): <T>(f: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(f: () => Promise<T>): Promise<T> => {
    const next = tail.then(f, f);
    tail = next.catch(() => {});
    return next;
  };
}

/**
 * Opens the MySQL/MariaDB store over the SIEM tables of a server. Nothing
 * is created until the dashboard's tables are first used (InnoDB,
 * `utf8mb4_bin`, keyed text `VARCHAR(191)`, BIGINT). A table the sink has
 * not created yet reads as empty. Errors name the URL with its password
 * masked.
 *
 * @param options The server.
 * @returns The store; close it when done.
 * @throws {TypeError} When the URL is not a `mysql://` or `mariadb://` URL.
 * @throws {Error} When the server cannot be reached (the password masked).
 *
 * @example
 * ```ts ignore
 * import { openMysqlStore } from "./mysql.ts";
 * const store = await openMysqlStore({ url: "mysql://siem@127.0.0.1/siem" });
 * const hosts = await store.hosts();
 * await store.close();
 * ```
 */
export async function openMysqlStore(options: MysqlStoreOptions): Promise<SiemStore> {
  if (typeof options?.url !== "string" || !/^(mysql|mariadb):\/\//i.test(options.url)) {
    throw new TypeError(`${_where}: "url" must be a mysql:// URL`);
  }
  const shown = maskUrl(options.url);
  let url: URL;
  try {
    url = new URL(options.url.replace(/^mariadb:/i, "mysql:"));
  } catch {
    throw new TypeError(`${_where}: "url" is not a URL: "${shown}"`);
  }
  const password = options.password ??
    (url.password ? decodeURIComponent(url.password) : undefined);
  const secrets = [password, url.password || undefined];
  const fail = (what: string, err: unknown) =>
    new Error(`${_where}: ${what} (${shown}): ${safeMessage(err, secrets)}`, { cause: err });

  async function connect(readOnly: boolean): Promise<Connection> {
    const c = await mysql.createConnection({
      host: url.hostname,
      port: Number(url.port || 3306),
      user: decodeURIComponent(url.username),
      ...(password !== undefined ? { password } : {}),
      database: decodeURIComponent(url.pathname.slice(1)),
      charset: "utf8mb4",
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      decimalNumbers: true,
      dateStrings: true,
    });
    c.on("error", () => {}); // handled per use: a fatal error drops the connection
    await c.query(
      "SET time_zone = '+00:00', sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'",
    );
    if (readOnly) await c.query("SET SESSION TRANSACTION READ ONLY");
    return c;
  }

  // One connection each, made again after it breaks.
  const slot = (readOnly: boolean) => {
    let conn: Promise<Connection> | undefined;
    const serial = _serial();
    return {
      run<T>(f: (c: Connection) => Promise<T>): Promise<T> {
        return serial(async () => {
          if (!conn) {
            const made = connect(readOnly);
            conn = made;
            // A connection the server closed (a restart, a timeout) is made anew on next use.
            made.then((c) => {
              const drop = () => {
                if (conn === made) conn = undefined;
              };
              c.on("error", drop);
              c.on("end", drop);
            }, () => {});
          }
          let c: Connection;
          try {
            c = await conn;
          } catch (err) {
            conn = undefined;
            throw fail("cannot connect", err);
          }
          try {
            return await f(c);
          } catch (err) {
            const e = err as { fatal?: boolean; cause?: { fatal?: boolean } };
            if (e?.fatal || e?.cause?.fatal) {
              conn = undefined;
              c.destroy();
            }
            throw err;
          }
        });
      },
      async close() {
        const c = conn;
        conn = undefined;
        if (c) await serial(async () => await (await c).end()).catch(() => {});
      },
    };
  };
  const read = slot(true);
  const write = slot(false);
  await read.run(async (c) => await c.query("SELECT 1"));

  const q = (c: Connection): _SqlQuery => ({
    all: async (sql, args = []) => {
      const [rows, fields] = await c.execute(sql, args as never);
      return _rows(rows, fields);
    },
    run: async (sql, args = []) => {
      const [r] = args.length ? await c.execute(sql, args as never) : await c.query(sql);
      return Number((r as { affectedRows?: number }).affectedRows ?? 0);
    },
  });
  const driver: _SqlDriver = {
    kind: "mysql",
    timeArg: _datetime,
    timePrefix: (column, len) =>
      `DATE_FORMAT(${column}, '${len === 13 ? "%Y-%m-%dT%H" : "%Y-%m-%dT%H:%i"}')`,
    collate: "",
    upsertTriageState: `INSERT INTO "alert_triage_state" ("alert", "status") VALUES (?, ?)
      ON DUPLICATE KEY UPDATE "status" = VALUES("status")`,
    uiDdl: () => _serverUiDdl("mysql"),
    metaDdl:
      `CREATE TABLE IF NOT EXISTS "sluice_meta" ("key" VARCHAR(191) PRIMARY KEY, "value" TEXT NOT NULL)
      ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    upsertMeta: `INSERT INTO "sluice_meta" ("key", "value") VALUES (?, ?)
      ON DUPLICATE KEY UPDATE "value" = VALUES("value")`,
    target: shown,
    isUniqueViolation: (err) => (err as { errno?: unknown })?.errno === 1062,
    all: (sql, args) =>
      read.run(async (c) => {
        try {
          return await q(c).all(sql, args);
        } catch (err) {
          throw fail("a read failed", err);
        }
      }),
    run: (sql, args) => write.run((c) => q(c).run(sql, args)),
    transaction: <T>(fn: (tx: _SqlQuery) => Promise<T>): Promise<T> =>
      write.run(async (c) => {
        await c.query("START TRANSACTION");
        try {
          const out = await fn(q(c));
          await c.query("COMMIT");
          return out;
        } catch (err) {
          await c.query("ROLLBACK").catch(() => {});
          throw err;
        }
      }),
    readOnly: (statement) =>
      read.run(async (c) => {
        await c.query("START TRANSACTION READ ONLY");
        try {
          // One statement: the connection does not allow several (no multipleStatements).
          const [rows, fields] = await c.query(statement);
          const columns = Array.isArray(fields)
            ? (fields as Array<{ name: string }>).map((f) => f.name)
            : [];
          return { columns, rows: _rows(Array.isArray(rows) ? rows : [], fields) };
        } catch (err) {
          // 1792: "Cannot execute statement in a READ ONLY transaction".
          const ro = (err as { errno?: unknown })?.errno === 1792 ? "read-only: " : "";
          throw new Error(`${_where}: ${ro}${safeMessage(err, secrets)}`, { cause: err });
        } finally {
          await c.query("ROLLBACK").catch(() => {});
        }
      }),
    async columns(table) {
      const rows = await driver.all(
        `SELECT column_name AS "c" FROM information_schema.columns
         WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`,
        [table],
      );
      return rows.map((r) => String(r.c));
    },
    async close() {
      await Promise.all([read.close(), write.close()]);
    },
  };
  return _sqlStore(
    driver,
    options.hourCacheMs !== undefined ? { hourCacheMs: options.hourCacheMs } : {},
  );
}
