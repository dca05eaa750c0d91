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

import type {
  AuthEventRow,
  AuthFilter,
  AuthSourceRow,
  AuthUserRow,
  FirewallFilter,
  FirewallPortRow,
  FirewallSourceRow,
  HostDetail,
  HostQuery,
  HostRow,
  HostsQuery,
  RuleRow,
  TailBatch,
  TailFilter,
} from "./rows_hosts.ts";
import type { SessionRow, UserRow } from "./rows_ui.ts";
import type {
  AlertDetail,
  AlertFilter,
  AlertPage,
  AlertQuery,
  AlertRow,
  HashAlertsRow,
  ObjectFilter,
  ObjectRow,
  Overview,
  OverviewQuery,
  SeriesBucket,
  SeriesQuery,
  TriageRow,
} from "./rows.ts";
import type { AuthWindowQuery, IncidentQuery, IncidentRow } from "./rows_rules.ts";

export { SIEM_CATEGORIES, type SiemCategory } from "../siem/categorize.ts";
export type * from "./rows.ts";
export type * from "./rows_hosts.ts";
export type * from "./rows_ui.ts";
export type * from "./rows_rules.ts";

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

// ---------------------------------------------------------------- UI-owned tables

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
   * Deletes every session of user `name`, except the one whose token hash is
   * `exceptTokenHash` when given (the session making the change); returns
   * how many went. Called after a password change, a role change or a
   * deletion, so a stolen session cookie stops working.
   */
  deleteSessionsOf(name: string, exceptTokenHash?: string): Promise<number>;

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
  /**
   * The auth events of several source addresses in a range, oldest first:
   * what the correlation rules of centrals sharing this store count
   * (siem/correlate_shared.ts), one read per batch for every address. Served
   * by the `src_ip` index.
   *
   * @example
   * ```ts ignore
   * const rows = await store.authWindow({ srcIps: ["203.0.113.9"], since: t - 120_000, until: t + 1 });
   * const failures = rows.filter((r) => r.outcome === "failure").length;
   * ```
   */
  authWindow(query: AuthWindowQuery): Promise<AuthEventRow[]>;
  /**
   * The correlation rules' alerts (ids `incident:…`) of some rules in a
   * range, oldest first, with the key each names: whether another central
   * already raised an alert for an attack. Served by the (rule, timestamp)
   * index.
   *
   * @example
   * ```ts ignore
   * const seen = await store.incidents({ rules: ["sshd_brute_force"], since: t - 600_000 });
   * if (seen.some((i) => i.key === "203.0.113.9")) console.log("already alerted");
   * ```
   */
  incidents(query: IncidentQuery): Promise<IncidentRow[]>;

  /** Firewall events by source address, most first. */
  firewallSources(filter?: FirewallFilter): Promise<FirewallSourceRow[]>;
  /** Firewall events by destination port, most first. */
  firewallPorts(filter?: FirewallFilter): Promise<FirewallPortRow[]>;

  /** Stored objects, newest first. */
  objects(filter?: ObjectFilter): Promise<ObjectRow[]>;
  /**
   * How many alerts name each SHA-256 in their `hash` field (any case): the
   * other way of the alert detail's samples. Hashes no alert names are left
   * out; one read for the whole list. `alerts.hash` has no index: without
   * `host` that read is a scan of every alert (a CLI's answer); with it, of
   * that host's alerts only (a page's). Throws a `RangeError` for a hash
   * that is not 64 hex digits.
   */
  alertsForHashes(
    sha256s: readonly string[],
    filter?: { host?: string },
  ): Promise<HashAlertsRow[]>;

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
