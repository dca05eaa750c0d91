/**
 * The SQL server stores' overview and series, with the SQLite store's
 * figures and its cache of complete past hours (see `_sqlite_overview.ts`
 * and `_sqlite_series.ts` for why they are read per span).
 *
 * @module
 */

import { alertSeverityClass, severitySpellings } from "./severity.ts";
import { _EVENT_TABLES } from "./_sqlite_alerts.ts";
import { _limit, _num } from "./_sqlite_db.ts";
import { _alertRows } from "./_sql_store_alerts.ts";
import { _hosts } from "./_sql_store_hosts.ts";
import { type _SqlDb, _SqlWhere } from "./_sql_store_db.ts";
import type { Overview, OverviewQuery, SeriesBucket, SeriesQuery, TopRow } from "./types.ts";

const _HOUR = 3_600_000;

/** A table's time column as the shared SQL names it. */
function _time(column: string): string {
  return `"${column}"`;
}

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

async function _counts(db: _SqlDb, sql: string, args: readonly unknown[]) {
  const out = new Map<string, number>();
  for (const r of await db.all(sql, args)) out.set(String(r.k), _num(r.n));
  return out;
}

async function _span(db: _SqlDb, since: number, until: number | undefined): Promise<_Span> {
  const range = { since, ...(until !== undefined ? { until } : {}) };
  const out = _empty();
  for (const [table, , time] of _EVENT_TABLES) {
    if (!await db.has(table)) continue;
    const w = new _SqlWhere(db.d).range(_time(time), range);
    out.events += _num(
      (await db.get(`SELECT count(*) AS "n" FROM "${table}" ${w.clause}`, w.args))?.n,
    );
  }
  if (await db.has("alerts")) {
    const w = new _SqlWhere(db.d).range(`"timestamp"`, range);
    out.alerts = _num(
      (await db.get(`SELECT count(*) AS "n" FROM "alerts" ${w.clause}`, w.args))?.n,
    );
    const crit = new _SqlWhere(db.d).range(`"timestamp"`, range).in(
      `"severity"`,
      severitySpellings(["critical"]),
    );
    out.critical = _num(
      (await db.get(`SELECT count(*) AS "n" FROM "alerts" ${crit.clause}`, crit.args))?.n,
    );
    out.rules = await _counts(
      db,
      `SELECT coalesce("rule", '(none)') AS "k", count(*) AS "n" FROM "alerts" ${w.clause}
       GROUP BY "rule"`,
      w.args,
    );
    const h = new _SqlWhere(db.d).range(`"timestamp"`, range).add(`"host" IS NOT NULL`);
    out.hosts = await _counts(
      db,
      `SELECT "host" AS "k", count(*) AS "n" FROM "alerts" ${h.clause} GROUP BY "host"`,
      h.args,
    );
  }
  if (await db.has("auth_events")) {
    const a = new _SqlWhere(db.d).add(`"outcome" = 'failure'`).range(`"timestamp"`, range)
      .add(`coalesce("method", '') <> 'pam_unix'`).add(`"src_ip" IS NOT NULL`);
    out.failed = await _counts(
      db,
      `SELECT "src_ip" AS "k", count(*) AS "n" FROM "auth_events" ${a.clause} GROUP BY "src_ip"`,
      a.args,
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

function _top(counts: Map<string, number>, top: number): TopRow[] {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, top).map(([key, count]) => ({ key, count }));
}

/** The overview of one store, with its cache of complete hours. */
export class _SqlOverview {
  readonly #cache = new Map<number, { at: number; span: _Span }>();
  readonly #cacheMs: number;

  constructor(cacheMs: number) {
    this.#cacheMs = cacheMs;
  }

  async read(db: _SqlDb, q: OverviewQuery): Promise<Overview> {
    const now = q.now ?? Date.now();
    const since = q.since ?? now - 86_400_000;
    const until = q.until;
    const top = _limit(q.top, 10, 1000);
    const latestLimit = _limit(q.latest, 10, 1000);
    const hosts = { ok: 0, stale: 0, silent: 0, unknown: 0 };
    const hostQuery = { now, ...(q.intervalMs !== undefined ? { intervalMs: q.intervalMs } : {}) };
    for (const h of await _hosts(db, hostQuery, { counts: false })) hosts[h.status]++;

    const total = _empty();
    const wall = Date.now();
    const current = Math.floor(wall / _HOUR) * _HOUR;
    const first = Math.ceil(since / _HOUR) * _HOUR;
    const last = Math.max(
      first,
      Math.min(current, until !== undefined ? Math.floor(until / _HOUR) * _HOUR : current),
    );
    if (this.#cacheMs <= 0 || last <= first) {
      _merge(total, await _span(db, since, until));
    } else {
      if (since < first) _merge(total, await _span(db, since, first));
      if (this.#cache.size > 10_000) this.#cache.clear();
      for (let h = first; h < last; h += _HOUR) {
        const hit = this.#cache.get(h);
        if (hit && wall - hit.at <= this.#cacheMs) {
          _merge(total, hit.span);
          continue;
        }
        const span = await _span(db, h, h + _HOUR);
        this.#cache.set(h, { at: wall, span });
        _merge(total, span);
      }
      if (until === undefined || last < until) _merge(total, await _span(db, last, until));
    }

    const out: Overview = {
      counts: { events: total.events, alerts: total.alerts, critical: total.critical, hosts },
      topRules: _top(total.rules, top),
      topHosts: _top(total.hosts, top),
      topFailedSources: _top(total.failed, top),
      latestCritical: [],
    };
    if (await db.has("alerts")) {
      const crit = new _SqlWhere(db.d).range(`"timestamp"`, {
        since,
        ...(until !== undefined ? { until } : {}),
      }).in(`"severity"`, severitySpellings(["critical"]));
      const id = (await db.cols("alerts")).has("id") ? `"id"` : `NULL AS "id"`;
      const latest = await db.all(
        `SELECT "seq", ${id}, "timestamp", "host", "severity", "rule", "file", "hash", "message",
                "source"
         FROM "alerts" ${crit.clause} ORDER BY "timestamp" DESC, "seq" DESC LIMIT ?`,
        [...crit.args, latestLimit],
      );
      out.latestCritical = await _alertRows(db, latest);
    }
    return out;
  }
}

type _Alerts = SeriesBucket["alerts"];
type _Events = SeriesBucket["events"];

interface _Counts {
  alerts: _Alerts;
  events: _Events;
}

function _emptyCounts(): _Counts {
  return { alerts: { critical: 0, high: 0, medium: 0, low: 0, info: 0, other: 0 }, events: {} };
}

function _add(into: _Counts, from: _Counts): void {
  for (const [k, n] of Object.entries(from.alerts)) into.alerts[k as keyof _Alerts] += n;
  for (const [k, n] of Object.entries(from.events)) {
    const c = k as keyof _Events;
    into.events[c] = (into.events[c] ?? 0) + (n ?? 0);
  }
}

/** The prefix of a time column's ISO text (the hour or the minute). */
function _prefix(db: _SqlDb, column: string, len: 13 | 16): string {
  return column === "timestamp"
    ? db.d.timePrefix(`"timestamp"`, len)
    : `substr("${column}", 1, ${len})`;
}

async function _grouped(
  db: _SqlDb,
  since: number,
  until: number,
  len: 13 | 16,
  host: string | undefined,
): Promise<Map<string, _Counts>> {
  const out = new Map<string, _Counts>();
  const at = (p: unknown): _Counts => {
    const key = String(p);
    let c = out.get(key);
    if (!c) out.set(key, c = _emptyCounts());
    return c;
  };
  const range = { since, until };
  if (await db.has("alerts")) {
    const w = new _SqlWhere(db.d).range(`"timestamp"`, range);
    if (host !== undefined) w.add(`"host" = ?`, host);
    const p = _prefix(db, "timestamp", len);
    for (
      const r of await db.all(
        `SELECT ${p} AS "p", "severity" AS "s", count(*) AS "n" FROM "alerts" ${w.clause}
         GROUP BY ${p}, "severity"`,
        w.args,
      )
    ) at(r.p).alerts[alertSeverityClass(r.s)] += _num(r.n);
  }
  for (const [table, category, time] of _EVENT_TABLES) {
    const cols = await db.cols(table);
    if (cols.size === 0 || (host !== undefined && !cols.has("host"))) continue;
    const w = new _SqlWhere(db.d).range(_time(time), range);
    if (host !== undefined) w.add(`"host" = ?`, host);
    const p = _prefix(db, time, len);
    for (
      const r of await db.all(
        `SELECT ${p} AS "p", count(*) AS "n" FROM "${table}" ${w.clause} GROUP BY ${p}`,
        w.args,
      )
    ) {
      const c = at(r.p);
      c.events[category] = (c.events[category] ?? 0) + _num(r.n);
    }
  }
  return out;
}

/** The series of one store, with its cache of complete hours. */
export class _SqlSeries {
  readonly #cache = new Map<string, _Counts & { at: number }>();
  readonly #cacheMs: number;

  constructor(cacheMs: number) {
    this.#cacheMs = cacheMs;
  }

  async read(db: _SqlDb, q: SeriesQuery): Promise<SeriesBucket[]> {
    const bucket = q.bucketMs ?? _HOUR;
    const hourly = bucket % _HOUR === 0;
    if (
      !Number.isInteger(bucket) || bucket <= 0 ||
      (!hourly && (_HOUR % bucket !== 0 || bucket % 60_000 !== 0))
    ) {
      throw new RangeError(
        `store: "bucketMs" must be whole hours or minutes dividing an hour, got "${
          String(bucket)
        }"`,
      );
    }
    if (!Number.isFinite(q.since)) {
      throw new RangeError(`store: "since" must be a time in ms, got "${String(q.since)}"`);
    }
    const until = q.until ?? Date.now();
    const start = Math.floor(q.since / bucket) * bucket;
    if (!(until > start)) return [];
    if ((until - start) / bucket > 10_000) {
      throw new RangeError(`store: a series of more than 10000 buckets was asked for`);
    }
    const buckets: SeriesBucket[] = [];
    for (let t = start; t < until; t += bucket) buckets.push({ t, ..._emptyCounts() });
    const into = (ms: number, c: _Counts) => {
      const b = buckets[Math.floor((ms - start) / bucket)];
      if (b) _add(b, c);
    };
    if (!hourly) {
      for (const [p, c] of await _grouped(db, start, until, 16, q.host)) {
        const ms = Date.parse(`${p}:00.000Z`);
        if (!Number.isNaN(ms)) into(ms, c);
      }
      return buckets;
    }
    const now = Date.now();
    const current = Math.floor(now / _HOUR) * _HOUR;
    const key = (h: number) => `${q.host ?? ""}\u0000${h}`;
    let from = start;
    while (from + _HOUR <= until && from < current) {
      const e = this.#cache.get(key(from));
      if (!e || now - e.at > this.#cacheMs) break;
      into(from, e);
      from += _HOUR;
    }
    if (from >= until) return buckets;
    const fresh = await _grouped(db, from, until, 13, q.host);
    if (this.#cache.size > 50_000) this.#cache.clear();
    for (let h = from; h < until; h += _HOUR) {
      const p = new Date(h).toISOString().slice(0, 13);
      const c = fresh.get(p) ?? _emptyCounts();
      into(h, c);
      if (this.#cacheMs > 0 && h + _HOUR <= until && h + _HOUR <= current) {
        this.#cache.set(key(h), { ...c, at: now });
      }
    }
    return buckets;
  }
}
