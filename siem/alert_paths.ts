/**
 * From a rule's mark to a stored alert: {@linkcode hasAlert},
 * {@linkcode asAlert} and {@linkcode alertPaths} (see `correlate.ts`).
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { LogEvent } from "../core/event.ts";
import { fieldGetter } from "../core/event.ts";
import type { PathDefinition } from "../core/pipeline.ts";
import type { Filter, Rewrite } from "../core/types.ts";
import type { Correlation } from "./correlate.ts";
import { isAlert, isoTime } from "./_correlate_util.ts";

/** Options for {@linkcode hasAlert} and {@linkcode asAlert}. */
export interface AlertFieldOptions {
  /**
   * Only this rule's alert (from `fields.alerts[<rule>]`). Without it, the
   * event's first alert (in `field`), whichever rule wrote it: one alert
   * per event, so prefer one path per rule ({@linkcode alertPaths}).
   */
  rule?: string;
  /** Where the rules wrote their first alert. @default {"alert"} */
  field?: string;
  /** A name for stats. */
  name?: string;
}

/** Reads the alert a filter or rewrite works on: one rule's, or the first. */
function _alertOf(options: AlertFieldOptions): (e: LogEvent) => unknown {
  const rule = options.rule;
  if (rule !== undefined) {
    if (typeof rule !== "string" || rule === "") {
      throw new TypeError(`alert: "rule" must be a non-empty string, got ${JSON.stringify(rule)}`);
    }
    return (e) => {
      const all = e.fields.alerts;
      if (all === null || typeof all !== "object" || !Object.hasOwn(all, rule)) return undefined;
      const a = (all as Record<string, unknown>)[rule];
      return isAlert(a) && a.rule === rule ? a : undefined;
    };
  }
  const get = fieldGetter(options.field ?? "alert");
  return (e) => {
    const a = get(e);
    if (isAlert(a)) return a;
    // An alert field written by hand or by an older rule is absent: take the first of `alerts`.
    const all = e.fields.alerts;
    if (all === null || typeof all !== "object") return undefined;
    for (const v of Object.values(all)) if (isAlert(v)) return v;
    return undefined;
  };
}

/**
 * A filter that keeps the events a rule marked with an alert (with
 * `rule`, the events that rule marked).
 *
 * @param options The rule, the alert field, name.
 * @returns The filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasAlert } from "./correlate.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(!hasAlert().test(createEvent("x")));
 * const e = createEvent("x", { fields: { alerts: { r: { rule: "r", severity: "high" } } } });
 * assert.ok(hasAlert({ rule: "r" }).test(e) && !hasAlert({ rule: "s" }).test(e));
 * ```
 */
export function hasAlert(options: AlertFieldOptions = {}): Filter {
  const get = _alertOf(options);
  return {
    kind: "has-alert",
    ...(options.name ? { name: options.name } : {}),
    test(e: LogEvent): boolean {
      return get(e) !== undefined;
    },
  };
}

/**
 * Turns an event a rule marked into the alert itself, shaped as the
 * `alerts` table of `siemSchema` reads it: `fields.json` becomes
 * `{ timestamp, host, severity, rule, msg, source: "sluice-correlate", …evidence, event }`
 * (`event` is the original message), the message becomes that JSON (the
 * table's `raw`), `fields.category` becomes `"alerts"`, and the id is
 * `incident:<rule>:<hash of the incident>` for a correlation's alert (the
 * same on every central that saw the attack, and in a replay), else the
 * event's id with `:<rule>` appended, so it differs from the original
 * event's and from another rule's alert on the same event.
 * Events without that alert are left alone.
 *
 * Use it on an embedded path after {@linkcode hasAlert}: the engine gives
 * such a path its own copies, so the original event is stored unchanged.
 *
 * @param options The rule, the alert field, name.
 * @returns The rewrite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asAlert } from "./correlate.ts";
 * import { createEvent } from "../core/event.ts";
 * const e = createEvent("Failed password …", {
 *   host: "vm-1",
 *   fields: { alert: { rule: "sshd_brute_force", severity: "high", key: "203.0.113.9" } },
 * });
 * asAlert().apply(e);
 * assert.ok((e.fields.json as { rule: string }).rule === "sshd_brute_force");
 * assert.ok(e.fields.category === "alerts");
 * ```
 */
export function asAlert(options: AlertFieldOptions = {}): Rewrite {
  const get = _alertOf(options);
  return {
    kind: "as-alert",
    ...(options.name ? { name: options.name } : {}),
    apply(e: LogEvent): void {
      const a = get(e);
      if (!isAlert(a)) return;
      const { rule, severity, summary, ...evidence } = a;
      const body: Record<string, unknown> = {
        timestamp: isoTime(e.timestamp ?? e.receivedAt),
        host: e.host ?? null,
        severity: typeof severity === "string" ? severity : "high",
        rule,
        msg: typeof summary === "string" ? summary : `${rule} ${String(a.key ?? "")}`.trim(),
        source: "sluice-correlate",
        ...evidence,
        event: e.message,
      };
      e.fields.json = body;
      e.fields.category = "alerts";
      e.message = JSON.stringify(body);
      // One attack, one id: a correlation's incident (rule, suppression period, key) is the same
      // on every central that saw the attack, whichever event tipped each one over. The key is
      // text from logs: hashed to keep the id short and fixed in length.
      if (typeof a.incident === "string") e.id = `incident:${rule}:${_digest(a.incident)}`;
      else if (e.id !== undefined) e.id = `${e.id}:${rule}`;
    },
  };
}

/** What every path of {@linkcode alertPaths} does after turning its event into an alert. */
export type AlertPathOptions = Omit<PathDefinition, "from">;

/**
 * One embedded path per rule that takes the events that rule marked, turns
 * its own copy into that rule's alert ({@linkcode hasAlert} and
 * {@linkcode asAlert} with `rule`), then runs `path`'s steps and goes to its
 * sinks and children. So every rule that fires stores its own alert, even
 * when several fire on one event.
 *
 * @param rules The rules (or rule names) whose alerts to take.
 * @param path Where the alerts go: `to`, further `steps`, `paths`, `flags`, a `name` prefix.
 * @returns The paths, one per rule, to put in a parent path's `paths`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alertPaths, correlate } from "./correlate.ts";
 * const rule = correlate({ rule: "r", key: "${HOST}", window: 60_000, threshold: 3 });
 * const paths = alertPaths([rule, "other"], { to: ["db"] });
 * assert.ok(paths.length === 2 && paths[0]?.name === "alert r");
 * ```
 */
export function alertPaths(
  rules: ReadonlyArray<Correlation | { readonly rule: string } | string>,
  path: AlertPathOptions = {},
): PathDefinition[] {
  if (!Array.isArray(rules)) throw new TypeError(`alertPaths: "rules" must be an array`);
  const prefix = path.name ?? "alert";
  const seen = new Set<string>();
  const out: PathDefinition[] = [];
  for (const r of rules) {
    const rule = typeof r === "string" ? r : r?.rule;
    if (typeof rule !== "string" || rule === "") {
      throw new TypeError(`alertPaths: every rule must be a rule or its name, got ${String(r)}`);
    }
    if (seen.has(rule)) continue;
    seen.add(rule);
    out.push({
      ...path,
      name: `${prefix} ${rule}`,
      steps: [hasAlert({ rule }), asAlert({ rule }), ...(path.steps ?? [])],
    });
  }
  return out;
}

function _digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}
