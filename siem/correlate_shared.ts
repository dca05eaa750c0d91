/**
 * {@linkcode sharedRules}: correlation rules that count what several
 * centrals stored in one shared SQL store (see docs/sql-servers.md,
 * "Several centrals, one database").
 *
 * @module
 */

import { cloneEvent, createEvent, type LogEvent } from "../core/event.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import type { AuthEventRow, IncidentRow, SiemStore } from "../store/types.ts";
import type { Correlation } from "./correlate.ts";
import { asAlert } from "./alert_paths.ts";

/** Options for {@linkcode sharedRules}. */
export interface SharedRulesOptions {
  /** Opens the read side of the same store the wrapped sink writes (called once, when first needed). */
  openStore: () => Promise<SiemStore>;
  /** Most rows read back per batch. @default {10000} */
  limit?: number;
  /** A name for stats. @default the wrapped sink's */
  name?: string;
}

const _ALERT_SOURCE = "sluice-correlate";

/** A stored auth row as the sshd rules read an event (`sshd.*`, as sshdParser writes them). */
function _authEvent(r: AuthEventRow): LogEvent | undefined {
  const t = Date.parse(r.timestamp);
  if (Number.isNaN(t)) return undefined;
  const what = `${r.outcome ?? "auth"} ${r.method ?? ""} for ${r.user ?? "?"} from ${r.src_ip}`;
  return createEvent(`${what.replace(/ +/g, " ")} port ${r.port ?? "?"} (stored)`, {
    timestamp: t,
    receivedAt: t,
    ...(r.host !== null ? { host: r.host } : {}),
    ...(r.program !== null ? { program: r.program } : {}),
    fields: {
      category: "auth",
      sshd: {
        outcome: r.outcome,
        user: r.user,
        src_ip: r.src_ip,
        port: r.port,
        method: r.method,
        invalid: r.invalid_user === 1,
      },
    },
  });
}

/** A correlation alert in a batch: its rule, key and time, or `undefined`. */
function _incidentOf(e: LogEvent): { rule: string; key: string; t: number } | undefined {
  if (typeof e.id !== "string" || !e.id.startsWith("incident:")) return undefined;
  const json = e.fields.json as { rule?: unknown; key?: unknown; source?: unknown } | undefined;
  if (json?.source !== _ALERT_SOURCE || typeof json.rule !== "string") return undefined;
  if (typeof json.key !== "string") return undefined;
  return { rule: json.rule, key: json.key, t: e.timestamp ?? e.receivedAt };
}

/** Another stored incident of the same attack: same rule and key, less than `suppress` away. */
function _earlier(
  seen: readonly IncidentRow[],
  rule: string,
  key: string,
  t: number,
  suppress: number,
): IncidentRow | undefined {
  let best: IncidentRow | undefined;
  for (const i of seen) {
    if (i.rule !== rule || i.key !== key) continue;
    const at = Date.parse(i.timestamp);
    if (!(Math.abs(at - t) < suppress)) continue;
    if (!best || at < Date.parse(best.timestamp)) best = i;
  }
  return best;
}

