/**
 * What {@linkcode Responder} of respond/responder.ts takes and answers:
 * its options, a block request, the outcome, its counters; and
 * {@linkcode showCommand} for the audit trail. Re-exported by responder.ts.
 *
 * @module
 */

import type { Logger } from "../core/log.ts";
import type { FirewallBackend } from "./backend.ts";
import type { Decision, DecisionTable } from "./decisions.ts";

/** `off`: nothing; `dry-run`: record what would be done; `on`: apply. */
export type ResponseMode = "off" | "dry-run" | "on";

/** Options for {@linkcode Responder}. */
export interface ResponderOptions {
  /** Where decisions are kept. */
  table: DecisionTable;
  /** The firewall of each place: `local` and host names. */
  backends: Record<string, FirewallBackend>;
  /** @default {"dry-run"} */
  mode?: ResponseMode;
  /** Networks never blocked (the central, the operator's networks). @default {[]} */
  allow?: readonly string[];
  /** Widest IPv4 network that may be blocked. @default {16} */
  minPrefix4?: number;
  /** Widest IPv6 network that may be blocked. @default {48} */
  minPrefix6?: number;
  /** First ban, in seconds. @default {600} */
  bantimeSec?: number;
  /** Each repeated offence multiplies the ban by this. @default {2} */
  bantimeFactor?: number;
  /** Longest ban, in seconds. @default {604800} (7 days) */
  maxBantimeSec?: number;
  /** How far back earlier offences count, in seconds. @default {86400} */
  findtimeSec?: number;
  /** Most rule decisions per minute; more are refused and counted. @default {30} */
  maxPerMinute?: number;
  /** Logger. */
  log?: Logger;
  /** The clock. @default {Date.now} */
  now?: () => number;
}

/** A request for a block. */
export interface DecisionRequest {
  /** The address or network, as text from wherever it came (it is parsed, never passed on). */
  target: unknown;
  /** `local` or a host name with a backend. */
  host: string;
  /** Why. */
  reason: string;
  /** The rule's name, or `operator`. */
  rule: string;
  /** Who: `rule:<name>` or an operator's name. */
  by: string;
  /** The alert that caused it. */
  alertId?: string;
  /** A fixed duration in seconds instead of the growing bantime (operators). */
  durationSec?: number;
}

/** What {@linkcode Responder.decide} did. */
export type DecideResult =
  | { outcome: "new"; decision: Decision }
  | { outcome: "existing"; decision: Decision }
  | { outcome: "refused"; reason: string; decision?: Decision }
  | { outcome: "rate-limited" }
  | { outcome: "off" };

/** Counters a responder keeps. */
export interface ResponderCounters {
  /** Decisions made. */
  decided: number;
  /** Blocks applied to a firewall. */
  applied: number;
  /** Blocks a firewall failed to apply or remove. */
  failed: number;
  /** Requests refused (allowlist, loopback, too wide, bad target). */
  refused: number;
  /** Rule requests over the per-minute limit. */
  rateLimited: number;
  /** Blocks that ended on time. */
  expired: number;
  /** Blocks an operator lifted. */
  revoked: number;
  /** Requests for a target already blocked. */
  existing: number;
}

/**
 * Prints a command for people (the audit trail): arguments with spaces or
 * quotes are quoted.
 *
 * @param argv The command.
 * @returns One line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showCommand } from "./_responder_types.ts";
 * assert.equal(showCommand(["nft", "add", "x y"]), "nft add 'x y'");
 * ```
 */
export function showCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./{}-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}
