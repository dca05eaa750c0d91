/**
 * The rows and queries of {@linkcode SiemStore} (re-exported by
 * `types.ts`, where the conventions are): alerts, objects, triage,
 * overview and series.
 *
 * @module
 */

import type { SiemCategory } from "../siem/categorize.ts";
import type { TimeRange, TriageStatus } from "./types.ts";

// ---------------------------------------------------------------- alerts

/**
 * Which alerts: every field narrows the set; all are optional.
 *
 * @example
 * ```ts
 * import type { AlertFilter } from "./types.ts";
 * const f: AlertFilter = { host: "vm-1", severities: ["critical", "high"], text: "mimikatz" };
 * ```
 */
export interface AlertFilter extends TimeRange {
  /** Only this host (exact). */
  host?: string;
  /** Only this rule (exact). */
  rule?: string;
  /** Only these severities (see the module's conventions). */
  severities?: readonly string[];
  /**
   * Only alerts from this source (exact): the scanner or program that raised
   * them (`yara`, `sauron`, `sluice-correlate` …), the `source` column. The
   * alerts table has no other category; this is the dashboard's "category".
   */
  source?: string;
  /**
   * Only alerts whose rule, message, file, hash or host contains this text (literally, any case).
   * It reads every alert of the time range: give a range (the dashboard's default 24 h or 7 d);
   * over 1M alerts without one it takes seconds.
   */
  text?: string;
  /** Only alerts with this triage status (`open` includes never-triaged ones). */
  status?: TriageStatus;
}

/**
 * One stored alert, as listed (without `raw`).
 *
 * @example
 * ```ts
 * import type { AlertRow } from "./types.ts";
 * const a: AlertRow = {
 *   seq: 1, id: null, timestamp: "2026-11-23T08:48:00.000Z", host: "vm-1", severity: "critical",
 *   rule: "R", file: null, hash: null, message: null, source: null, status: "open",
 * };
 * ```
 */
export interface AlertRow {
  /** The store's row number (see the module's conventions); the key for {@linkcode SiemStore.alert} and triage. */
  seq: number;
  /** The event id it was stored with, if any. */
  id: string | null;
  /** Event time, ISO 8601 UTC. */
  timestamp: string;
  /** The host it came from. */
  host: string | null;
  /** The severity as stored (`critical`, `high` …). */
  severity: string | null;
  /** The rule that fired. */
  rule: string | null;
  /** The file it concerns. */
  file: string | null;
  /** The file's hash (SHA-256 usually). */
  hash: string | null;
  /** The alert's text. */
  message: string | null;
  /** The scanner or program that raised it. */
  source: string | null;
  /** Its current triage status. */
  status: TriageStatus;
}

/**
 * A query for one page of alerts, newest first.
 *
 * @example
 * ```ts
 * import type { AlertQuery } from "./types.ts";
 * const q: AlertQuery = { rule: "Mimikatz_Strings", limit: 50 };
 * ```
 */
export interface AlertQuery extends AlertFilter {
  /** Rows per page. @default {50} (at most 1000) */
  limit?: number;
  /** Where the page starts: a previous page's `next`; the newest alerts when left out. */
  cursor?: string;
}

/**
 * One page of alerts. `next` continues after the last row, stable while
 * new alerts are stored (keyset paging on (timestamp, seq), never OFFSET).
 *
 * @example
 * ```ts
 * import type { AlertPage } from "./types.ts";
 * const empty: AlertPage = { rows: [], next: null };
 * ```
 */
export interface AlertPage {
  /** The alerts, newest first (timestamp, then seq, descending). */
  rows: AlertRow[];
  /** An opaque cursor for the next (older) page, or `null` when this was the last. */
  next: string | null;
  /**
   * Set when a text filter's scan stopped at its time budget before the page
   * filled (the SQLite store, for a text its index cannot serve): the rows
   * newer than `searchedTo` were all searched, older ones not yet; `next`
   * continues the scan from the last row examined. Absent on a complete page.
   */
  partial?: { searchedTo: string };
}

/**
 * One change of an alert's triage status. History is kept: every change is
 * a row; the alert's status is its latest change.
 *
 * @example
 * ```ts
 * import type { TriageRow } from "./types.ts";
 * const t: TriageRow = {
 *   alert: 1, status: "closed", note: "false positive", by: "admin", at: "2026-11-23T09:00:00.000Z",
 * };
 * ```
 */
export interface TriageRow {
  /** The alert's `seq`. */
  alert: number;
  /** The status it was given. */
  status: TriageStatus;
  /** The note given with it (may be empty). */
  note: string;
  /** Who did it (a user name). */
  by: string;
  /** When, ISO 8601 UTC. */
  at: string;
}

/**
 * A stored object (a quarantined file, a dump) as the object channel stored it.
 *
 * @example
 * ```ts
 * import type { ObjectRow } from "./types.ts";
 * const o: ObjectRow = {
 *   seq: 1, synced_at: "2026-11-23T08:48:00.000Z", host: "vm-1", kind: "quarantine",
 *   path: "a.bin", size: 10, sha256: "ab", remote: "samples/vm-1/quarantine/a.bin", encrypted: 0,
 * };
 * ```
 */
