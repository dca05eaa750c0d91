/**
 * Windowed detection: {@linkcode correlate} groups events by a key, counts
 * them (or distinct values) in a sliding window, and marks the event that
 * reaches a threshold with an alert; {@linkcode correlateStore} keeps the
 * windows across restarts.
 *
 * How an alert reaches the `alerts` table. A step cannot create events in
 * this engine, so `correlate` marks the event that crossed the threshold:
 * it sets `fields.alerts[<rule>]` to a {@linkcode CorrelateAlert} (`rule`,
 * `severity`, `key`, `count`, the evidence), and `fields.alert` too when no
 * rule marked the event before it, and leaves everything else as it was.
 * Several rules may fire on one event (a failed login that crosses both
 * the brute-force and the invalid-user thresholds): each keeps its own
 * entry. Embedded paths, one per rule ({@linkcode alertPaths}), then take
 * the marked events, turn their own copies into alerts with
 * {@linkcode asAlert} and store them, one alert per rule with its own id,
 * while the event itself still goes wherever it went (an sshd failure
 * stays in `auth_events`):
 *
 * ```ts ignore
 * const rules = [sshdBruteForce(), invalidUserSweep(), sshdSuccessAfterFailures()];
 * const db = siemSqliteSink({ database: "data/siem.db" });
 * paths: [{
 *   from: ["syslog"],
 *   steps: [program("^sshd"), sshdParser(), categorize(), ...rules],
 *   to: [db, correlateStore(rules)],             // every event, and the rules' windows
 *   paths: alertPaths(rules, { to: [db] }),      // each rule's alert, once more, as an alert
 * }]
 * ```
 *
 * How the windows survive a restart. Steps do no I/O, so each correlation
 * offers {@linkcode Correlation.snapshot} and {@linkcode Correlation.restore},
 * and {@linkcode correlateStore} is a small sink that restores them when it
 * opens (sinks open before any source starts, so no event is counted
 * first) and saves them into its state (the runner's `--state-dir`) at most
 * `saveMs` after a batch reached it (on a timer, so a window changed by the
 * last batch before a quiet spell is saved too) and when it closes. Put it
 * in the `to` of the path whose steps hold the rules. The windows are saved
 * as the events were routed,
 * which may be ahead of what the sinks acknowledged: after a crash, events
 * the source replays may be counted twice (and up to `saveMs` of events
 * since the last save not at all). A replayed event that crosses the
 * threshold again raises an alert with the same id, which a SQLite sink
 * with deduplication stores once.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { fieldGetter, fieldSetter } from "../core/event.ts";
import { compileTemplate } from "../core/template.ts";
import { eventTest, intOption, isAlert, msOption } from "./_correlate_util.ts";
import {
  type CorrelateWindow,
  restoreWindows,
  snapshotWindows,
  windowAlert,
} from "./_correlate_groups.ts";

export { correlateStore, type CorrelateStoreOptions } from "./correlate_store.ts";
export {
  type AlertFieldOptions,
  type AlertPathOptions,
  alertPaths,
  asAlert,
  hasAlert,
} from "./alert_paths.ts";

export type {
  CorrelateAlert,
  CorrelateGroup,
  CorrelateOptions,
  CorrelateSnapshot,
  Correlation,
  EventTest,
} from "./correlate_types.ts";
import type { CorrelateOptions, CorrelateSnapshot, Correlation } from "./correlate_types.ts";

type _Group = CorrelateWindow;

/**
 * A windowed grouping step. For each event the `filter` accepts, it renders
 * `key`, adds the event's time (its parsed timestamp, else its receive
 * time) to that group's sliding window, and when the group reaches
 * `threshold` events (or distinct `distinct` values) it writes a
 * {@linkcode CorrelateAlert} into `fields.alert` of that event, empties the
 * group's window and keeps the group quiet for `suppress` ms (the alert's
 * `incident` names the rule, key and suppression period, so centrals that
 * see the same attack name it alike). Events are
 * never dropped or otherwise changed. Pure: no I/O, no clock; times come
 * from the events, so replays and tests behave the same.
 *
 * Memory is bounded by `maxKeys` groups of at most `maxEntries` times.
 *
 * @param options Rule name, key, window, threshold, suppression, evidence.
 * @returns The step, with `snapshot()` and `restore()` for {@linkcode correlateStore}.
 * @throws {TypeError} When an option has the wrong type.
 * @throws {RangeError} When a number is out of range.
 *
 * @example Five failed logins from one address in a minute
 * ```ts
 * import assert from "node:assert/strict";
 * import { correlate } from "./correlate.ts";
 * import { createEvent } from "../core/event.ts";
 * const rule = correlate({
 *   rule: "many_failures",
 *   key: "${ip}",
 *   window: 60_000,
 *   threshold: 5,
 *   filter: (e) => e.fields.outcome === "failure",
 * });
 * let alert: unknown;
 * for (let i = 0; i < 5; i++) {
 *   const e = createEvent("x", { timestamp: i * 1000, fields: { ip: "10.0.0.9", outcome: "failure" } });
 *   rule.apply(e);
 *   alert = e.fields.alert ?? alert;
 * }
 * assert.ok((alert as { count: number }).count === 5);
 * ```
 */
