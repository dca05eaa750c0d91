/**
 * The read side of the SIEM: one interface, {@linkcode SiemStore}, that
 * `sluice query`, host status and the dashboard read through, so every
 * command works the same whatever database holds the tables (SQLite now,
 * PostgreSQL and MariaDB later).
 *
 * Conventions every adapter keeps:
 *
 * - Every method is async and returns plain rows: strings, numbers, `null`,
 *   arrays and plain objects; no driver types, no bigint (counts are
 *   numbers).
 * - **Times in arguments are milliseconds since the epoch** (`since`,
 *   `until`, `now`, `expiresAt`); **times in rows are ISO 8601 UTC text with
 *   milliseconds** (`2026-11-23T08:48:00.000Z`), as the tables store them.
 *   A range is `since <= time < until`; a bound left out is open.
 * - Every filter value is a bound parameter; no value from a caller is ever
 *   put into SQL text. Text filters match literally (`%`, `_` are not
 *   wildcards) and case-insensitively.
 * - `seq` is the store's own row number (SQLite's rowid, a bigserial in a
 *   SQL server): it grows with insert order and identifies a row in its
 *   table. The event `id` (the dedup key) may be `null` and is not used as a
 *   key here.
 * - Severity filters name severities (`critical`, `high`, `medium`, `low`,
 *   `info`) and match the stored text case-insensitively, `crit` counting as
 *   `critical`.
 *
 * @example Read the latest critical alerts
 * ```ts ignore
 * import { openSqliteStore } from "./sqlite.ts";
 * const store = await openSqliteStore({ database: "siem.db" });
 * const page = await store.alerts({ severities: ["critical"], limit: 20 });
 * for (const a of page.rows) console.log(a.timestamp, a.host, a.rule);
 * await store.close();
 * ```
 *
 * @module
 */

import type { SiemCategory } from "../siem/categorize.ts";

/**
 * A time range in ms since the epoch: `since <= time < until`.
 *
 * @example
 * ```ts
 * import type { TimeRange } from "./types.ts";
 * const lastDay: TimeRange = { since: Date.now() - 86_400_000 };
 * ```
 */
export interface TimeRange {
  /** From this time (ms), inclusive; open when left out. */
  since?: number;
  /** Up to this time (ms), exclusive; open when left out. */
  until?: number;
}

/**
 * A host's status from its last sighting and heartbeat interval: `ok`
 * (within two intervals), `stale` (within three), `silent` (longer), or
 * `unknown` (never seen).
 *
 * @example
 * ```ts
 * import type { HostStatus } from "./types.ts";
 * const s: HostStatus = "stale";
 * ```
 */
export type HostStatus = "ok" | "stale" | "silent" | "unknown";

/**
 * The triage status of an alert. An alert never triaged is `open`.
 *
 * @example
 * ```ts
 * import type { TriageStatus } from "./types.ts";
 * const s: TriageStatus = "acknowledged";
 * ```
 */
export type TriageStatus = "open" | "acknowledged" | "closed";

/**
 * A dashboard user's role: `admin` may change things, `viewer` only looks.
 *
 * @example
 * ```ts
 * import type { UserRole } from "./types.ts";
 * const r: UserRole = "viewer";
 * ```
 */
export type UserRole = "admin" | "viewer";

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
  /** Only alerts whose rule, message, file, hash or host contains this text (literally, any case). */
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

// ---------------------------------------------------------------- hosts

/**
 * One host of the VM registry with its status.
 *
 * @example
 * ```ts
 * import type { HostRow } from "./types.ts";
 * function late(h: HostRow): boolean { return h.status === "silent"; }
 * ```
 */
export interface HostRow {
  /** The host's name. */
  host: string;
  /** ok / stale / silent / unknown (see {@linkcode HostStatus}). */
  status: HostStatus;
  /** When it was first seen. */
  first_seen: string | null;
  /** When it was last seen. */
  last_seen: string | null;
  /** The address it last sent from. */
  source_ip: string | null;
  /** Its agent version. */
  version: string | null;
  /** Its heartbeat interval in seconds, when it reports one. */
  interval_s: number | null;
  /** Heartbeats stored. */
  heartbeats: number | null;
  /** The services and log types seen from it (`alerts`, `auth:sshd` …). */
  services: string[];
  /** Its alerts in the query's range (all time when it gives none). */
  alerts: number;
}

