/**
 * Syslog severities and facilities: names by number, and numbers from
 * names, aliases or digits. Re-exported by core/event.ts.
 *
 * @module
 */

/** Severity names by number, as syslog-ng prints `${LEVEL}`. */
export const SEVERITY_NAMES: readonly string[] = [
  "emerg",
  "alert",
  "crit",
  "err",
  "warning",
  "notice",
  "info",
  "debug",
];

/** Facility names by number, as syslog-ng prints `${FACILITY}`. */
export const FACILITY_NAMES: readonly string[] = [
  "kern",
  "user",
  "mail",
  "daemon",
  "auth",
  "syslog",
  "lpr",
  "news",
  "uucp",
  "cron",
  "authpriv",
  "ftp",
  "ntp",
  "security",
  "console",
  "solaris-cron",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
];

const _SEVERITY_ALIASES: Record<string, number> = {
  emergency: 0,
  panic: 0,
  critical: 2,
  error: 3,
  warn: 4,
  informational: 6,
};

/**
 * Turns a severity name (`"warning"`, `"err"`, `"critical"`) or number into 0–7.
 *
 * @param value A name, an alias such as `"error"` or `"warn"`, or a number.
 * @returns The severity number, or `undefined` when the value names none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { severityNumber } from "./event.ts";
 * assert.ok(severityNumber("critical") === 2);
 * assert.ok(severityNumber("warning") === 4);
 * ```
 */
export function severityNumber(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 7 ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  const name = value.trim().toLowerCase();
  const index = SEVERITY_NAMES.indexOf(name);
  if (index >= 0) return index;
  const alias = _SEVERITY_ALIASES[name];
  if (alias !== undefined) return alias;
  if (/^[0-7]$/.test(name)) return Number(name);
  return undefined;
}

/**
 * Turns a facility name (`"auth"`, `"local0"`) or number into 0–23.
 *
 * @param value A facility name or number.
 * @returns The facility number, or `undefined` when the value names none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { facilityNumber } from "./event.ts";
 * assert.ok(facilityNumber("authpriv") === 10);
 * ```
 */
export function facilityNumber(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isInteger(value) && value >= 0 && value <= 23 ? value : undefined;
  }
  if (typeof value !== "string") return undefined;
  const name = value.trim().toLowerCase();
  const index = FACILITY_NAMES.indexOf(name);
  if (index >= 0) return index;
  if (/^\d{1,2}$/.test(name) && Number(name) <= 23) return Number(name);
  return undefined;
}