export function correlate(options: CorrelateOptions): Correlation {
  const where = "correlate";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${where}: options are required, got ${String(options)}`);
  }
  const rule = options.rule;
  if (typeof rule !== "string" || rule === "") {
    throw new TypeError(`${where}: "rule" must be a non-empty string, got ${JSON.stringify(rule)}`);
  }
  const w = `correlate(${rule})`;
  if (options.key === undefined) throw new TypeError(`${w}: "key" is required`);
  const key = compileTemplate(options.key);
  const window = msOption(w, "window", options.window, 1);
  const threshold = intOption(w, "threshold", options.threshold, 1);
  const suppress = options.suppress === undefined
    ? window
    : msOption(w, "suppress", options.suppress, 0);
  const distinct = options.distinct === undefined ? null : compileTemplate(options.distinct);
  // Without `collect`, the distinct values are the evidence: no second list.
  const collect = options.collect === undefined ? null : compileTemplate(options.collect);
  const filter = eventTest(w, "filter", options.filter);
  const trigger = eventTest(w, "trigger", options.trigger);
  const severity = options.severity ?? "high";
  if (typeof severity !== "string") {
    throw new TypeError(`${w}: "severity" must be a string, got ${typeof severity}`);
  }
  const emit = options.emit;
  if (emit !== undefined && typeof emit !== "function") {
    throw new TypeError(`${w}: "emit" must be a function, got ${typeof emit}`);
  }
  const alertField = options.field ?? "alert";
  const setAlert = fieldSetter(alertField);
  const getAlert = fieldGetter(alertField);
  const maxKeys = intOption(w, "maxKeys", options.maxKeys ?? 100_000, 1);
  const maxEntries = intOption(
    w,
    "maxEntries",
    options.maxEntries ?? Math.max(4 * threshold, 256),
    1,
  );
  if (maxEntries < threshold) {
    throw new RangeError(
      `${w}: "maxEntries" must be at least the threshold (${threshold}), got ${maxEntries}`,
    );
  }
  const maxEvidence = intOption(w, "maxEvidence", options.maxEvidence ?? 20, 0);

  let groups = new Map<string, _Group>();
  let latest = -Infinity;
  let sinceSweep = 0;

  const prune = (g: _Group, now: number) => {
    if (window === Infinity) return;
    const limit = now - window;
    let drop = 0;
    while (drop < g.t.length && (g.t[drop] as number) <= limit) drop++;
    if (drop) {
      g.t.splice(0, drop);
      g.d?.splice(0, drop);
      g.c?.splice(0, drop);
    }
  };

  // With `distinct`, entries are unique per value (see add), so this counts values.
  const count = (g: _Group): number => g.t.length;

  // Forgets groups whose window is empty and whose quiet period is over.
  const sweep = (now: number) => {
    for (const [k, g] of groups) {
      prune(g, now);
      if (g.t.length === 0 && !(now - g.fired < suppress)) groups.delete(k);
    }
  };

  // Moving a key to the end of the Map on every use (a classic LRU) costs more
  // than the rest of the step; a use counter and a rare bulk eviction do not.
  let clock = 0;
  const evict = () => {
    sweep(latest);
    if (groups.size < maxKeys) return;
    const byUse = [...groups].sort((a, b) => a[1].used - b[1].used);
    const drop = Math.max(1, Math.ceil(maxKeys / 10));
    for (let i = 0; i < drop && i < byUse.length; i++) {
      groups.delete((byUse[i] as [string, _Group])[0]);
    }
  };

  const touch = (k: string): _Group => {
    let g = groups.get(k);
    if (!g) {
      if (groups.size >= maxKeys) evict();
      g = { t: [], d: distinct ? [] : null, c: collect ? [] : null, fired: -Infinity, used: 0 };
      groups.set(k, g);
    }
    g.used = ++clock;
    return g;
  };

  const add = (g: _Group, t: number, e: LogEvent): boolean => {
    let dv: string | null = null;
    if (distinct) {
      dv = distinct(e);
      if (dv === "") return false;
      const at = (g.d as string[]).indexOf(dv);
      if (at >= 0) {
        g.t.splice(at, 1);
        (g.d as string[]).splice(at, 1);
        g.c?.splice(at, 1);
      }
    }
    // Keep times in order even when events arrive slightly out of order.
    let at = g.t.length;
    while (at > 0 && (g.t[at - 1] as number) > t) at--;
    g.t.splice(at, 0, t);
    if (g.d) g.d.splice(at, 0, dv as string);
    if (g.c) g.c.splice(at, 0, (collect as (e: LogEvent) => string)(e));
    if (g.t.length > maxEntries) {
      g.t.shift();
      g.d?.shift();
      g.c?.shift();
    }
    return true;
  };

  const fire = (k: string, g: _Group, t: number, e: LogEvent) => {
    const { group, alert } = windowAlert(k, g, t, {
      rule,
      severity,
      window,
      suppress,
      maxEvidence,
    });
    if (emit) {
      try {
        Object.assign(alert, emit(group, e));
      } catch {
        // A faulty emit still raises the alert, without its extra evidence.
      }
    }
    // Each rule's alert has its own entry: two rules firing on one event are two alerts.
    const all = e.fields.alerts;
    if (all !== null && typeof all === "object" && !Array.isArray(all)) {
      (all as Record<string, unknown>)[rule] = alert;
    } else e.fields.alerts = { [rule]: alert };
    if (!isAlert(getAlert(e))) setAlert(e, alert);
    g.fired = t;
    g.t.length = 0;
    if (g.d) g.d.length = 0;
    if (g.c) g.c.length = 0;
  };

  const quiet = (g: _Group, t: number) => t - g.fired < suppress;

  // One event at time t, counted and/or a trigger, into its group (or a scratch group): whether
  // it fired.
  const feed = (
    k: string,
    t: number,
    e: LogEvent,
    counted: boolean,
    fires: boolean,
    scratch: _Group | null,
  ): boolean => {
    let fired = false;
    if (fires) {
      const g = scratch ?? groups.get(k);
      if (g) {
        prune(g, t);
        if (count(g) >= threshold && !quiet(g, t)) {
          fire(k, g, t, e);
          fired = true;
        }
      }
    }
    if (!counted) return fired;
    const g = scratch ?? touch(k);
    prune(g, t);
    if (!add(g, t, e) || trigger) return fired;
    if (count(g) >= threshold && !quiet(g, t)) {
      fire(k, g, t, e);
      return true;
    }
    return fired;
  };

  const step: Correlation = {
    kind: "correlate",
    name: options.name ?? `correlate ${rule}`,
    rule,
    get size() {
      return groups.size;
    },
    apply(e: LogEvent): void {
      const counted = filter ? filter(e) : true;
      const fires = trigger ? trigger(e) : false;
      if (!counted && !fires) return;
      const k = key(e);
      if (k === "") return;
      const t = e.timestamp ?? e.receivedAt;
      if (t > latest) latest = t;
      if (++sinceSweep >= 4096 && groups.size > 1024) {
        sinceSweep = 0;
        sweep(latest);
      }
      feed(k, t, e, counted, fires, null);
    },
    window,
    suppress,
    threshold,
    ...(options.sharedTable === "auth_events" ? { sharedTable: "auth_events" as const } : {}),
    pending(e: LogEvent): string | undefined {
      if (!(filter ? filter(e) : true) && !(trigger ? trigger(e) : false)) return undefined;
      const k = key(e);
      if (k === "") return undefined;
      const g = groups.get(k);
      return g && quiet(g, e.timestamp ?? e.receivedAt) ? undefined : k;
    },
    judge(k: string, events: readonly LogEvent[]): LogEvent | undefined {
      const real = groups.get(k);
      const g: _Group = {
        t: [],
        d: distinct ? [] : null,
        c: collect ? [] : null,
        fired: real?.fired ?? -Infinity,
        used: 0,
      };
      for (const e of events) {
        const counted = filter ? filter(e) : true;
        const fires = trigger ? trigger(e) : false;
        if ((!counted && !fires) || key(e) !== k) continue;
        if (!feed(k, e.timestamp ?? e.receivedAt, e, counted, fires, g)) continue;
        const t = e.timestamp ?? e.receivedAt;
        const own = real ?? touch(k);
        own.fired = Math.max(own.fired, t);
        own.t.length = 0;
        if (own.d) own.d.length = 0;
        if (own.c) own.c.length = 0;
        return e;
      }
      return undefined;
    },
    snapshot(): CorrelateSnapshot {
      return snapshotWindows(rule, groups);
    },
    restore(snapshot: unknown): boolean {
      const got = restoreWindows(snapshot, {
        rule,
        distinct: distinct !== null,
        collect: collect !== null,
        maxEntries,
        maxKeys,
        nextUse: () => ++clock,
      });
      if (!got) return false;
      groups = got.groups;
      if (got.latest > latest) latest = got.latest;
      return true;
    },
  };
  return step;
}