/**
 * Which hosts and how their status is worked out.
 *
 * @example
 * ```ts
 * import type { HostsQuery } from "./types.ts";
 * const q: HostsQuery = { intervalMs: 300_000 };
 * ```
 */
export interface HostsQuery extends TimeRange {
  /** Only this host. */
  host?: string;
  /** "Now", ms. @default {Date.now()} */
  now?: number;
  /** Heartbeat interval of hosts that report none, in ms. @default {60000} */
  intervalMs?: number;
  /** Most hosts (by name). @default {1000} */
  limit?: number;
}

/**
 * An event of any table, as a live tail or a timeline shows it.
 *
 * @example
 * ```ts
 * import type { EventRow } from "./types.ts";
 * function where(e: EventRow): string { return `${e.table}#${e.seq}`; }
 * ```
 */
export interface EventRow {
  /** The table it is stored in. */
  table: string;
  /** Its category. */
  category: SiemCategory;
  /** Its row number in that table. */
  seq: number;
  /** Its time (the table's time column), ISO 8601 UTC. */
  time: string;
  /** Every stored column by name (`raw` included). */
  values: Record<string, string | number | null>;
}

/**
 * One host in detail.
 *
 * @example
 * ```ts
 * import type { HostDetail } from "./types.ts";
 * function count(d: HostDetail): number { return d.alerts.length; }
 * ```
 */
export interface HostDetail {
  /** The host's registry row. */
  host: HostRow;
  /** Its latest events of every kind, newest first. */
  timeline: EventRow[];
  /** Its latest alerts, newest first. */
  alerts: AlertRow[];
  /** Its latest auth events, newest first. */
  auth: AuthEventRow[];
  /** Its stored objects, newest first. */
  objects: ObjectRow[];
}

/**
 * What a host page asks for.
 *
 * @example
 * ```ts
 * import type { HostQuery } from "./types.ts";
 * const q: HostQuery = { limit: 20 };
 * ```
 */
export interface HostQuery extends TimeRange {
  /** Rows per section. @default {50} */
  limit?: number;
  /** "Now", ms. @default {Date.now()} */
  now?: number;
  /** Heartbeat interval of hosts that report none, in ms. @default {60000} */
  intervalMs?: number;
}

// ---------------------------------------------------------------- auth and firewall

/**
 * One auth event.
 *
 * @example
 * ```ts
 * import type { AuthEventRow } from "./types.ts";
 * function who(a: AuthEventRow): string { return `${a.user}@${a.src_ip}`; }
 * ```
 */
export interface AuthEventRow {
  /** Row number. */
  seq: number;
  /** Event time. */
  timestamp: string;
  /** The host logged in to. */
  host: string | null;
  /** `sshd` … */
  program: string | null;
  /** `success`, `failure`, `invalid_user` … */
  outcome: string | null;
  /** The user name tried. */
  user: string | null;
  /** The source address. */
  src_ip: string | null;
  /** The source port. */
  port: number | null;
  /** `password`, `publickey`, `pam_unix` … */
  method: string | null;
  /** 1 when the user does not exist. */
  invalid_user: number | null;
}

/**
 * Filters for auth summaries and lists.
 *
 * @example
 * ```ts
 * import type { AuthFilter } from "./types.ts";
 * const f: AuthFilter = { failedOnly: true, limit: 10 };
 * ```
 */
export interface AuthFilter extends TimeRange {
  /** Only this host. */
  host?: string;
  /** Only this source address. */
  srcIp?: string;
  /** Only sources (or users) with failed logins. @default {false} */
  failedOnly?: boolean;
  /** Most rows. @default {100} */
  limit?: number;
}

