/**
 * The rows the correlation rules of several centrals sharing one store read
 * back ({@linkcode SiemStore.authWindow}, {@linkcode SiemStore.incidents};
 * re-exported by `types.ts`, where the conventions are).
 *
 * @module
 */

import type { TimeRange } from "./types.ts";

/**
 * The auth events of several source addresses in a range.
 *
 * @example
 * ```ts
 * import type { AuthWindowQuery } from "./types.ts";
 * const q: AuthWindowQuery = { srcIps: ["203.0.113.9"], since: Date.now() - 120_000 };
 * ```
 */
export interface AuthWindowQuery extends TimeRange {
  /** The source addresses (`src_ip`, exact); none reads nothing. */
  srcIps: readonly string[];
  /**
   * Only the addresses with at least this many rows in the range (a rule
   * cannot fire on fewer than its threshold): scan noise from many
   * addresses reads nothing. @default {1}
   */
  minRows?: number;
  /** Most rows. @default {10000} (at most 100000) */
  limit?: number;
}

/**
 * The correlation rules' alerts of some rules in a range: those stored
 * under an incident id (`incident:<rule>:…`, siem/alert_paths.ts).
 *
 * @example
 * ```ts
 * import type { IncidentQuery } from "./types.ts";
 * const q: IncidentQuery = { rules: ["sshd_brute_force"], since: Date.now() - 600_000 };
 * ```
 */
export interface IncidentQuery extends TimeRange {
  /** The rules (exact); none reads nothing. */
  rules: readonly string[];
  /** Most rows. @default {10000} (at most 100000) */
  limit?: number;
}

/**
 * One stored incident: a correlation rule's alert.
 *
 * @example
 * ```ts
 * import type { IncidentRow } from "./types.ts";
 * function sameAttack(a: IncidentRow, b: IncidentRow): boolean {
 *   return a.rule === b.rule && a.key === b.key;
 * }
 * ```
 */
export interface IncidentRow {
  /** The alert's id (`incident:<rule>:<hash>`). */
  id: string;
  /** The alert's time (the event that fired the rule), ISO 8601 UTC. */
  timestamp: string;
  /** The rule. */
  rule: string;
  /** The group key the rule counted by (the address), from the alert's `key`; `null` when absent. */
  key: string | null;
}
