/**
 * Severity names as the SIEM tables hold them: alert severities are text
 * (`critical`, `high` …, any case, `crit` too), system events keep the
 * syslog number. One place for the classes `sluice tail`, `query` and the
 * store's filters agree on.
 *
 * @module
 */

import { severityNumber } from "../core/event.ts";

const _CLASSES: ReadonlySet<string> = new Set(["critical", "high", "medium", "low", "info"]);

/**
 * The class of a severity: `critical`, `high`, `medium`, `low` or `info`.
 *
 * @param severity An alert severity name or a syslog severity (name or 0–7).
 * @returns The class, or `undefined` when the value names no severity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { severityClass } from "./severity.ts";
 * assert.ok(severityClass("crit") === "critical" && severityClass(4) === "medium");
 * ```
 */
export function severityClass(severity: unknown): string | undefined {
  if (typeof severity === "string") {
    const s = severity.trim().toLowerCase();
    if (_CLASSES.has(s)) return s;
    if (s === "moderate") return "medium";
  }
  const n = severityNumber(severity);
  if (n === undefined) return undefined;
  return n <= 2 ? "critical" : n === 3 ? "high" : n === 4 ? "medium" : n === 5 ? "low" : "info";
}

/**
 * The stored spellings an alert severity filter matches: each name in lower,
 * upper and title case; a name of the critical class (`crit`, `emerg` …)
 * with `critical` and `crit` too. Matching these exact
 * values (rather than `lower(severity)`) lets a database use its index.
 *
 * @param names Severity names as a user gives them.
 * @returns The distinct spellings, empty for no names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { severitySpellings } from "./severity.ts";
 * assert.ok(severitySpellings(["critical"]).includes("CRIT"));
 * ```
 */
export function severitySpellings(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === "") continue;
    const aliases = severityClass(name) === "critical" ? [name, "critical", "crit"] : [name];
    for (const a of aliases) {
      out.add(a);
      out.add(a.toUpperCase());
      out.add(a.charAt(0).toUpperCase() + a.slice(1));
    }
  }
  return [...out];
}

/**
 * The chart class of a stored alert severity: a {@linkcode severityClass}
 * or `other`.
 *
 * @param severity The stored value.
 * @returns `critical`, `high`, `medium`, `low`, `info` or `other`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alertSeverityClass } from "./severity.ts";
 * assert.ok(alertSeverityClass("HIGH") === "high" && alertSeverityClass("weird") === "other");
 * ```
 */
export function alertSeverityClass(
  severity: unknown,
): "critical" | "high" | "medium" | "low" | "info" | "other" {
  return (severityClass(severity) ?? "other") as
    | "critical"
    | "high"
    | "medium"
    | "low"
    | "info"
    | "other";
}
