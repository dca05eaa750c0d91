/**
 * A source that watches the VM registry and raises an alert when a host
 * falls silent, and a recovery event when it comes back.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { sleep } from "../core/backoff.ts";
import { createEvent, type LogEvent } from "../core/event.ts";
import type { Source, SourceContext } from "../core/types.ts";

/** Options for {@linkcode hostWatchSource}. */
export interface HostWatchSourceOptions {
  /** The SIEM database whose `vms` table (`host`, `last_seen`) is watched. */
  database: string;
  /**
   * The fleet's heartbeat interval, in ms. When left out, each host's own
   * interval (the `interval_s` its heartbeats report) is used, and 60 s
   * for hosts that never sent one. @default {60000}
   */
  interval?: number;
  /** A host is silent after this many intervals without a heartbeat or any event. @default {3} */
  factor?: number;
  /** How often the registry is read, in ms. @default {interval / 4, at least 10 ms} */
  checkEvery?: number;
  /** The silence alert's severity. @default {"high"} */
  severity?: string;
  /** A name for stats, state and event ids. */
  name?: string;
}

/** The state kept per silent host: when it was last seen before the alert. */
type _Silent = Record<string, string>;

/**
 * Reads `vms` every `checkEvery` ms (read-only) and compares each host's
 * `last_seen` with the clock. A host not seen for `factor × interval` (its
 * own heartbeat interval unless `interval` is given) gets one alert (rule
 * `host_silent`); when it is seen after that, one recovery event (rule
 * `host_recovered`, severity `info`). Which hosts are silent is kept
 * in the source's state, so a restart neither repeats an alert nor misses a
 * recovery; the state is written only once the alert is stored.
 *
 * Both are alert-shaped: the message is JSON with `timestamp`, `host` (the
 * silent VM), `severity`, `rule`, `msg`, `source: "sluice-hostwatch"` and
 * `last_seen`, `fields.json` holds the same and `fields.category` is
 * `"alerts"`, so `siemSqliteSink()` stores them in `alerts`; `vmsSink()`
 * knows them by their program (`sluice-hostwatch`) and does not count them
 * as a sign of life. Ids are `<name>:<host>:silent|recovered:<ms>`, so a
 * replay stores nothing twice.
 *
 * @param options Database, interval, factor, check period, severity.
 * @returns The source.
 * @throws {TypeError} When `database` is missing.
 * @throws {RangeError} When a number is out of range.
 *
 * @example On the central, beside the store
 * ```ts
 * import { hostWatchSource } from "./host_watch.ts";
 * const watch = hostWatchSource({ database: "siem.db", interval: 60_000 });
 * ```
 */