/**
 * SSH logins from one source address. A failure counts attempts, not the
 * PAM line each failed password also logs (`method` `pam_unix`).
 *
 * @example
 * ```ts
 * import type { AuthSourceRow } from "./types.ts";
 * function ratio(r: AuthSourceRow): number { return r.failures / Math.max(1, r.successes); }
 * ```
 */
export interface AuthSourceRow {
  /** The source address. */
  src_ip: string;
  /** Failed logins. */
  failures: number;
  /** Successful logins. */
  successes: number;
  /** Distinct users tried in failed or invalid-user attempts. */
  users: number;
  /** Distinct hosts tried. */
  hosts: number;
  /** First attempt in the range. */
  first: string;
  /** Last attempt in the range. */
  last: string;
}

/**
 * SSH logins of one user name.
 *
 * @example
 * ```ts
 * import type { AuthUserRow } from "./types.ts";
 * const r: AuthUserRow = { user: "root", failures: 3, successes: 0, invalid: 0, sources: 2, last: "2026-11-23T08:48:00.000Z" };
 * ```
 */
export interface AuthUserRow {
  /** The user name. */
  user: string;
  /** Failed logins. */
  failures: number;
  /** Successful logins. */
  successes: number;
  /** Attempts for a user that does not exist. */
  invalid: number;
  /** Distinct source addresses. */
  sources: number;
  /** Last attempt in the range. */
  last: string;
}

/**
 * Filters for firewall summaries.
 *
 * @example
 * ```ts
 * import type { FirewallFilter } from "./types.ts";
 * const f: FirewallFilter = { action: "UFW BLOCK", limit: 20 };
 * ```
 */
export interface FirewallFilter extends TimeRange {
  /** Only this host. */
  host?: string;
  /** Only this action (exact, `UFW BLOCK` …). */
  action?: string;
  /** Most rows. @default {100} */
  limit?: number;
}

/**
 * Firewall events from one source address.
 *
 * @example
 * ```ts
 * import type { FirewallSourceRow } from "./types.ts";
 * function busy(r: FirewallSourceRow): boolean { return r.ports > 10; }
 * ```
 */
export interface FirewallSourceRow {
  /** The source address. */
  src: string;
  /** Events. */
  events: number;
  /** Distinct destination ports. */
  ports: number;
  /** Distinct hosts. */
  hosts: number;
  /** First event in the range. */
  first: string;
  /** Last event in the range. */
  last: string;
}

/**
 * Firewall events to one destination port.
 *
 * @example
 * ```ts
 * import type { FirewallPortRow } from "./types.ts";
 * const r: FirewallPortRow = { dpt: 22, proto: "TCP", events: 40, sources: 7 };
 * ```
 */
export interface FirewallPortRow {
  /** The destination port (null for protocols without ports). */
  dpt: number | null;
  /** The protocol. */
  proto: string | null;
  /** Events. */
  events: number;
  /** Distinct source addresses. */
  sources: number;
}

// ---------------------------------------------------------------- rules

/**
 * Hits of one rule.
 *
 * @example
 * ```ts
 * import type { RuleRow } from "./types.ts";
 * function label(r: RuleRow): string { return `${r.rule} (${r.hits})`; }
 * ```
 */
export interface RuleRow {
  /** The rule, `(none)` for alerts without one. */
  rule: string;
  /** Alerts. */
  hits: number;
  /** Distinct hosts. */
  hosts: number;
  /** Distinct severities, lower-case, in the order first met. */
  severities: string[];
  /** First alert in the range. */
  first: string;
  /** Last alert in the range. */
  last: string;
}

// ---------------------------------------------------------------- live tail

/**
 * Which events a live tail follows: the filter language of `sluice tail`
 * (runner/tail.ts).
 *
 * @example
 * ```ts
 * import type { TailFilter } from "./types.ts";
 * const f: TailFilter = { categories: ["alerts", "auth"], severities: ["critical"] };
 * ```
 */
export interface TailFilter {
  /** Categories to follow. @default every category but `heartbeat` */
  categories?: readonly string[];
  /** Only rows of these severities; tables without a severity are left out when given. */
  severities?: readonly string[];
  /** Only rows of this host. */
  host?: string;
}

