/**
 * The windows of one correlation rule, per key, and their saved form:
 * what {@linkcode correlate}'s `snapshot()` writes and `restore()` reads.
 *
 * @module
 */

import { isoTime } from "./_correlate_util.ts";
import type { CorrelateAlert, CorrelateGroup, CorrelateSnapshot } from "./correlate_types.ts";

/**
 * One key's window: the times counted (oldest first), their distinct and
 * collected values when the rule has them, when it last fired, and when it
 * was last used (a counter: the least recently used are evicted first).
 */
export interface CorrelateWindow {
  /** Times of the counted events, in ms, oldest first. */
  t: number[];
  /** The `distinct` value of each, or null without `distinct`. */
  d: string[] | null;
  /** The `collect` value of each, or null without `collect`. */
  c: string[] | null;
  /** When the group last fired, in ms (−Infinity: never). */
  fired: number;
  /** When the group was last used, as a counter: the least recently used go first. */
  used: number;
}

/**
 * The windows as a snapshot, least recently used first (so a restore keeps
 * the eviction order).
 *
 * @param rule The rule's name.
 * @param groups The windows by key.
 * @returns The snapshot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { snapshotWindows } from "./_correlate_groups.ts";
 * const g = new Map([["10.0.0.9", { t: [1, 2], d: null, c: null, fired: -Infinity, used: 1 }]]);
 * assert.deepEqual(snapshotWindows("r", g).groups, [["10.0.0.9", null, [1, 2], null, null]]);
 * ```
 */
export function snapshotWindows(
  rule: string,
  groups: ReadonlyMap<string, CorrelateWindow>,
): CorrelateSnapshot {
  const out: CorrelateSnapshot["groups"] = [];
  for (const [k, g] of [...groups].sort((a, b) => a[1].used - b[1].used)) {
    out.push([
      k,
      Number.isFinite(g.fired) ? g.fired : null,
      g.t.slice(),
      g.d ? g.d.slice() : null,
      g.c ? g.c.slice() : null,
    ]);
  }
  return { v: 1, rule, groups: out };
}

/** How the rule that restores a snapshot is configured. */
export interface RestoreShape {
  /** The rule's name: a snapshot of another rule is refused. */
  rule: string;
  /** Whether the rule counts distinct values. */
  distinct: boolean;
  /** Whether the rule collects evidence. */
  collect: boolean;
  /** Times kept per key; older ones are cut. */
  maxEntries: number;
  /** Keys kept; the least recently used beyond it are dropped. */
  maxKeys: number;
  /** The next use counter (called once per restored key, in order). */
  nextUse: () => number;
}

/**
 * Reads a snapshot back into windows, checking every part: anything that
 * is not a snapshot of this rule gives `undefined`, a malformed group is
 * skipped, and a group saved by the rule configured differently (without
 * its distinct or collected values) starts empty.
 *
 * @param snapshot What was saved (untrusted).
 * @param shape The restoring rule.
 * @returns The windows and the latest time they name, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { restoreWindows } from "./_correlate_groups.ts";
 * let n = 0;
 * const shape = { rule: "r", distinct: false, collect: false, maxEntries: 10, maxKeys: 10, nextUse: () => ++n };
 * const got = restoreWindows({ v: 1, rule: "r", groups: [["k", 5, [1, 2], null, null]] }, shape);
 * assert.equal(got?.latest, 5);
 * assert.equal(restoreWindows({ v: 1, rule: "other", groups: [] }, shape), undefined);
 * ```
 */
