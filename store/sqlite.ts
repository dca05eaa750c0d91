/**
 * The SQLite adapter of {@linkcode SiemStore}: reads the SIEM tables over a
 * read-only connection (WAL: the central keeps writing, from a worker too,
 * while the store reads), and writes the dashboard's own tables over a
 * second, writable connection opened only when first used.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { _authWindow, _incidents } from "./_sqlite_rules.ts";
import { _alert, _alerts, _alertsForHashes, _exportAlerts, _rules } from "./_sqlite_alerts.ts";
import { _Db, _limit, _openReadOnly } from "./_sqlite_db.ts";
import {
  _authEvents,
  _authSources,
  _authUsers,
  _firewallPorts,
  _firewallSources,
  _hosts,
  _objects,
} from "./_sqlite_hosts.ts";
import { _Overview } from "./_sqlite_overview.ts";
import { _Series } from "./_sqlite_series.ts";
import { _sql, _tailRead, _tailStart, _timeline } from "./_sqlite_tail.ts";
import { _sqliteUi } from "./_sqlite_ui.ts";
import { _TextIndex } from "./_sqlite_text_index.ts";
import { _setTextScan, type TextScanOptions } from "./_sqlite_text_scan.ts";
import type { HostDetail, SiemStore } from "./types.ts";

/**
 * Options for {@linkcode openSqliteStore}.
 *
 * @example
 * ```ts
 * import type { SqliteStoreOptions } from "./sqlite.ts";
 * const options: SqliteStoreOptions = { database: "siem.db", hourCacheMs: 0 };
 * ```
 */
export interface SqliteStoreOptions {
  /** The SIEM database file (the one `siemSqliteSink()` writes). */
  database: string;
  /** How long a read or a UI write waits for a writer's lock, in ms. @default {5000} */
  busyTimeoutMs?: number;
  /**
   * How long `series` and `overview` reuse the figures of a complete past hour, in ms (0: never).
   * A late event for a past hour shows once the entry is older than this. @default {60000}
   */
  hourCacheMs?: number;
  /**
   * Keep the alerts' text index in a sidecar file (`<database>-textindex`,
   * store/_sqlite_text_index.ts), made by the first text query and built in
   * the background while the store is open; a text filter then reads a few
   * rows instead of scanning them all. false: always scan, create nothing.
   * A SIEM file without write permission gets no sidecar. The environment
   * variable `SLUICE_TEXT_INDEX=off` turns the default off (for stores opened
   * with no options, as the dashboard and `sluice query` open them).
   * @default {true}
   */
  textIndex?: boolean;
  /**
   * Bounds of a text filter's scan when the index cannot serve it: a page
   * stops after `budgetMs` (at least one `chunk` of rows) and says how far
   * it searched (`AlertPage.partial`). @default {{ budgetMs: 100, chunk: 2000 }}
   */
  textScan?: TextScanOptions;
}

/**
 * Opens an SQLite database read-only (and `query_only`, so attached files
 * stay untouched too), waiting out a writer's brief locks: the connection
 * the store reads through, for callers that need raw SQL.
 *
 * @param database The file.
 * @param busyTimeoutMs How long a read waits for a lock, in ms. @default {5000}
 * @returns The connection.
 * @throws {Error} When the file does not exist or is not a database.
 *
 * @example
 * ```ts ignore
 * import { openSqliteReadOnly } from "./sqlite.ts";
 * const db = openSqliteReadOnly("siem.db");
 * db.close();
 * ```
 */
export function openSqliteReadOnly(database: string, busyTimeoutMs = 5000): DatabaseSync {
  return _openReadOnly(database, busyTimeoutMs);
}

/** Whether a store keeps a text index when not told: yes unless SLUICE_TEXT_INDEX=off. */
function _textIndexDefault(): boolean {
  try {
    return !/^(off|0|false|no)$/i.test(Deno.env.get("SLUICE_TEXT_INDEX") ?? "");
  } catch {
    // No permission to read the environment: the default.
    return true;
  }
}

