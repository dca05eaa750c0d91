/**
 * The PostgreSQL adapter of {@linkcode SiemStore}: reads the tables
 * `siemPostgresSink()` writes (sinks/postgres.ts) with the same answers as
 * the SQLite store, through `npm:postgres`. Reads go over connections whose
 * every transaction is READ ONLY (`default_transaction_read_only`); the
 * dashboard's own tables are written over a second, small pool opened on
 * first use.
 *
 * @module
 */

import postgres from "../core/_deps/postgres.ts";
import { isPostgresConnectionError, onPostgresWriteCrash } from "../core/_pg_crash_guard.ts";
import { maskUrl, safeMessage } from "../sinks/_sql_common.ts";
import { _sqlStore } from "./_sql_store.ts";
import {
  _numberPlaceholders,
  _serverIso,
  type _SqlDriver,
  type _SqlQuery,
  type _SqlRow,
} from "./_sql_store_db.ts";
import { _serverUiDdl } from "./_sql_store_ui.ts";
import type { SiemStore } from "./types.ts";

export type * from "./types.ts";

/**
 * Options for {@linkcode openPostgresStore}.
 *
 * @example
 * ```ts
 * import type { PostgresStoreOptions } from "./postgres.ts";
 * const options: PostgresStoreOptions = { url: "postgres://siem@db/siem", hourCacheMs: 0 };
 * ```
 */
export interface PostgresStoreOptions {
  /** The server: `postgres://user[:password]@host[:port]/database`. Shown with its password masked. */
  url: string;
  /** The password, when it is not in the URL (from the environment or a file). Never shown. */
  password?: string;
  /** Seconds to wait for a connection. @default {10} */
  connectTimeoutS?: number;
  /** Read connections at most. @default {4} */
  connections?: number;
  /**
   * How long `series` and `overview` reuse the figures of a complete past hour, in ms (0: never).
   * @default {60000}
   */
  hourCacheMs?: number;
}

const _where = "postgresStore";

// Counts (int8, numeric) as numbers, times as ISO 8601 UTC text with milliseconds: the rows'
// conventions (store/types.ts), whatever the session's time zone.
const _TYPES = {
  int8: {
    to: 20,
    from: [20, 1700],
    serialize: (x: unknown) => String(x),
    parse: (x: string) => {
      const n = Number(x);
      return Number.isSafeInteger(n) || !/^-?\d+$/.test(x) ? n : x;
    },
  },
  timestamptz: {
    to: 1184,
    from: [1184],
    serialize: (x: unknown) => (x instanceof Date ? x.toISOString() : String(x)),
    parse: (x: string) => {
      const d = new Date(x);
      return Number.isNaN(d.getTime()) ? x : d.toISOString();
    },
  },
  timestamp: {
    to: 1114,
    from: [1114],
    serialize: (x: unknown) => (x instanceof Date ? x.toISOString() : String(x)),
    parse: (x: string) => {
      const d = new Date(`${x.replace(" ", "T")}Z`);
      return Number.isNaN(d.getTime()) ? x : d.toISOString();
    },
  },
};

function _urlPassword(url: string): string | undefined {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}

function _rows(r: ArrayLike<unknown>): _SqlRow[] {
  return Array.from(r as ArrayLike<_SqlRow>, (row) => ({ ...row }));
}

