/**
 * The SQLite adapter of {@linkcode SiemStore}: reads the SIEM tables over a
 * read-only connection (WAL: the central keeps writing, from a worker too,
 * while the store reads), and writes the dashboard's own tables over a
 * second, writable connection opened only when first used.
 *
 * @module
 */

import {
  _alert,
  _alertRows,
  _alerts,
  _EVENT_TABLES,
  _exportAlerts,
  _rules,
  _top,
} from "./_sqlite_alerts.ts";
import type { DatabaseSync } from "node:sqlite";
import { _Db, _limit, _num, _openReadOnly, _Where } from "./_sqlite_db.ts";
import {
  _authEvents,
  _authSources,
  _authUsers,
  _firewallPorts,
  _firewallSources,
  _hosts,
  _objects,
} from "./_sqlite_hosts.ts";
import { _sql, _tailRead, _tailStart, _timeline } from "./_sqlite_tail.ts";
import { _Series } from "./_sqlite_series.ts";
import { _sqliteUi } from "./_sqlite_ui.ts";
import { severitySpellings } from "./severity.ts";
import type { HostDetail, Overview, OverviewQuery, SiemStore } from "./types.ts";

/**
 * Options for {@linkcode openSqliteStore}.
 *
 * @example
 * ```ts
 * import type { SqliteStoreOptions } from "./sqlite.ts";
 * const options: SqliteStoreOptions = { database: "siem.db", seriesCacheMs: 0 };
 * ```
 */
export interface SqliteStoreOptions {
  /** The SIEM database file (the one `siemSqliteSink()` writes). */
  database: string;
  /** How long a read or a UI write waits for a writer's lock, in ms. @default {5000} */
  busyTimeoutMs?: number;
  /**
   * How long `series` reuses the counts of a complete past hour, in ms (0: never). A late event
   * for a past hour shows in the series once the entry is older than this. @default {60000}
   */
  seriesCacheMs?: number;
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

/** A wrapper that turns a synchronous read into a promise (a throw into a rejection). */
function _p<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}

function _overview(db: _Db, q: OverviewQuery): Overview {
  const now = q.now ?? Date.now();
  const range = {
    since: q.since ?? now - 86_400_000,
    ...(q.until !== undefined ? { until: q.until } : {}),
  };
  const top = _limit(q.top, 10, 1000);
  const hosts = { ok: 0, stale: 0, silent: 0, unknown: 0 };
  for (
    const h of _hosts(db, {
      now,
      ...(q.intervalMs !== undefined ? { intervalMs: q.intervalMs } : {}),
    }, {
      counts: false,
    })
  ) hosts[h.status]++;
  let events = 0;
  for (const [table, , time] of _EVENT_TABLES) {
    if (!db.has(table)) continue;
    const w = new _Where().range(time, range);
    events += _num(db.get(`SELECT count(*) AS n FROM ${table} ${w.clause}`, w.args)?.n);
  }
  const out: Overview = {
    counts: { events, alerts: 0, critical: 0, hosts },
    topRules: [],
    topHosts: [],
    topFailedSources: [],
    latestCritical: [],
  };
  if (db.has("alerts")) {
    // Separate queries: each walks the (timestamp, severity, rule, host) index over the range;
    // one GROUP BY rule, host, severity was 2-3x slower (its temporary B-tree).
    const w = new _Where().range("timestamp", range);
    out.counts.alerts = _num(db.get(`SELECT count(*) AS n FROM alerts ${w.clause}`, w.args)?.n);
    out.counts.events += out.counts.alerts;
    const crit = new _Where().range("timestamp", range).in(
      "severity",
      severitySpellings(["critical"]),
    );
    out.counts.critical = _num(
      db.get(`SELECT count(*) AS n FROM alerts ${crit.clause}`, crit.args)?.n,
    );
    out.topRules = _top(
      db,
      `SELECT coalesce(rule, '(none)') AS k, count(*) AS n FROM alerts ${w.clause}
       GROUP BY +rule ORDER BY n DESC, k LIMIT ?`,
      [...w.args, top],
    );
    out.topHosts = _top(
      db,
      `SELECT host AS k, count(*) AS n FROM alerts ${w.clause} ${
        w.sql.length ? "AND" : "WHERE"
      } +host IS NOT NULL GROUP BY +host ORDER BY n DESC, k LIMIT ?`,
      [...w.args, top],
    );
    const latest = db.all(
      `SELECT rowid AS seq, ${db.cols("alerts").has("id") ? "id" : "NULL AS id"}, timestamp, host,
              severity, rule, file, hash, message, source
       FROM alerts ${crit.clause} ORDER BY timestamp DESC, rowid DESC LIMIT ?`,
      [...crit.args, _limit(q.latest, 10, 1000)],
    );
    out.latestCritical = _alertRows(db, latest);
  }
  if (db.has("auth_events")) {
    // The same count as authSources' failures, in a form the (outcome, timestamp, src_ip,
    // method) index answers alone.
    const a = new _Where().add("outcome = 'failure'").range("timestamp", range);
    out.topFailedSources = _top(
      db,
      `SELECT src_ip AS k, count(*) AS n FROM auth_events ${a.clause}
       AND coalesce(method, '') <> 'pam_unix' AND +src_ip IS NOT NULL
       GROUP BY +src_ip ORDER BY n DESC, k LIMIT ?`,
      [...a.args, top],
    );
  }
  return out;
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
    const ui = _sqliteUi(options.database, busy);
    const series = new _Series(options.seriesCacheMs ?? 60_000);
    let closed = false;
    const open = () => {
      if (closed) throw new Error("store: closed");
      return db;
    };
    const store: SiemStore = {
      kind: "sqlite",
      overview: (q = {}) => _p(() => _overview(open(), q)),
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
      firewallSources: (f) => _p(() => _firewallSources(open(), f)),
      firewallPorts: (f) => _p(() => _firewallPorts(open(), f)),
      objects: (f) => _p(() => _objects(open(), f)),
      tailStart: (f) => _p(() => _tailStart(open(), f)),
      tailRead: (cursor, f, limit) => _p(() => _tailRead(open(), cursor, f, limit)),
      sql: (statement) => _p(() => _sql(open(), statement)),
      ui: ui.ui,
      close: () =>
        _p(() => {
          if (closed) return;
          closed = true;
          ui.close();
          db.close();
        }),
    };
    return store;
  });
}