export function restoreWindows(
  snapshot: unknown,
  shape: RestoreShape,
): { groups: Map<string, CorrelateWindow>; latest: number } | undefined {
  const s = snapshot as Partial<CorrelateSnapshot> | null;
  if (
    !s || typeof s !== "object" || s.v !== 1 || s.rule !== shape.rule || !Array.isArray(s.groups)
  ) {
    return undefined;
  }
  const { distinct, collect, maxEntries } = shape;
  let latest = -Infinity;
  const next = new Map<string, CorrelateWindow>();
  for (const item of s.groups) {
    if (!Array.isArray(item)) continue;
    const [k, fired, t, d, c] = item as unknown[];
    if (typeof k !== "string" || !Array.isArray(t) || !t.every((x) => typeof x === "number")) {
      continue;
    }
    const strings = (x: unknown) =>
      Array.isArray(x) && x.length === t.length && x.every((v) => typeof v === "string")
        ? (x as string[]).slice()
        : null;
    const g: CorrelateWindow = {
      t: (t as number[]).slice(-maxEntries),
      d: distinct ? strings(d) : null,
      c: collect ? strings(c) : null,
      fired: typeof fired === "number" ? fired : -Infinity,
      used: shape.nextUse(),
    };
    // A group saved by a rule configured differently (no distinct values then) starts empty.
    if ((distinct && !g.d) || (collect && !g.c)) {
      g.t = [];
      g.d = distinct ? [] : null;
      g.c = collect ? [] : null;
    } else if (g.t.length < t.length) {
      const cut = t.length - g.t.length;
      g.d = g.d ? g.d.slice(cut) : null;
      g.c = g.c ? g.c.slice(cut) : null;
    }
    next.set(k, g);
    for (const x of g.t) if (x > latest) latest = x;
    if (Number.isFinite(g.fired) && g.fired > latest) latest = g.fired;
  }
  while (next.size > shape.maxKeys) next.delete(next.keys().next().value as string);
  return { groups: next, latest };
}

/** What a rule's alert carries beside its window. */
export interface AlertShape {
  /** The rule's name. */
  rule: string;
  /** The alert's severity. */
  severity: string;
  /** The window in ms (Infinity: no window). */
  window: number;
  /** The quiet period in ms after firing; with it the alert names an incident. */
  suppress: number;
  /** The most evidence values an alert lists. */
  maxEvidence: number;
}

/**
 * The alert a window raises when it fires at time `t`: its counts, first
 * and last times, up to `maxEvidence` distinct evidence values (collected,
 * else distinct), and the incident that names the rule, the key and the
 * suppression period (so centrals that see the same attack name it alike).
 *
 * @param key The group's key.
 * @param g Its window.
 * @param t The firing event's time, in ms.
 * @param shape The rule.
 * @returns The group as `emit` sees it, and the alert.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { windowAlert } from "./_correlate_groups.ts";
 * const g = { t: [1000, 2000], d: null, c: ["a", "a", "b"].slice(1), fired: -Infinity, used: 1 };
 * const { alert } = windowAlert("10.0.0.9", g, 2000, { rule: "r", severity: "high", window: 60_000, suppress: 60_000, maxEvidence: 20 });
 * assert.equal(alert.count, 2);
 * assert.equal(alert.incident, "r:0:10.0.0.9");
 * ```
 */
export function windowAlert(
  key: string,
  g: CorrelateWindow,
  t: number,
  shape: AlertShape,
): { group: CorrelateGroup; alert: CorrelateAlert } {
  const evidence = g.c ?? g.d;
  const values: string[] = [];
  if (evidence && shape.maxEvidence > 0) {
    const seen = new Set<string>();
    for (const v of evidence) {
      if (v === "" || seen.has(v)) continue;
      seen.add(v);
      values.push(v);
      if (values.length >= shape.maxEvidence) break;
    }
  }
  const n = g.t.length;
  const first = n ? (g.t[0] as number) : t;
  const last = n ? (g.t[n - 1] as number) : t;
  // With `distinct`, entries are unique per value, so the count is the distinct count.
  const group: CorrelateGroup = {
    key,
    count: n,
    distinct: n,
    values,
    firstSeen: first,
    lastSeen: Math.max(last, t),
  };
  const alert: CorrelateAlert = {
    rule: shape.rule,
    severity: shape.severity,
    key,
    count: group.count,
    distinct: group.distinct,
    values,
    first_seen: isoTime(group.firstSeen),
    last_seen: isoTime(group.lastSeen),
    window_s: shape.window === Infinity ? 0 : shape.window / 1000,
  };
  if (shape.suppress > 0 && Number.isFinite(shape.suppress)) {
    alert.incident = `${shape.rule}:${Math.floor(t / shape.suppress)}:${key}`;
  }
  return { group, alert };
}