export interface ObjectRow {
  /** The store's row number. */
  seq: number;
  /** When it was stored, ISO 8601 UTC. */
  synced_at: string;
  /** The host it came from. */
  host: string | null;
  /** `quarantine`, `dumps` … */
  kind: string | null;
  /** Its path relative to the scanned directory. */
  path: string | null;
  /** Its size in bytes. */
  size: number | null;
  /** Its SHA-256, lower-case hex. */
  sha256: string | null;
  /** Where it is stored on the central. */
  remote: string | null;
  /** 1 when stored encrypted, 0 when not, null when unknown. */
  encrypted: number | null;
}

/**
 * Everything about one alert: its row, the raw event, the stored samples with
 * the same SHA-256, and its triage history (oldest first).
 *
 * @example
 * ```ts
 * import type { AlertDetail } from "./types.ts";
 * function title(d: AlertDetail): string { return `${d.alert.rule} on ${d.alert.host}`; }
 * ```
 */
export interface AlertDetail {
  /** The alert. */
  alert: AlertRow;
  /** The alert's JSON line (or text) as received. */
  raw: string;
  /** Objects whose `sha256` equals the alert's `hash` (case-insensitive), newest first. */
  objects: ObjectRow[];
  /** Every triage change, oldest first. */
  triage: TriageRow[];
}

/**
 * How many alerts name one SHA-256 in their `hash` field, and the latest.
 *
 * @example
 * ```ts
 * import type { HashAlertsRow } from "./types.ts";
 * const r: HashAlertsRow = { sha256: "ab".repeat(32), alerts: 2, last: "2026-11-23T08:48:00.000Z" };
 * ```
 */
export interface HashAlertsRow {
  /** The SHA-256, lower-case hex. */
  sha256: string;
  /** Alerts whose `hash` is this SHA-256 (any case). */
  alerts: number;
  /** The latest such alert's time. */
  last: string;
}

/**
 * Filter for objects.
 *
 * @example
 * ```ts
 * import type { ObjectFilter } from "./types.ts";
 * const f: ObjectFilter = { sha256Prefix: "3f2a9c01" };
 * ```
 */
export interface ObjectFilter extends TimeRange {
  /** Only this host. */
  host?: string;
  /** Only objects whose SHA-256 starts with this (lower-case hex; a full hash matches exactly). */
  sha256Prefix?: string;
  /** Most rows. @default {100} */
  limit?: number;
}

// ---------------------------------------------------------------- overview and series

/**
 * A count by name, for "top" lists.
 *
 * @example
 * ```ts
 * import type { TopRow } from "./types.ts";
 * const t: TopRow = { key: "vm-1", count: 12 };
 * ```
 */
export interface TopRow {
  /** What is counted (a rule, a host, an address). */
  key: string;
  /** How many. */
  count: number;
}

/**
 * What the overview asks for.
 *
 * @example
 * ```ts
 * import type { OverviewQuery } from "./types.ts";
 * const q: OverviewQuery = { since: Date.now() - 86_400_000, top: 10 };
 * ```
 */
export interface OverviewQuery extends TimeRange {
  /** Length of each "top" list. @default {10} */
  top?: number;
  /** How many latest critical alerts. @default {10} */
  latest?: number;
  /** "Now" for host status, in ms. @default {Date.now()} */
  now?: number;
  /** Heartbeat interval of hosts that report none, in ms. @default {60000} */
  intervalMs?: number;
}

/**
 * The overview of a time range.
 *
 * @example
 * ```ts
 * import type { Overview } from "./types.ts";
 * function line(o: Overview): string { return `${o.counts.alerts} alerts, ${o.counts.critical} critical`; }
 * ```
 */
export interface Overview {
  /** Counters over the range. */
  counts: {
    /** Events stored in every table in the range (heartbeats excluded). */
    events: number;
    /** Alerts in the range. */
    alerts: number;
    /** Critical alerts in the range. */
    critical: number;
    /** Hosts by status now (not limited to the range). */
    hosts: { ok: number; stale: number; silent: number; unknown: number };
  };
  /** Rules with the most alerts in the range. */
  topRules: TopRow[];
  /** Hosts with the most alerts in the range. */
  topHosts: TopRow[];
  /** Source addresses with the most failed SSH logins in the range. */
  topFailedSources: TopRow[];
  /** The latest critical alerts in the range, newest first. */
  latestCritical: AlertRow[];
}

/**
 * A series query: counts per time bucket.
 *
 * @example
 * ```ts
 * import type { SeriesQuery } from "./types.ts";
 * const day: SeriesQuery = { since: Date.now() - 86_400_000, bucketMs: 3_600_000 };
 * ```
 */
export interface SeriesQuery {
  /** Start, ms (rounded down to a bucket). */
  since: number;
  /** End, ms. @default {Date.now()} */
  until?: number;
  /** Bucket width in ms: a whole number of hours or of minutes dividing an hour. @default {3600000} */
  bucketMs?: number;
  /** Only this host. */
  host?: string;
}

/**
 * One bucket of a series: alerts by severity class and events by category.
 * Every bucket of the range is present, empty ones with zeros.
 *
 * @example
 * ```ts
 * import type { SeriesBucket } from "./types.ts";
 * function total(b: SeriesBucket): number { return Object.values(b.alerts).reduce((a, n) => a + n, 0); }
 * ```
 */
export interface SeriesBucket {
  /** The bucket's start, ms. */
  t: number;
  /** Alerts by severity class: `critical`, `high`, `medium`, `low`, `info`, `other`. */
  alerts: Record<"critical" | "high" | "medium" | "low" | "info" | "other", number>;
  /** Events by category (tables other than alerts; heartbeats excluded): `auth`, `firewall` … */
  events: Partial<Record<SiemCategory, number>>;
}
