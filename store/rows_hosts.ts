/**
 * The host, auth, firewall, rule and live-tail rows of
 * {@linkcode SiemStore} (re-exported by `types.ts`, where the conventions
 * are).
 *
 * @module
 */

import type { SiemCategory } from "../siem/categorize.ts";
import type { AlertRow, ObjectRow } from "./rows.ts";
import type { HostStatus, TimeRange } from "./types.ts";

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
  /** What a collector that dials the host (agentless SSH) last found: `ok`, `unreachable`; null when none does. */
  reach: string | null;
  /** Why it was unreachable (`host key changed`, `auth refused` …), else null. */
  reach_reason: string | null;
  /** When `reach` was recorded, ISO 8601 UTC. */
  reach_at: string | null;
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