export function hostWatchSource(options: HostWatchSourceOptions): Source {
  const where = "hostWatchSource";
  if (typeof options?.database !== "string" || options.database === "") {
    throw new TypeError(`${where}: "database" must be a file path`);
  }
  const interval = _positive(where, "interval", options.interval ?? 60_000);
  const factor = _positive(where, "factor", options.factor ?? 3);
  const checkEvery = _positive(
    where,
    "checkEvery",
    options.checkEvery ?? Math.max(interval / 4, 10),
  );
  const severity = options.severity ?? "high";
  const abort = new AbortController();
  let loop: Promise<void> | undefined;

  interface _Vm {
    host: string;
    last: number;
    lastText: string;
    limit: number;
  }
  const read = (): _Vm[] => {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(options.database, { readOnly: true });
    } catch {
      return []; // No database yet: nothing to watch.
    }
    try {
      const columns = (db.prepare(`PRAGMA table_info("vms")`).all() as Array<{ name: string }>)
        .map((c) => c.name);
      if (!columns.includes("host") || !columns.includes("last_seen")) return []; // No registry yet.
      const perHost = columns.includes("interval_s") && options.interval === undefined;
      const rows = db.prepare(
        `SELECT host, last_seen${perHost ? ", interval_s" : ""} FROM vms WHERE host IS NOT NULL`,
      ).all() as Array<{ host: unknown; last_seen: unknown; interval_s?: unknown }>;
      const out: _Vm[] = [];
      for (const r of rows) {
        if (typeof r.host !== "string" || typeof r.last_seen !== "string") continue;
        const last = Date.parse(r.last_seen);
        if (Number.isNaN(last)) continue;
        const own = typeof r.interval_s === "number" && r.interval_s > 0
          ? r.interval_s * 1000
          : interval;
        out.push({ host: r.host, last, lastText: r.last_seen, limit: own * factor });
      }
      return out;
    } catch {
      return [];
    } finally {
      db.close();
    }
  };

  const alert = (
    host: string,
    rule: "host_silent" | "host_recovered",
    at: number,
    last: number,
    now: number,
    episode: string,
  ): LogEvent => {
    const silentFor = Math.round((now - last) / 1000);
    const body = {
      timestamp: new Date(at).toISOString(),
      host,
      severity: rule === "host_silent" ? severity : "info",
      rule,
      msg: rule === "host_silent"
        ? `${host} silent: no heartbeat or event for ${silentFor} s (last seen ${
          new Date(last).toISOString()
        })`
        : `${host} is back (last seen ${new Date(last).toISOString()})`,
      source: "sluice-hostwatch",
      last_seen: new Date(last).toISOString(),
      detected_at: new Date(now).toISOString(),
      silent_s: silentFor,
    };
    return createEvent(JSON.stringify(body), {
      host,
      program: "sluice-hostwatch",
      severity: rule === "host_silent" ? 4 : 5,
      timestamp: at,
      // Named by the silence it is about (the host's last sign of life before it), not by when
      // this central noticed: centrals that share a store and hear the same heartbeats raise one
      // alert per silence and one per return, and a restart that checks again repeats neither.
      id: `hostwatch:${host}:${rule === "host_silent" ? "silent" : "recovered"}:${episode}`,
      fields: { json: body, category: "alerts" },
    });
  };

  const run = async (ctx: SourceContext) => {
    // In memory at once (so a check never repeats an alert), on disk once stored.
    const silent: _Silent = { ...(ctx.state.get<_Silent>("silent") ?? {}) };
    while (!abort.signal.aborted) {
      const now = Date.now();
      const batch: LogEvent[] = [];
      const changes: Array<[string, string | undefined]> = [];
      for (const { host, last, lastText, limit } of read()) {
        const since = silent[host];
        if (since === undefined) {
          if (now - last > limit) {
            batch.push(alert(host, "host_silent", now, last, now, lastText));
            silent[host] = lastText;
            changes.push([host, lastText]);
          }
        } else {
          const before = Date.parse(since);
          // Seen after the silence began: back (whatever the clock says now).
          if (Number.isNaN(before) || last > before) {
            batch.push(alert(host, "host_recovered", now, last, now, since));
            delete silent[host];
            changes.push([host, undefined]);
          }
        }
      }
      if (batch.length) {
        ctx.stats.received += batch.length;
        ctx.stats.add("silent_alerts", batch.filter((e) => e.id?.includes(":silent:")).length);
        await ctx.emit(batch, () => {
          const stored = { ...(ctx.state.get<_Silent>("silent") ?? {}) };
          for (const [host, since] of changes) {
            if (since === undefined) delete stored[host];
            else stored[host] = since;
          }
          ctx.state.set("silent", stored);
        });
      }
      ctx.stats.set("silent_hosts", Object.keys(silent).length);
      await sleep(checkEvery, abort.signal);
    }
  };

  const source: Source = {
    kind: "host-watch",
    start(ctx) {
      loop = run(ctx).catch((err) => {
        ctx.stats.errors++;
        ctx.log.error("host watch failed", { error: String(err) });
      });
      return Promise.resolve();
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
  return options.name ? { ...source, name: options.name } : source;
}

function _positive(where: string, option: string, value: unknown): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${where}: "${option}" must be a positive number, got ${String(value)}`);
  }
  return value;
}