/**
 * One read of a live tail: the rows stored after the cursor, in time
 * order, and the cursor to read from next.
 *
 * @example
 * ```ts
 * import type { TailBatch } from "./types.ts";
 * const none: TailBatch = { rows: [], cursor: "" };
 * ```
 */
export interface TailBatch {
  /** New rows that pass the filter, oldest first. */
  rows: EventRow[];
  /** An opaque cursor: pass it to the next {@linkcode SiemStore.tailRead}. */
  cursor: string;
}

// ---------------------------------------------------------------- UI-owned tables

/**
 * A dashboard user.
 *
 * @example
 * ```ts
 * import type { UserRow } from "./types.ts";
 * const u: UserRow = { name: "ada", role: "admin", password_hash: "$argon2id$…", created: "2026-11-23T08:48:00.000Z" };
 * ```
 */
export interface UserRow {
  /** Login name (unique). */
  name: string;
  /** Role. */
  role: UserRole;
  /** The password hash in its own encoded form (argon2id or scrypt, salt included). */
  password_hash: string;
  /** When it was created, ISO 8601 UTC. */
  created: string;
}

/**
 * A dashboard session. The token itself is never stored, only its hash.
 *
 * @example
 * ```ts
 * import type { SessionRow } from "./types.ts";
 * const s: SessionRow = { token_hash: "ab12", user: "ada", expires: "2026-11-23T20:00:00.000Z", csrf_secret: "x" };
 * ```
 */
export interface SessionRow {
  /** Hash of the session token (hex or base64, the caller's choice). */
  token_hash: string;
  /** The user's name. */
  user: string;
  /** When it expires, ISO 8601 UTC. */
  expires: string;
  /** The session's CSRF secret. */
  csrf_secret: string;
}

/**
 * Read and write methods for the tables the dashboard owns: `users`,
 * `ui_sessions` and `alert_triage`. They go through a writable connection
 * of their own; the SIEM tables are never written.
 *
 * @example
 * ```ts ignore
 * await store.ui.addUser({ name: "ada", role: "admin", passwordHash: hash });
 * await store.ui.triage({ alert: 42, status: "acknowledged", note: "looking", by: "ada" });
 * ```
 */
export interface UiTables {
  /** A user by name. */
  getUser(name: string): Promise<UserRow | undefined>;
  /** Every user, by name. */
  listUsers(): Promise<UserRow[]>;
  /** Adds a user; `false` when the name is taken. */
  addUser(
    user: { name: string; role: UserRole; passwordHash: string; now?: number },
  ): Promise<boolean>;
  /** Changes a user's role or password hash; `false` when there is no such user. */
  updateUser(name: string, change: { role?: UserRole; passwordHash?: string }): Promise<boolean>;
  /** Deletes a user and their sessions; `false` when there was none. */
  deleteUser(name: string): Promise<boolean>;
  /** Counts the users (of a role, when given). */
  countUsers(role?: UserRole): Promise<number>;

  /** Stores a new session. */
  addSession(session: {
    tokenHash: string;
    user: string;
    expiresAt: number;
    csrfSecret: string;
  }): Promise<void>;
  /** A session by token hash, unless it expired before `now` (ms, default now). */
  getSession(tokenHash: string, now?: number): Promise<SessionRow | undefined>;
  /** Moves a session's expiry (sliding sessions); `false` when there is none. */
  touchSession(tokenHash: string, expiresAt: number): Promise<boolean>;
  /** Deletes a session (log out). */
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes the sessions that expired before `now` (ms, default now); returns how many. */
  deleteExpiredSessions(now?: number): Promise<number>;

  /**
   * Records a triage change of an alert (history is kept; the alert row is
   * untouched) and returns it. Throws a `RangeError` for an unknown status
   * or an alert `seq` that does not exist.
   */
  triage(change: {
    alert: number;
    status: TriageStatus;
    note?: string;
    by: string;
    now?: number;
  }): Promise<TriageRow>;
  /** An alert's triage history, oldest first. */
  triageHistory(alert: number): Promise<TriageRow[]>;
}

// ---------------------------------------------------------------- the store

