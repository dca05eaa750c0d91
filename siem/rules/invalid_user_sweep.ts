/**
 * Detection rule: one address trying many user names that do not exist.
 *
 * @module
 */

import type { LogEvent } from "../../core/event.ts";
import { correlate, type Correlation } from "../correlate.ts";

/** Options for {@linkcode invalidUserSweep}. */
export interface InvalidUserSweepOptions {
  /** Distinct invalid user names from one address that fire the rule. @default {5} */
  threshold?: number;
  /** The window they must fall in, in ms. @default {600000} */
  window?: number;
  /** Quiet period per address after an alert, in ms. @default {3600000} */
  suppress?: number;
  /** The alert's severity. @default {"medium"} */
  severity?: string;
  /** Where {@linkcode sshdParser} put its fields. @default {"sshd"} */
  prefix?: string;
  /** The rule's name in alerts and state. @default {"sshd_invalid_user_sweep"} */
  rule?: string;
}

/**
 * Fires when one source address tries `threshold` distinct user names that
 * sshd calls invalid within `window` (a dictionary sweep: `admin`,
 * `oracle`, `test`, `ubuntu` …). Counted: `outcome: "invalid_user"` lines
 * and failures marked `invalid: true`; the same name twice counts once, so
 * the `Invalid user` and `Failed password for invalid user` lines of one
 * attempt are one. The alert carries `ip`, the `users` and their number.
 *
 * @param options Threshold, window, suppression, severity.
 * @returns The step; keep its windows with `correlateStore()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { invalidUserSweep } from "./invalid_user_sweep.ts";
 * const rule = invalidUserSweep({ threshold: 10 });
 * assert.ok(rule.rule === "sshd_invalid_user_sweep");
 * ```
 */
export function invalidUserSweep(options: InvalidUserSweepOptions = {}): Correlation {
  const prefix = options.prefix ?? "sshd";
  const invalid = (e: LogEvent) => {
    const f = e.fields[prefix] as { outcome?: unknown; invalid?: unknown } | undefined;
    return f?.outcome === "invalid_user" || (f?.outcome === "failure" && f.invalid === true);
  };
  return correlate({
    rule: options.rule ?? "sshd_invalid_user_sweep",
    key: `\${${prefix}.src_ip}`,
    // Centrals sharing a SQL store count each other's failures (siem/correlate_shared.ts).
    ...(prefix === "sshd" ? { sharedTable: "auth_events" as const } : {}),
    distinct: `\${${prefix}.user}`,
    window: options.window ?? 600_000,
    threshold: options.threshold ?? 5,
    suppress: options.suppress ?? 3_600_000,
    severity: options.severity ?? "medium",
    filter: invalid,
    emit: (g) => ({
      ip: g.key,
      users: g.values,
      summary: `${g.distinct} invalid users tried from ${g.key}: ${g.values.join(", ")}`,
    }),
  });
}