/**
 * Wraps the sink that writes a shared SQL store (PostgreSQL, MariaDB) so the
 * correlation rules of several centrals writing it act as one:
 *
 * - **After each batch is committed**, for the groups of `rules` (those
 *   with a `sharedTable`) that the batch touched and that are not quiet
 *   here, it reads back what every central stored for those keys around
 *   the batch's times (one {@linkcode SiemStore.authWindow} read per batch,
 *   for every key) and runs it through the rule's own window
 *   ({@linkcode Correlation.judge}). When it fires, the alert is written
 *   through the wrapped sink, with the incident id the rule would give it,
 *   unless the store already holds an incident of that rule and key less
 *   than the rule's suppression period away. A split attack (half the
 *   failures at each central) is seen by whichever central commits last;
 *   both may raise it, under one id, stored once.
 * - **Before writing** a correlation alert of these rules, it looks for an
 *   incident of the same rule and key already stored less than the
 *   suppression period away (another central's, on the other side of a
 *   period's edge) and, if there is one, writes the alert under that id
 *   instead, so the store keeps one.
 *
 * Reads that fail are logged and counted, never retried with the batch (it
 * is committed). Two centrals checking at the same moment, each before the
 * other's alert is committed, can still store two alerts of one attack on
 * both sides of a period's edge. A batch without events of these rules
 * costs a pass over it and no read; one that has some, a read (two when
 * something fires).
 *
 * @param inner The sink writing the shared store (`siemPostgresSink`, `siemMysqlSink`).
 * @param rules The correlations whose windows are shared (others are ignored).
 * @param options How to open the store's read side.
 * @returns The sink, to use in `inner`'s place.
 *
 * @example
 * ```ts ignore
 * import { sharedRules } from "./correlate_shared.ts";
 * import { openStore } from "../store/open.ts";
 * const url = "postgres://siem@db/siem";
 * const db = sharedRules(siemPostgresSink({ url }), [sshdBruteForce()], {
 *   openStore: () => openStore(url),
 * });
 * ```
 */