/** A wrapper that turns a synchronous read into a promise (a throw into a rejection). */
function _p<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Opens the SQLite store over a SIEM database. The read connection is
 * read-only and `query_only`: nothing the store is asked can change the
 * SIEM tables. The dashboard's tables (`users`, `ui_sessions`,
 * `alert_triage`) are created on the first `ui` call, on a writable
 * connection with a busy timeout.
 *
 * @param options The database and the lock wait.
 * @returns The store; close it when done.
 * @throws {Error} When the file does not exist or is not an SQLite database.
 *
 * @example
 * ```ts ignore
 * import { openSqliteStore } from "./sqlite.ts";
 * const store = await openSqliteStore({ database: "siem.db" });
 * const { rows } = await store.alerts({ host: "vm-1", limit: 20 });
 * await store.close();
 * ```
 */
export function openSqliteStore(options: SqliteStoreOptions): Promise<SiemStore> {
  return _p(() => {
    const busy = options.busyTimeoutMs ?? 5000;
    const db = new _Db(_openReadOnly(options.database, busy));
    const ui = _sqliteUi(options.database, busy, db.db);
    const text = (options.textIndex ?? _textIndexDefault())
      ? new _TextIndex(db, options.database)
      : undefined;
    db.textIndex = text;
    if (options.textScan) _setTextScan(db, options.textScan);
    const series = new _Series(options.hourCacheMs ?? 60_000);
    const overview = new _Overview(options.hourCacheMs ?? 60_000);
    let closed = false;
    const open = () => {
      if (closed) throw new Error("store: closed");
      return db;
    };
    const store: SiemStore = {
      kind: "sqlite",
      overview: (q = {}) => _p(() => overview.read(open(), q)),
      series: (q) => _p(() => series.read(open(), q)),
      alerts: (q) => _p(() => _alerts(open(), q)),
      exportAlerts: (f, pageSize) => _exportAlerts(open(), f, pageSize),
      alert: (seq) => _p(() => _alert(open(), seq)),
      rules: (f) => _p(() => _rules(open(), f)),
      hosts: (q) => _p(() => _hosts(open(), q)),
      host: (name, q = {}) =>
        _p((): HostDetail | undefined => {
          const d = open();
          const [host] = _hosts(d, q, { only: name });
          if (!host) return undefined;
          const limit = _limit(q.limit, 50, 1000);
          const range = {
            ...(q.since !== undefined ? { since: q.since } : {}),
            ...(q.until !== undefined ? { until: q.until } : {}),
          };
          return {
            host,
            timeline: _timeline(d, name, range, limit),
            alerts: _alerts(d, { ...range, host: name, limit }).rows,
            auth: _authEvents(d, { ...range, host: name, limit }),
            objects: _objects(d, { ...range, host: name, limit }),
          };
        }),
      authSources: (f) => _p(() => _authSources(open(), f)),
      authUsers: (f) => _p(() => _authUsers(open(), f)),
      authEvents: (f) => _p(() => _authEvents(open(), f)),
      authWindow: (q) => _p(() => _authWindow(open(), q)),
      incidents: (q) => _p(() => _incidents(open(), q)),
      firewallSources: (f) => _p(() => _firewallSources(open(), f)),
      firewallPorts: (f) => _p(() => _firewallPorts(open(), f)),
      objects: (f) => _p(() => _objects(open(), f)),
      alertsForHashes: (hashes, f) => _p(() => _alertsForHashes(open(), hashes, f)),
      tailStart: (f) => _p(() => _tailStart(open(), f)),
      tailRead: (cursor, f, limit) => _p(() => _tailRead(open(), cursor, f, limit)),
      sql: (statement) => _p(() => _sql(open(), statement)),
      ui: ui.ui,
      close: () =>
        _p(() => {
          if (closed) return;
          closed = true;
          text?.close();
          ui.close();
          db.close();
        }),
    };
    return store;
  });
}
