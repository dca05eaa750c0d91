/**
 * Detection rule: an alert of severity critical, passed through as it is.
 *
 * @module
 */

import { fieldGetter, type LogEvent } from "../../core/event.ts";
import type { Filter } from "../../core/types.ts";

/** Options for {@linkcode criticalAlert}. */
export interface CriticalAlertOptions {
  /** Severity names that count as critical (compared without case). @default {["critical"]} */
  severities?: readonly string[];
  /** Fields that may hold an alert's severity, first set wins. @default {["json.severity", "json.level", "alert.severity"]} */
  fields?: readonly string[];
  /** A name for stats. */
  name?: string;
}

/**
 * Keeps alerts whose severity is critical and lets them through unchanged:
 * no counting, no window, no suppression. It reads the severity a VM's
 * scanner wrote (`json.severity`, `json.level`) or a rule's mark
 * (`alert.severity`), so both a YARA hit rated critical and, say, a login
 * after a brute force pass. Use it for the paths that must see every
 * critical alert at once (a `critical.jsonl`, a notifier); the alerts
 * themselves land in `alerts` through the SIEM store like any other.
 *
 * @param options Severity names, fields, name.
 * @returns The filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { criticalAlert } from "./critical_alert.ts";
 * import { createEvent } from "../../core/event.ts";
 * const critical = criticalAlert();
 * assert.ok(critical.test(createEvent("x", { fields: { json: { severity: "CRITICAL" } } })));
 * assert.ok(!critical.test(createEvent("x", { fields: { json: { severity: "high" } } })));
 * ```
 */
export function criticalAlert(options: CriticalAlertOptions = {}): Filter {
  const names = options.severities ?? ["critical"];
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new TypeError(`criticalAlert: "severities" must be an array of strings`);
  }
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const getters = (options.fields ?? ["json.severity", "json.level", "alert.severity"]).map(
    fieldGetter,
  );
  return {
    kind: "critical-alert",
    ...(options.name ? { name: options.name } : {}),
    test(e: LogEvent): boolean {
      for (const get of getters) {
        const v = get(e);
        if (typeof v === "string" && v !== "") return wanted.has(v.toLowerCase());
      }
      return false;
    },
  };
}
