/**
 * One {@linkcode SiemStore} over any SQL server driver: the reads of
 * `_sql_store_*.ts` put together, as `sqlite.ts` puts the SQLite reads
 * together. `postgres.ts` and `mysql.ts` only make the driver.
 *
 * @module
 */

import { _limit } from "./_sqlite_db.ts";
import { _alert, _alerts, _alertsForHashes, _exportAlerts, _rules } from "./_sql_store_alerts.ts";
import { _SqlDb, type _SqlDriver } from "./_sql_store_db.ts";
import {
  _authEvents,
  _authSources,
  _authUsers,
  _firewallPorts,
  _firewallSources,
  _hosts,
  _objects,
} from "./_sql_store_hosts.ts";
import { _SqlOverview, _SqlSeries } from "./_sql_store_overview.ts";
import { _sql, _tailRead, _tailStart, _timeline } from "./_sql_store_tail.ts";
import { _sqlUi } from "./_sql_store_ui.ts";
import { _authWindow, _incidents } from "./_sql_store_rules.ts";
import type { HostDetail, SiemStore } from "./types.ts";

/** What both server stores take beside their connection. */
export interface _SqlStoreOptions {
  /** How long `series` and `overview` reuse a complete past hour's figures, in ms (0: never). */
  hourCacheMs?: number;
}

/**
 * A store over a driver.
 *
 * @param driver The server's driver (connected).
 * @param options The hour cache.
 * @returns The store.
 */
export function _sqlStore(driver: _SqlDriver, options: _SqlStoreOptions = {}): SiemStore {
  const db = new _SqlDb(driver);
  const series = new _SqlSeries(options.hourCacheMs ?? 60_000);
  const overview = new _SqlOverview(options.hourCacheMs ?? 60_000);
  let closed = false;
  const open = (): _SqlDb => {
    if (closed) throw new Error("store: closed");
    return db;
  };
  // Every method answers with a promise, a refused argument or a closed store with a rejected one.
  const p = <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return f();
    } catch (err) {
      return Promise.reject(err);
    }
  };
  const ui = _sqlUi(driver);
  return {
    kind: driver.kind,
    overview: (q = {}) => p(() => overview.read(open(), q)),
    series: (q) => p(() => series.read(open(), q)),
    alerts: (q) => p(() => _alerts(open(), q)),
    exportAlerts: (f, pageSize) => _exportAlerts(open, f, pageSize),
    alert: (seq) => p(() => _alert(open(), seq)),
    rules: (f) => p(() => _rules(open(), f)),
    hosts: (q) => p(() => _hosts(open(), q)),
    host: (name, q = {}) =>
      p(async (): Promise<HostDetail | undefined> => {
        const d = open();
        const [host] = await _hosts(d, q, { only: name });
        if (!host) return undefined;
        const limit = _limit(q.limit, 50, 1000);
        const range = {
          ...(q.since !== undefined ? { since: q.since } : {}),
          ...(q.until !== undefined ? { until: q.until } : {}),
        };
        return {
          host,
          timeline: await _timeline(d, name, range, limit),
          alerts: (await _alerts(d, { ...range, host: name, limit })).rows,
          auth: await _authEvents(d, { ...range, host: name, limit }),
          objects: await _objects(d, { ...range, host: name, limit }),
        };
      }),
    authSources: (f) => p(() => _authSources(open(), f)),
    authUsers: (f) => p(() => _authUsers(open(), f)),
    authEvents: (f) => p(() => _authEvents(open(), f)),
    authWindow: (q) => p(() => _authWindow(open(), q)),
    incidents: (q) => p(() => _incidents(open(), q)),
    firewallSources: (f) => p(() => _firewallSources(open(), f)),
    firewallPorts: (f) => p(() => _firewallPorts(open(), f)),
    objects: (f) => p(() => _objects(open(), f)),
    alertsForHashes: (hashes, f) => p(() => _alertsForHashes(open(), hashes, f)),
    tailStart: (f) => p(() => _tailStart(open(), f)),
    tailRead: (cursor, f, limit) => p(() => _tailRead(open(), cursor, f, limit)),
    sql: (statement) => p(() => _sql(open(), statement)),
    ui: new Proxy(ui, {
      get(target, key) {
        const f = Reflect.get(target, key);
        if (typeof f !== "function") return f;
        return (...args: unknown[]) => p(() => (open(), f.apply(target, args)));
      },
    }),
    async close() {
      if (closed) return;
      closed = true;
      await driver.close();
    },
  };
}
