/**
 * Reads the dashboard's filters from a query string: every value is
 * checked, trimmed and bounded here and reaches the store as a plain value
 * (the store binds it as a parameter). Unknown or malformed values are
 * dropped, never thrown.
 *
 * @module
 */

import type { AlertFilter, TailFilter, TriageStatus } from "../store/types.ts";
import { SIEM_CATEGORIES } from "../siem/categorize.ts";

/** The time ranges the pages offer, in ms (`all`: no lower bound). */
export const RANGES: Readonly<Record<string, number>> = {
  "1h": 3600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
  "all": 0,
};

/** The severities the filters offer. */
export const SEVERITIES = ["critical", "high", "medium", "low", "info"] as const;

/** The triage statuses. */
export const STATUSES: readonly TriageStatus[] = ["open", "acknowledged", "closed"];

/** The alert filters as the form shows them (strings, `""` when unset). */
export interface AlertForm {
  range: string;
  /** From this time (UTC, `YYYY-MM-DDTHH:MM`); wins over `range`. */
  from: string;
  /** Up to this time (UTC, `YYYY-MM-DDTHH:MM`). */
  to: string;
  host: string;
  rule: string;
  severity: string;
  source: string;
  text: string;
  status: string;
}

function _time(value: string | undefined | null): { text: string; ms?: number } {
  const text = _text(value, 32);
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)$/.exec(text);
  const ms = m ? Date.parse(`${m[1]}T${m[2]}Z`) : NaN;
  return Number.isFinite(ms) ? { text, ms } : { text: "" };
}

function _text(value: string | undefined | null, max = 200): string {
  return typeof value === "string" ? value.trim().slice(0, max) : "";
}

/**
 * Reads the alert filters from a query.
 *
 * @param query The request's query parameters.
 * @param now "Now", ms.
 * @param defaultRange The range when none is given.
 * @returns The form's values and the store filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAlertFilter } from "./filters.ts";
 * const { filter } = parseAlertFilter(new URLSearchParams("severity=critical&host=vm-1&range=bogus"), 0);
 * assert.deepEqual(filter, { host: "vm-1", severities: ["critical"], since: -86400000 });
 * const r = parseAlertFilter(new URLSearchParams("from=2026-01-01T00:00&to=2026-01-02T00:00"), 0);
 * assert.deepEqual([r.filter.since, r.filter.until], [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2)]);
 * ```
 */
export function parseAlertFilter(
  query: URLSearchParams,
  now: number = Date.now(),
  defaultRange = "24h",
): { form: AlertForm; filter: AlertFilter } {
  const rangeText = _text(query.get("range"), 8);
  const range = rangeText in RANGES ? rangeText : defaultRange;
  const severity = _text(query.get("severity"), 16).toLowerCase();
  const status = _text(query.get("status"), 16);
  const from = _time(query.get("from"));
  const to = _time(query.get("to"));
  const form: AlertForm = {
    range,
    from: from.text,
    to: to.text,
    host: _text(query.get("host")),
    rule: _text(query.get("rule")),
    severity: (SEVERITIES as readonly string[]).includes(severity) ? severity : "",
    source: _text(query.get("source")),
    text: _text(query.get("text")),
    status: (STATUSES as readonly string[]).includes(status) ? status : "",
  };
  const filter: AlertFilter = {};
  if (form.host) filter.host = form.host;
  if (form.rule) filter.rule = form.rule;
  if (form.severity) filter.severities = [form.severity];
  if (form.source) filter.source = form.source;
  if (form.text) filter.text = form.text;
  if (form.status) filter.status = form.status as TriageStatus;
  const span = RANGES[range] ?? 0;
  if (from.ms !== undefined) filter.since = from.ms;
  else if (span > 0) filter.since = now - span;
  if (to.ms !== undefined) filter.until = to.ms;
  return { form, filter };
}

/**
 * The query string of a form's values, without the empty ones.
 *
 * @param form Filter values.
 * @param extra More parameters (a cursor, a format).
 * @returns `a=b&c=d`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryString } from "./filters.ts";
 * assert.equal(queryString({ host: "vm 1", rule: "" }), "host=vm+1");
 * ```
 */
export function queryString(
  form: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>> = {},
): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...form, ...extra })) if (v) q.set(k, v);
  return q.toString();
}

/** The live tail's filters as the form shows them. */
export interface TailForm {
  categories: string[];
  severity: string;
  host: string;
}

/**
 * Reads the live tail's filters: the language of `sluice tail`
 * (`category` repeated or comma-separated, `severity`, `host`).
 *
 * @param query The request's query parameters.
 * @returns The form's values and the store filter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTailFilter } from "./filters.ts";
 * const { filter } = parseTailFilter(new URLSearchParams("category=alerts,auth&category=nope&severity=high"));
 * assert.deepEqual(filter, { categories: ["alerts", "auth"], severities: ["high"] });
 * ```
 */
export function parseTailFilter(query: URLSearchParams): { form: TailForm; filter: TailFilter } {
  const categories: string[] = [];
  for (const value of query.getAll("category")) {
    for (const c of value.split(",")) {
      const name = c.trim();
      if ((SIEM_CATEGORIES as readonly string[]).includes(name) && !categories.includes(name)) {
        categories.push(name);
      }
    }
  }
  const severity = _text(query.get("severity"), 16).toLowerCase();
  const form: TailForm = {
    categories,
    severity: (SEVERITIES as readonly string[]).includes(severity) ? severity : "",
    host: _text(query.get("host")),
  };
  const filter: TailFilter = {};
  if (categories.length) filter.categories = categories;
  if (form.severity) filter.severities = [form.severity];
  if (form.host) filter.host = form.host;
  return { form, filter };
}
