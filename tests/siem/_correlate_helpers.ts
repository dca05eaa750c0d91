/**
 * Helpers of the correlation tests (correlate_test, correlate_store_test):
 * failed logins, a brute-force rule, a runner.
 *
 * @module
 */

import { createEvent, createLogger, type LogEvent } from "../../mod.ts";
import { correlate, type CorrelateAlert, type CorrelateOptions } from "../../siem/correlate.ts";

/** A logger that prints nothing. */
export const quiet = createLogger("silent");

/**
 * A failed SSH login from `ip` at time `t`.
 *
 * @example
 * ```ts ignore
 * failure("203.0.113.7", Date.now());
 * ```
 */
export function failure(ip: string, t: number, user = "root"): LogEvent {
  return createEvent(`Failed password for ${user} from ${ip}`, {
    timestamp: t,
    fields: { ip, user, outcome: "failure" },
  });
}

/**
 * A rule: 8 failures from one address within 2 minutes, then 10 minutes quiet.
 *
 * @example
 * ```ts ignore
 * const step = rule({ threshold: 3 });
 * ```
 */
export function rule(extra: Partial<CorrelateOptions> = {}) {
  return correlate({
    rule: "failures",
    key: "${ip}",
    collect: "${user}",
    window: 120_000,
    threshold: 8,
    suppress: 600_000,
    filter: (e) => e.fields.outcome === "failure",
    ...extra,
  });
}

/**
 * Runs events through a step and returns the alerts, by event index.
 *
 * @example
 * ```ts ignore
 * const alerts = run(rule(), events);
 * ```
 */
export function run(
  step: { apply(e: LogEvent): void },
  events: LogEvent[],
): Map<number, CorrelateAlert> {
  const out = new Map<number, CorrelateAlert>();
  events.forEach((e, i) => {
    step.apply(e);
    if (e.fields.alert) out.set(i, e.fields.alert as CorrelateAlert);
  });
  return out;
}
