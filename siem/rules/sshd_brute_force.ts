/**
 * Detection rule: many failed sshd authentications from one address.
 *
 * @module
 */

import type { LogEvent } from "../../core/event.ts";
import { correlate, type Correlation } from "../correlate.ts";

/** Options for {@linkcode sshdBruteForce}. */
export interface SshdBruteForceOptions {
  /** Failed authentications from one address that fire the rule. @default {8} */
  threshold?: number;
  /** The window they must fall in, in ms. @default {120000} */
  window?: number;
  /** Quiet period per address after an alert, in ms. @default {600000} */
  suppress?: number;
  /** The alert's severity. @default {"high"} */
  severity?: string;
  /** Where {@linkcode sshdParser} put its fields. @default {"sshd"} */
  prefix?: string;
  /** The rule's name in alerts and state. @default {"sshd_brute_force"} */
  rule?: string;
}

/**
 * Fires when one source address fails sshd authentication `threshold`
 * times within `window` (8 in 120 s by default, the thresholds of Wazuh's
 * rules 5712/5720 and close to fail2ban's sshd jail). Counted: events that
 * `sshdParser()` marked `outcome: "failure"`, except the `pam_unix` lines
 * sshd logs next to each `Failed password` (they would count one attempt
 * twice). The alert carries `ip`, the `users` tried and the `count`.
 *
 * Copy this file to make a variant: it is only a {@linkcode correlate} call.
 *
 * @param options Threshold, window, suppression, severity.
 * @returns The step; keep its windows with `correlateStore()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sshdBruteForce } from "./sshd_brute_force.ts";
 * const rule = sshdBruteForce({ threshold: 5 });
 * assert.ok(rule.rule === "sshd_brute_force");
 * ```
 */
export function sshdBruteForce(options: SshdBruteForceOptions = {}): Correlation {
  const prefix = options.prefix ?? "sshd";
  const failed = (e: LogEvent) => {
    const f = e.fields[prefix] as { outcome?: unknown; method?: unknown } | undefined;
    return f?.outcome === "failure" && f.method !== "pam_unix";
  };
  return correlate({
    rule: options.rule ?? "sshd_brute_force",
    key: `\${${prefix}.src_ip}`,
    // Centrals sharing a SQL store count each other's failures (siem/correlate_shared.ts).
    ...(prefix === "sshd" ? { sharedTable: "auth_events" as const } : {}),
    collect: `\${${prefix}.user}`,
    window: options.window ?? 120_000,
    threshold: options.threshold ?? 8,
    suppress: options.suppress ?? 600_000,
    severity: options.severity ?? "high",
    filter: failed,
    emit: (g) => ({
      ip: g.key,
      users: g.values,
      summary: `${g.count} failed sshd logins from ${g.key} in ${
        Math.round((g.lastSeen - g.firstSeen) / 1000)
      } s (users: ${g.values.join(", ")})`,
    }),
  });
}