/**
 * Opens the PostgreSQL store over the SIEM tables of a server. Nothing is
 * created until the dashboard's tables are first used (`users`,
 * `ui_sessions`, `alert_triage`, `alert_triage_state`: text `COLLATE "C"`,
 * BIGINT, created under an advisory lock). A table the sink has not created
 * yet reads as empty. Errors name the URL with its password masked.
 *
 * @param options The server and the connections.
 * @returns The store; close it when done.
 * @throws {TypeError} When the URL is not a `postgres://` URL.
 * @throws {Error} When the server cannot be reached (the password masked).
 *
 * @example
 * ```ts ignore
 * import { openPostgresStore } from "./postgres.ts";
 * const store = await openPostgresStore({ url: "postgres://siem@127.0.0.1/siem" });
 * const { rows } = await store.alerts({ severities: ["critical"], limit: 20 });
 * await store.close();
 * ```
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<SiemStore> {
  if (typeof options?.url !== "string" || !/^postgres(ql)?:\/\//i.test(options.url)) {
    throw new TypeError(`${_where}: "url" must be a postgres:// URL`);
  }
  const shown = maskUrl(options.url);
  const secrets = [options.password, _urlPassword(options.url)];
  const fail = (what: string, err: unknown) =>
    new Error(`${_where}: ${what} (${shown}): ${safeMessage(err, secrets)}`, { cause: err });
  const base = (max: number, readOnly: boolean) =>
    postgres(options.url, {
      max,
      ...(options.password !== undefined ? { password: options.password } : {}),
      connect_timeout: options.connectTimeoutS ?? 10,
      idle_timeout: 60,
      onnotice: () => {},
      // deno-lint-ignore no-explicit-any
      types: _TYPES as any,
      connection: {
        application_name: "sluice store",
        TimeZone: "UTC",
        ...(readOnly ? { default_transaction_read_only: true } : {}),
      } as Record<string, string | boolean>,
    });
  let read = base(options.connections ?? 4, true);
  let write: postgres.Sql | undefined;
  const writer = () => (write ??= base(2, false));
  try {
    await read.unsafe("SELECT 1");
  } catch (err) {
    await read.end({ timeout: 0 }).catch(() => {});
    throw fail("cannot connect", err);
  }
  // A dropped connection, or the client's crash on one (see core/_pg_crash_guard.ts), makes
  // every connection anew: the client would reconnect a connection in place, and one that
  // closed with a write queued never sends again. The query in flight fails with its error.
  let closed = false;
  const renew = () => {
    if (closed) return;
    const oldRead = read, oldWrite = write;
    read = base(options.connections ?? 4, true);
    write = undefined;
    oldRead.end({ timeout: 0 }).catch(() => {});
    oldWrite?.end({ timeout: 0 }).catch(() => {});
  };
  const unguard = onPostgresWriteCrash(renew);
  const q = (s: postgres.Sql | postgres.TransactionSql): _SqlQuery => ({
    all: async (sql, args = []) => {
      try {
        // deno-lint-ignore no-explicit-any
        return _rows(await s.unsafe(_numberPlaceholders(sql), args as any[]));
      } catch (err) {
        if (isPostgresConnectionError(err)) renew();
        throw fail("a read failed", err);
      }
    },
    run: async (sql, args = []) => {
      try {
        // deno-lint-ignore no-explicit-any
        return (await s.unsafe(_numberPlaceholders(sql), args as any[])).count;
      } catch (err) {
        if (isPostgresConnectionError(err)) renew();
        throw err;
      }
    },
  });
  const reads: _SqlQuery = {
    all: (sql, args) => q(read).all(sql, args),
    run: (sql, args) => q(read).run(sql, args),
  };
  const driver: _SqlDriver = {
    kind: "postgres",
    timeArg: (ms) => _serverIso(ms),
    timePrefix: (column, len) =>
      `to_char(${column} AT TIME ZONE 'UTC', '${
        len === 13 ? `YYYY-MM-DD"T"HH24` : `YYYY-MM-DD"T"HH24:MI`
      }')`,
    collate: ` COLLATE "C"`,
    upsertTriageState: `INSERT INTO "alert_triage_state" ("alert", "status") VALUES (?, ?)
      ON CONFLICT ("alert") DO UPDATE SET "status" = excluded."status"`,
    uiDdl: () => _serverUiDdl("postgres"),
    uiLock: `SELECT pg_advisory_xact_lock(hashtext('sluice ui schema'))`,
    metaDdl:
      `CREATE TABLE IF NOT EXISTS "sluice_meta" ("key" TEXT PRIMARY KEY, "value" TEXT NOT NULL)`,
    upsertMeta: `INSERT INTO "sluice_meta" ("key", "value") VALUES (?, ?)
      ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"`,
    target: shown,
    isUniqueViolation: (err) => (err as { code?: unknown })?.code === "23505",
    all: reads.all,
    run: (sql, args) => q(writer()).run(sql, args),
    async transaction<T>(fn: (tx: _SqlQuery) => Promise<T>): Promise<T> {
      return await writer().begin((tx) => fn(q(tx))) as T;
    },
    async readOnly(statement) {
      try {
        return await read.begin("read only", async (tx) => {
          // Extended protocol (simple: false): the server takes one statement, never several.
          const r = await tx.unsafe(statement, [], { prepare: false, simple: false } as never);
          const columns = (r.columns ?? []).map((c: { name: string }) => c.name);
          return { columns, rows: _rows(r) };
        }) as { columns: string[]; rows: _SqlRow[] };
      } catch (err) {
        if (isPostgresConnectionError(err)) renew();
        throw new Error(`${_where}: ${safeMessage(err, secrets)}`, { cause: err });
      }
    },
    async columns(table) {
      const rows = await reads.all(
        `SELECT column_name AS "c" FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
        [table],
      );
      return rows.map((r) => String(r.c));
    },
    async close() {
      closed = true;
      unguard();
      await Promise.all([
        read.end({ timeout: 5 }).catch(() => {}),
        write?.end({ timeout: 5 }).catch(() => {}),
      ]);
    },
  };
  return _sqlStore(
    driver,
    options.hourCacheMs !== undefined ? { hourCacheMs: options.hourCacheMs } : {},
  );
}
