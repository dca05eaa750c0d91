/**
 * The SQLite store's overview. Its figures add up over time, so they are
 * worked out per span and summed: the partial first hour and the hours not
 * yet complete are read every time; each complete past hour is kept for
 * `cacheMs` (a dashboard refreshing every few seconds then reads about one
 * hour of rows, not a day's). A late event for a past hour shows once its
 * entry expires, as in the series.
 *
 * @module
 */

import { severitySpellings } from "./severity.ts";
import { type _Db, _limit, _num, _Where } from "./_sqlite_db.ts";
import { _alertRows, _EVENT_TABLES } from "./_sqlite_alerts.ts";
import { _hosts } from "./_sqlite_hosts.ts";
import type { Overview, OverviewQuery, TopRow } from "./types.ts";

const _HOUR = 3_600_000;
const _MAX_CACHED = 10_000;

/** What a span adds to the overview. */
interface _Span {
  events: number;
  alerts: number;
  critical: number;
  rules: Map<string, number>;
  hosts: Map<string, number>;
  failed: Map<string, number>;
}

function _empty(): _Span {
  return {
    events: 0,
    alerts: 0,
    critical: 0,
    rules: new Map(),
    hosts: new Map(),
    failed: new Map(),
  };
}

function _counts(db: _Db, sql: string, args: readonly (string | number)[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of db.all(sql, args)) out.set(String(r.k), _num(r.n));
  return out;
}

/** The overview's figures over [since, until) (until open when undefined). */
function _span(db: _Db, since: number, until: number | undefined): _Span {
  const range = { since, ...(until !== undefined ? { until } : {}) };
  const out = _empty();
  for (const [table, , time] of _EVENT_TABLES) {
    if (!db.has(table)) continue;
    const w = new _Where().range(time, range);
    out.events += _num(db.get(`SELECT count(*) AS n FROM ${table} ${w.clause}`, w.args)?.n);
  }
  if (db.has("alerts")) {
    // Each walks the (timestamp, severity, rule, host) index over the range; one GROUP BY rule,
    // host, severity was 2-3x slower (its temporary B-tree).
    const w = new _Where().range("timestamp", range);
    out.alerts = _num(db.get(`SELECT count(*) AS n FROM alerts ${w.clause}`, w.args)?.n);
    const crit = new _Where().range("timestamp", range).in(
      "severity",
      severitySpellings(["critical"]),
    );
    out.critical = _num(db.get(`SELECT count(*) AS n FROM alerts ${crit.clause}`, crit.args)?.n);
    out.rules = _counts(
      db,
      `SELECT coalesce(rule, '(none)') AS k, count(*) AS n FROM alerts ${w.clause} GROUP BY +rule`,
      w.args as string[],
    );
    out.hosts = _counts(
      db,
      `SELECT host AS k, count(*) AS n FROM alerts ${w.clause} ${
        w.sql.length ? "AND" : "WHERE"
      } +host IS NOT NULL GROUP BY +host`,
      w.args as string[],
    );
  }
  if (db.has("auth_events")) {
    // authSources' failures, in a form the (outcome, timestamp, src_ip, method) index answers.
    const a = new _Where().add("outcome = 'failure'").range("timestamp", range);
    out.failed = _counts(
      db,
      `SELECT src_ip AS k, count(*) AS n FROM auth_events ${a.clause}
       AND coalesce(method, '') <> 'pam_unix' AND +src_ip IS NOT NULL GROUP BY +src_ip`,
      a.args as string[],
    );
  }
  out.events += out.alerts;
  return out;
}

function _merge(into: _Span, from: _Span): void {
  into.events += from.events;
  into.alerts += from.alerts;
  into.critical += from.critical;
  for (const k of ["rules", "hosts", "failed"] as const) {
    for (const [key, n] of from[k]) into[k].set(key, (into[k].get(key) ?? 0) + n);
  }
}

/** The `top` largest counts, most first, then by key. */
function _top(counts: Map<string, number>, top: number): TopRow[] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, top).map(([key, count]) => ({ key, count }));
}

/** The overview of one store, with its cache of complete hours. */
export class _Overview {
  readonly #cache = new Map<number, { at: number; span: _Span }>();
  /**
   * The complete hours of the last read, summed: a dashboard asking again for the same day adds
   * one span instead of 23 (their maps of rules, hosts and sources). Valid while the oldest
   * hour in it is.
   */
  #summed: { first: number; last: number; at: number; span: _Span } | undefined;
  readonly #cacheMs: number;

  constructor(cacheMs: number) {
    this.#cacheMs = cacheMs;
  }

  read(db: _Db, q: OverviewQuery): Overview {
    const now = q.now ?? Date.now();
    const since = q.since ?? now - 86_400_000;
    const until = q.until;
    const top = _limit(q.top, 10, 1000);
    const hosts = { ok: 0, stale: 0, silent: 0, unknown: 0 };
    const hostQuery = { now, ...(q.intervalMs !== undefined ? { intervalMs: q.intervalMs } : {}) };
    for (const h of _hosts(db, hostQuery, { counts: false })) hosts[h.status]++;

    const total = _empty();
    const wall = Date.now();
    const current = Math.floor(wall / _HOUR) * _HOUR;
    const first = Math.ceil(since / _HOUR) * _HOUR;
    // Complete hours [first, last) are cacheable: before `until` and before the current hour.
    const last = Math.max(
      first,
      Math.min(current, until !== undefined ? Math.floor(until / _HOUR) * _HOUR : current),
    );
    if (this.#cacheMs <= 0 || last <= first) {
      _merge(total, _span(db, since, until));
    } else {
      if (since < first) _merge(total, _span(db, since, first));
      const summed = this.#summed;
      if (
        summed && summed.first === first && summed.last === last &&
        wall - summed.at <= this.#cacheMs
      ) {
        _merge(total, summed.span);
      } else {
        if (this.#cache.size > _MAX_CACHED) this.#cache.clear();
        const hours = _empty();
        let oldest = wall;
        for (let h = first; h < last; h += _HOUR) {
          const hit = this.#cache.get(h);
          if (hit && wall - hit.at <= this.#cacheMs) {
            _merge(hours, hit.span);
            oldest = Math.min(oldest, hit.at);
            continue;
          }
          const span = _span(db, h, h + _HOUR);
          this.#cache.set(h, { at: wall, span });
          _merge(hours, span);
        }
        this.#summed = { first, last, at: oldest, span: hours };
        _merge(total, hours);
      }
      if (until === undefined || last < until) _merge(total, _span(db, last, until));
    }

    const out: Overview = {
      counts: { events: total.events, alerts: total.alerts, critical: total.critical, hosts },
      topRules: _top(total.rules, top),
      topHosts: _top(total.hosts, top),
      topFailedSources: _top(total.failed, top),
      latestCritical: [],
    };
    if (db.has("alerts")) {
      const crit = new _Where().range("timestamp", {
        since,
        ...(until !== undefined ? { until } : {}),
      }).in("severity", severitySpellings(["critical"]));
      const latest = db.all(
        `SELECT rowid AS seq, ${db.cols("alerts").has("id") ? "id" : "NULL AS id"}, timestamp, host,
                severity, rule, file, hash, message, source
         FROM alerts ${crit.clause} ORDER BY timestamp DESC, rowid DESC LIMIT ?`,
        [...crit.args, _limit(q.latest, 10, 1000)],
      );
      out.latestCritical = _alertRows(db, latest);
    }
    return out;
  }
}