/**
 * A result of the read-only SQL escape hatch (`sluice query sql`).
 *
 * @example
 * ```ts
 * import type { SqlResult } from "./types.ts";
 * const r: SqlResult = { columns: ["n"], rows: [{ n: 1 }] };
 * ```
 */
export interface SqlResult {
  /** The column names, in order. */
  columns: string[];
  /** The rows, each a record of column name → value. */
  rows: Array<Record<string, unknown>>;
}

/**
 * The read side of the SIEM. One instance holds its connections until
 * {@linkcode SiemStore.close}. Methods never write the SIEM tables; only
 * {@linkcode SiemStore.ui} writes, and only the dashboard's own tables.
 * A table that does not exist yet reads as empty.
 *
 * @example
 * ```ts ignore
 * import { openSqliteStore } from "./sqlite.ts";
 * const store = await openSqliteStore({ database: "siem.db" });
 * const o = await store.overview({ since: Date.now() - 86_400_000 });
 * let page = await store.alerts({ host: "vm-1" });
 * while (page.next) page = await store.alerts({ host: "vm-1", cursor: page.next });
 * for await (const rows of store.exportAlerts({ rule: "R" })) console.log(rows.length);
 * await store.close();
 * ```
 */
export interface SiemStore {
  /** Which database it reads: `sqlite`, `postgres` or `mysql`. */
  readonly kind: "sqlite" | "postgres" | "mysql";

  /** The dashboard's overview of a range. */
  overview(query?: OverviewQuery): Promise<Overview>;
  /** Alerts by severity and events by category per bucket; every bucket present. */
  series(query: SeriesQuery): Promise<SeriesBucket[]>;

  /** One page of alerts, newest first. Throws a `RangeError` for a cursor it did not make. */
  alerts(query?: AlertQuery): Promise<AlertPage>;
  /** Every alert of a filter, newest first, a page at a time (for CSV/JSONL export). */
  exportAlerts(filter?: AlertFilter, pageSize?: number): AsyncIterable<AlertRow[]>;
  /** One alert in full; `undefined` when there is none with that `seq`. */
  alert(seq: number): Promise<AlertDetail | undefined>;
  /** Hits per rule, most first. */
  rules(filter?: TimeRange & { limit?: number }): Promise<RuleRow[]>;

  /** The VM registry with status and alert counts, by name. */
  hosts(query?: HostsQuery): Promise<HostRow[]>;
  /** One host in detail; `undefined` when the registry does not know it. */
  host(name: string, query?: HostQuery): Promise<HostDetail | undefined>;

  /** SSH logins by source address, most failures first. */
  authSources(filter?: AuthFilter): Promise<AuthSourceRow[]>;
  /** SSH logins by user name, most failures first. */
  authUsers(filter?: AuthFilter): Promise<AuthUserRow[]>;
  /** Auth events, newest first. */
  authEvents(filter?: AuthFilter): Promise<AuthEventRow[]>;

  /** Firewall events by source address, most first. */
  firewallSources(filter?: FirewallFilter): Promise<FirewallSourceRow[]>;
  /** Firewall events by destination port, most first. */
  firewallPorts(filter?: FirewallFilter): Promise<FirewallPortRow[]>;

  /** Stored objects, newest first. */
  objects(filter?: ObjectFilter): Promise<ObjectRow[]>;

  /**
   * Where a live tail starts: after everything stored now, or before the
   * first row stored at or after `since` (ms).
   */
  tailStart(filter?: TailFilter & { since?: number }): Promise<string>;
  /**
   * The rows stored after a cursor that pass the filter, oldest first, and
   * the next cursor. At most `limit` rows per table (default 10,000); the
   * rest comes with the next read, so a paused reader loses nothing.
   */
  tailRead(cursor: string, filter?: TailFilter, limit?: number): Promise<TailBatch>;

  /** Runs one read-only SQL statement (the `query sql` escape hatch); writes are refused. */
  sql(statement: string): Promise<SqlResult>;

  /** The dashboard's own tables. */
  readonly ui: UiTables;

  /** Closes the connections. */
  close(): Promise<void>;
}
