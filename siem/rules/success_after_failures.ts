/**
 * Detection rule: an sshd login that succeeds from an address that has
 * just failed many times.
 *
 * @module
 */

import type { LogEvent } from "../../core/event.ts";
import { correlate, type Correlation } from "../correlate.ts";

/** Options for {@linkcode sshdSuccessAfterFailures}. */
export interface SshdSuccessAfterFailuresOptions {
  /** Failures from the address, before the success, that make it suspect. @default {5} */
  threshold?: number;
  /** How far back failures count, in ms. @default {600000} */
  window?: number;
  /** Quiet period per address after an alert, in ms. @default {600000} */
  suppress?: number;
  /** The alert's severity: a guessed password is likely a compromise. @default {"critical"} */
  severity?: string;
  /** Where {@linkcode sshdParser} put its fields. @default {"sshd"} */
  prefix?: string;
  /** The rule's name in alerts and state. @default {"sshd_success_after_failures"} */
  rule?: string;
}

/**
 * Fires on an accepted sshd login (`outcome: "success"`) from an address
 * with at least `threshold` failed authentications in the `window` before
 * it, on any host (as Wazuh's rule 40112, "multiple authentication failures
 * followed by a success"). The failures are counted as by
 * `sshdBruteForce()`; the success is the event that carries the alert, with
 * `ip`, the `user` who got in, the `users` tried and the failure `count`.
 *
 * @param options Threshold, window, suppression, severity.
 * @returns The step; keep its windows with `correlateStore()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sshdSuccessAfterFailures } from "./success_after_failures.ts";
 * const rule = sshdSuccessAfterFailures({ threshold: 3 });
 * assert.ok(rule.rule === "sshd_success_after_failures");
 * ```
 */
export function sshdSuccessAfterFailures(
  options: SshdSuccessAfterFailuresOptions = {},
): Correlation {
  const prefix = options.prefix ?? "sshd";
  const sshd = (e: LogEvent) =>
    e.fields[prefix] as { outcome?: unknown; method?: unknown; user?: unknown } | undefined;
  return correlate({
    rule: options.rule ?? "sshd_success_after_failures",
    key: `\${${prefix}.src_ip}`,
    // Centrals sharing a SQL store count each other's failures (siem/correlate_shared.ts).
    ...(prefix === "sshd" ? { sharedTable: "auth_events" as const } : {}),
    collect: `\${${prefix}.user}`,
    window: options.window ?? 600_000,
    threshold: options.threshold ?? 5,
    suppress: options.suppress ?? 600_000,
    severity: options.severity ?? "critical",
    filter: (e) => {
      const f = sshd(e);
      return f?.outcome === "failure" && f.method !== "pam_unix";
    },
    trigger: (e) => sshd(e)?.outcome === "success",
    emit: (g, e) => {
      const user = sshd(e)?.user;
      return {
        ip: g.key,
        user: typeof user === "string" ? user : "",
        users: g.values,
        summary: `login as ${String(user)} from ${g.key} after ${g.count} failures`,
      };
    },
  });
}
