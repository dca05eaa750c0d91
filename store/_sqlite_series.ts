/**
 * The SQLite store's series: alerts by severity class and events by
 * category per bucket. Counts are grouped by the hour's (or minute's) text
 * prefix of the time column, in the order of its index, then folded into
 * buckets. Complete past hours are kept in a small cache for `cacheMs`
 * (a dashboard refreshing every few seconds then reads only the current
 * hour); a late event for a past hour shows once its entry expires.
 *
 * @module
 */

import { alertSeverityClass } from "./severity.ts";
import { type _Db, _num, _Where } from "./_sqlite_db.ts";
import { _EVENT_TABLES } from "./_sqlite_alerts.ts";
import type { SeriesBucket, SeriesQuery } from "./types.ts";

const _HOUR = 3_600_000;
const _MAX_CACHED = 50_000;

type _Alerts = SeriesBucket["alerts"];
type _Events = SeriesBucket["events"];

interface _Counts {
  alerts: _Alerts;
  events: _Events;
}

interface _Entry extends _Counts {
  at: number;
}

function _empty(): _Counts {
  return { alerts: { critical: 0, high: 0, medium: 0, low: 0, info: 0, other: 0 }, events: {} };
}

function _add(into: _Counts, from: _Counts): void {
  for (const [k, n] of Object.entries(from.alerts)) into.alerts[k as keyof _Alerts] += n;
  for (const [k, n] of Object.entries(from.events)) {
    const c = k as keyof _Events;
    into.events[c] = (into.events[c] ?? 0) + (n ?? 0);
  }
}

/** Counts per prefix (`2026-11-23T08` or `2026-11-23T08:15`) of [since, until). */
function _grouped(
  db: _Db,
  since: number,
  until: number,
  len: number,
  host: string | undefined,
): Map<string, _Counts> {
  const out = new Map<string, _Counts>();
  const at = (p: unknown): _Counts => {
    const key = String(p);
    let c = out.get(key);
    if (!c) out.set(key, c = _empty());
    return c;
  };
  const range = { since, until };
  if (db.has("alerts")) {
    const w = new _Where().range("timestamp", range);
    if (host !== undefined) w.add("host = ?", host);
    for (
      const r of db.all(
        `SELECT substr(timestamp, 1, ${len}) AS p, severity AS s, count(*) AS n FROM alerts
         ${w.clause} GROUP BY p, s`,
        w.args,
      )
    ) at(r.p).alerts[alertSeverityClass(r.s)] += _num(r.n);
  }
  for (const [table, category, time] of _EVENT_TABLES) {
    const cols = db.cols(table);
    if (cols.size === 0 || (host !== undefined && !cols.has("host"))) continue;
    const w = new _Where().range(time, range);
    if (host !== undefined) w.add("host = ?", host);
    for (
      const r of db.all(
        `SELECT substr(${time}, 1, ${len}) AS p, count(*) AS n FROM ${table} ${w.clause} GROUP BY p`,
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
export class _Series {
  readonly #cache = new Map<string, _Entry>();
  readonly #cacheMs: number;

  constructor(cacheMs: number) {
    this.#cacheMs = cacheMs;
  }

  read(db: _Db, q: SeriesQuery): SeriesBucket[] {
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
    for (let t = start; t < until; t += bucket) buckets.push({ t, ..._empty() });
    const into = (ms: number, c: _Counts) => {
      const b = buckets[Math.floor((ms - start) / bucket)];
      if (b) _add(b, c);
    };
    if (!hourly) {
      for (const [p, c] of _grouped(db, start, until, 16, q.host)) {
        const ms = Date.parse(`${p}:00.000Z`);
        if (!Number.isNaN(ms)) into(ms, c);
      }
      return buckets;
    }
    // Hours before the first one not cached come from the cache; the rest from one query.
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
    const fresh = _grouped(db, from, until, 13, q.host);
    if (this.#cache.size > _MAX_CACHED) this.#cache.clear();
    for (let h = from; h < until; h += _HOUR) {
      const p = new Date(h).toISOString().slice(0, 13);
      const c = fresh.get(p) ?? _empty();
      into(h, c);
      if (this.#cacheMs > 0 && h + _HOUR <= until && h + _HOUR <= current) {
        this.#cache.set(key(h), { ...c, at: now });
      }
    }
    return buckets;
  }
}