export function sharedRules(
  inner: Sink,
  rules: readonly Correlation[],
  options: SharedRulesOptions,
): Sink {
  if (typeof options?.openStore !== "function") {
    throw new TypeError(`sharedRules: "openStore" must be a function`);
  }
  const shared = rules.filter((r) => r.sharedTable === "auth_events");
  const byRule = new Map(shared.map((r) => [r.rule, r]));
  const limit = options.limit ?? 10_000;
  let ctx: SinkContext | undefined;
  let store: Promise<SiemStore> | undefined;
  const read = async <T>(what: string, f: (s: SiemStore) => Promise<T>): Promise<T | undefined> => {
    try {
      store ??= options.openStore();
      return await f(await store);
    } catch (err) {
      // Reopened next time: a connection that failed may be gone for good.
      const s = store;
      store = undefined;
      s?.then((x) => x.close()).catch(() => {});
      if (ctx) ctx.stats.errors++;
      ctx?.log.warn(
        `shared rules: reading ${what} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  };

  // A correlation alert another central stored for the same attack: write this one under its id.
  const reuse = async (batch: readonly LogEvent[]): Promise<readonly LogEvent[]> => {
    const found: Array<[number, { rule: string; key: string; t: number }]> = [];
    for (let i = 0; i < batch.length; i++) {
      const inc = _incidentOf(batch[i] as LogEvent);
      if (inc && Number.isFinite(byRule.get(inc.rule)?.suppress)) found.push([i, inc]);
    }
    if (found.length === 0) return batch;
    let lo = Infinity, hi = -Infinity, wide = 0;
    for (const [, inc] of found) {
      lo = Math.min(lo, inc.t);
      hi = Math.max(hi, inc.t);
      wide = Math.max(wide, (byRule.get(inc.rule) as Correlation).suppress);
    }
    const rulesOf = [...new Set(found.map(([, inc]) => inc.rule))];
    const seen = await read(
      "incidents",
      (s) => s.incidents({ rules: rulesOf, since: lo - wide + 1, until: hi + wide, limit }),
    );
    if (!seen?.length) return batch;
    const out = batch.slice();
    for (const [i, inc] of found) {
      const r = byRule.get(inc.rule) as Correlation;
      const other = _earlier(seen, inc.rule, inc.key, inc.t, r.suppress);
      const e = batch[i] as LogEvent;
      if (!other || other.id === e.id) continue;
      const copy = cloneEvent(e);
      copy.id = other.id;
      out[i] = copy;
    }
    return out;
  };

  // After the commit: the groups this batch touched, run through what every central stored.
  const judge = async (batch: readonly LogEvent[]): Promise<LogEvent[]> => {
    const pending = new Map<Correlation, Map<string, [number, number]>>();
    let lo = Infinity, hi = -Infinity, wide = 0, least = Infinity;
    for (const e of batch) {
      if (e.fields.category !== "auth") continue;
      for (const r of shared) {
        const k = r.pending(e);
        if (k === undefined) continue;
        const t = e.timestamp ?? e.receivedAt;
        let keys = pending.get(r);
        if (!keys) pending.set(r, keys = new Map());
        const span = keys.get(k);
        keys.set(k, span ? [Math.min(span[0], t), Math.max(span[1], t)] : [t, t]);
        lo = Math.min(lo, t - r.window);
        hi = Math.max(hi, t + r.window);
        wide = Math.max(wide, r.suppress);
        least = Math.min(least, r.threshold);
      }
    }
    if (pending.size === 0) return [];
    const ips = new Set<string>();
    for (const keys of pending.values()) for (const k of keys.keys()) ips.add(k);
    // Bound parameters per statement are limited (65535 on Postgres): a read per 1000 addresses.
    const all = [...ips];
    const rows: AuthEventRow[] = [];
    for (let i = 0; i < all.length; i += 1000) {
      const part = await read(
        "auth events",
        (s) =>
          s.authWindow({
            srcIps: all.slice(i, i + 1000),
            since: lo,
            until: hi + 1,
            minRows: least,
            limit,
          }),
      );
      if (part === undefined) return [];
      rows.push(...part);
    }
    if (rows.length === 0) return [];
    const byKey = new Map<string, LogEvent[]>();
    for (const row of rows) {
      const e = row.src_ip === null ? undefined : _authEvent(row);
      if (!e) continue;
      const list = byKey.get(row.src_ip as string);
      if (list) list.push(e);
      else byKey.set(row.src_ip as string, [e]);
    }
    const raised: Array<[Correlation, LogEvent]> = [];
    for (const [r, keys] of pending) {
      for (const [k, [from, to]] of keys) {
        const events = (byKey.get(k) ?? []).filter((e) => {
          const t = e.timestamp as number;
          return t > from - r.window && t <= to + r.window;
        });
        const tip = r.judge(k, events);
        if (tip) raised.push([r, tip]);
      }
    }
    if (raised.length === 0) return [];
    let at = Infinity, until = -Infinity;
    for (const [, e] of raised) {
      at = Math.min(at, e.timestamp as number);
      until = Math.max(until, e.timestamp as number);
    }
    const seen = await read(
      "incidents",
      (s) =>
        s.incidents({
          rules: [...new Set(raised.map(([r]) => r.rule))],
          since: at - wide + 1,
          until: until + wide,
          limit,
        }),
    );
    if (seen === undefined) return [];
    const out: LogEvent[] = [];
    for (const [r, tip] of raised) {
      // One stored event may tip two rules: each alert is made from its own copy.
      const e = cloneEvent(tip);
      asAlert({ rule: r.rule }).apply(e);
      const inc = _incidentOf(e);
      if (!inc || _earlier(seen, r.rule, inc.key, inc.t, r.suppress)) continue;
      out.push(e);
    }
    return out;
  };

  return {
    kind: inner.kind,
    ...(options.name ?? inner.name ? { name: (options.name ?? inner.name) as string } : {}),
    ...(inner.maxBatch !== undefined ? { maxBatch: inner.maxBatch } : {}),
    ...(inner.queueSize !== undefined ? { queueSize: inner.queueSize } : {}),
    ...(inner.concurrency !== undefined ? { concurrency: inner.concurrency } : {}),
    async open(c: SinkContext): Promise<void> {
      ctx = c;
      await inner.open(c);
    },
    async write(batch: readonly LogEvent[]): Promise<void> {
      await inner.write(byRule.size ? await reuse(batch) : batch);
      if (byRule.size === 0) return;
      const alerts = await judge(batch);
      if (alerts.length === 0) return;
      try {
        await inner.write(alerts);
        ctx?.log.info(`shared rules: ${alerts.length} alert(s) from every central's events`);
      } catch (err) {
        ctx?.log.warn(
          `shared rules: storing ${alerts.length} alert(s) failed: ${
            err instanceof Error ? err.message : String(err)
          }`,
        );
      }
    },
    async close(): Promise<void> {
      try {
        await inner.close();
      } finally {
        const s = store;
        store = undefined;
        if (s) await s.then((x) => x.close(), () => {});
      }
    },
  };
}
