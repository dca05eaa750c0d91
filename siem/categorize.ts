/**
 * Tells what kind of SIEM event an event is (an alert, an SSH login, a
 * firewall drop …) from the fields the parsers wrote, so one path can fill
 * every table of the SIEM schema (`siem/schema.ts`).
 *
 * The parsers write under these prefixes by convention: `json` (JSON
 * parser), `fw` (key=value parser on netfilter lines), `arp` (CSV parser on
 * addrwatch lines), `sshd` (sshd parser), and `object` (events from
 * `syncedObjectsSource`).
 *
 * @module
 */

import { fieldGetter, type Fields, fieldSetter, type LogEvent } from "../core/event.ts";
import type { Rewrite } from "../core/types.ts";

/** The categories, one per table of the SIEM schema. */
export const SIEM_CATEGORIES = [
  "alerts",
  "auth",
  "firewall",
  "docker",
  "system",
  "heartbeat",
  "addrwatch",
  "object",
] as const;

/** One of {@linkcode SIEM_CATEGORIES}. */
export type SiemCategory = typeof SIEM_CATEGORIES[number];

const _CATEGORIES: ReadonlySet<string> = new Set(SIEM_CATEGORIES);

/**
 * Tells whether a value names a category.
 *
 * @param value Anything.
 * @returns `true` for one of {@linkcode SIEM_CATEGORIES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSiemCategory } from "./categorize.ts";
 * assert.ok(isSiemCategory("auth") && !isSiemCategory("vms"));
 * ```
 */
export function isSiemCategory(value: unknown): value is SiemCategory {
  return typeof value === "string" && _CATEGORIES.has(value);
}

function _obj(value: unknown): Fields | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Fields
    : undefined;
}

function _has(o: Fields | undefined, key: string): boolean {
  const v = o?.[key];
  return v !== undefined && v !== null && v !== "";
}

const _AUTH_FACILITIES = new Set([4, 10]); // auth, authpriv
const _HEARTBEAT_PROGRAMS = new Set(["sluice-heartbeat", "heartbeat"]);

/**
 * Works out an event's category from what it holds, first match wins:
 *
 * 1. `object`: `object.sha256` is set (an object the object channel stored).
 * 2. `addrwatch`: `arp.mac` is set.
 * 3. `heartbeat`: `json.type` is `"heartbeat"`, or the program is `sluice-heartbeat`.
 * 4. `alerts`: `json.rule`, `json.rule_name` or `json.yara` is set.
 * 5. `docker`: `json.Type` and `json.Action` are set (`docker events --format '{{json .}}'`).
 * 6. `auth`: `sshd.outcome` is set, or the facility is auth/authpriv.
 * 7. `firewall`: `fw.SRC`, `fw.DST` and `fw.PROTO` are set.
 * 8. `system`: anything else.
 *
 * @param event The event (not changed).
 * @returns Its category.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { siemCategory } from "./categorize.ts";
 * import { createEvent } from "../core/event.ts";
 * const e = createEvent("x", { fields: { json: { rule: "Mimikatz", severity: "high" } } });
 * assert.ok(siemCategory(e) === "alerts");
 * assert.ok(siemCategory(createEvent("kernel: eth0 up")) === "system");
 * ```
 */
export function siemCategory(event: LogEvent): SiemCategory {
  const f = event.fields;
  if (_has(_obj(f.object), "sha256")) return "object";
  if (_has(_obj(f.arp), "mac")) return "addrwatch";
  const json = _obj(f.json);
  if (json?.type === "heartbeat" || _HEARTBEAT_PROGRAMS.has(event.program ?? "")) {
    return "heartbeat";
  }
  if (_has(json, "rule") || _has(json, "rule_name") || _has(json, "yara")) return "alerts";
  if (_has(json, "Type") && _has(json, "Action")) return "docker";
  if (_has(_obj(f.sshd), "outcome")) return "auth";
  if (event.facility !== undefined && _AUTH_FACILITIES.has(event.facility)) return "auth";
  const fw = _obj(f.fw);
  if (_has(fw, "SRC") && _has(fw, "DST") && _has(fw, "PROTO")) return "firewall";
  return "system";
}

/** Options for {@linkcode categorize}. */
export interface CategorizeOptions {
  /** The field the category is written to. @default {"category"} */
  field?: string;
  /** Replace a category an earlier step already set. @default {false} */
  overwrite?: boolean;
  /** A name for stats. */
  name?: string;
}

/**
 * A rewrite that sets `fields.category` with {@linkcode siemCategory}, so
 * later filters and the SIEM sink route on it (`${category}`). A category
 * already set by an earlier step is kept unless `overwrite` is on.
 *
 * @param options The field, overwrite, name.
 * @returns The rewrite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { categorize } from "./categorize.ts";
 * import { createEvent } from "../core/event.ts";
 * const step = categorize();
 * const e = createEvent("x", { fields: { sshd: { outcome: "failure", user: "root" } } });
 * step.apply(e);
 * assert.ok(e.fields.category === "auth");
 * ```
 */
export function categorize(options: CategorizeOptions = {}): Rewrite {
  const field = options.field ?? "category";
  if (typeof field !== "string" || field === "") {
    throw new TypeError(`categorize: "field" must be a field path, got "${String(field)}"`);
  }
  const get = fieldGetter(field);
  const set = fieldSetter(field);
  const overwrite = options.overwrite ?? false;
  return {
    kind: "categorize",
    ...(options.name ? { name: options.name } : {}),
    apply(event: LogEvent): void {
      if (!overwrite && isSiemCategory(get(event))) return;
      set(event, siemCategory(event));
    },
  };
}
