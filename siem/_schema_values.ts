/**
 * The SIEM schema's column values: text, integers and reals from field
 * values, the first field that holds something, and the event's time as
 * ISO 8601 UTC.
 *
 * @module
 */

import { fieldGetter, type LogEvent } from "../core/event.ts";

/** Reads one value of an event. */
export type FieldRead = (e: LogEvent) => unknown;

/**
 * Text of a value for a TEXT column: strings as they are, numbers and
 * booleans with String, objects as JSON; nothing (or `""`) as null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnText } from "./_schema_values.ts";
 * assert.equal(columnText({ a: 1 }), '{"a":1}');
 * assert.equal(columnText(""), null);
 * ```
 */
export function columnText(v: unknown): string | null {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "string") return v;
  if (typeof v === "object") {
    try {
      return JSON.stringify(v);
    } catch {
      return null;
    }
  }
  return String(v);
}

/**
 * A safe integer (a number or a numeric string) for an INTEGER column, else null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnInt } from "./_schema_values.ts";
 * assert.equal(columnInt("42"), 42);
 * assert.equal(columnInt("4.2"), null);
 * ```
 */
export function columnInt(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * A finite number (a number or a numeric string) for a REAL column, else null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnReal } from "./_schema_values.ts";
 * assert.equal(columnReal("4.5"), 4.5);
 * ```
 */
export function columnReal(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/**
 * The first of several fields that holds something, as text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstText } from "./_schema_values.ts";
 * import { createEvent } from "../core/event.ts";
 * const host = firstText("json.host", "HOST");
 * assert.equal(host(createEvent("x", { host: "vm1" })), "vm1");
 * ```
 */
export function firstText(...names: string[]): (e: LogEvent) => string | null {
  const getters = names.map(fieldGetter);
  return (e) => {
    for (const get of getters) {
      const t = columnText(get(e));
      if (t !== null) return t;
    }
    return null;
  };
}

/**
 * One field as text ({@linkcode columnText}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textOf } from "./_schema_values.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.equal(textOf("json.a")(createEvent("x", { fields: { json: { a: 1 } } })), "1");
 * ```
 */
export function textOf(name: string): (e: LogEvent) => string | null {
  const get = fieldGetter(name);
  return (e) => columnText(get(e));
}

/**
 * One field as an integer ({@linkcode columnInt}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intOf } from "./_schema_values.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.equal(intOf("json.n")(createEvent("x", { fields: { json: { n: "7" } } })), 7);
 * ```
 */
export function intOf(name: string): (e: LogEvent) => number | null {
  const get = fieldGetter(name);
  return (e) => columnInt(get(e));
}

// Already what toISOString() would give: stored as it is, without a parse.
const _CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * A time in ms as ISO 8601 UTC, or null when it is no valid time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoTime } from "./_schema_values.ts";
 * assert.equal(isoTime(0), "1970-01-01T00:00:00.000Z");
 * assert.equal(isoTime(NaN), null);
 * ```
 */
export function isoTime(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * The event's time as ISO 8601 UTC: the parsed timestamp when a parser set
 * one, else `field` (e.g. `json.timestamp`) when it holds a date, else the
 * time it was received.
 *
 * @param field Where a time may be, when no parser set one.
 * @returns A reader of the time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventTime } from "./_schema_values.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.equal(eventTime()(createEvent("x", { timestamp: 0 })), "1970-01-01T00:00:00.000Z");
 * ```
 */
export function eventTime(field?: FieldRead): (e: LogEvent) => string {
  return (e) => {
    if (e.timestamp !== undefined) return isoTime(e.timestamp) ?? isoTime(e.receivedAt) as string;
    if (field) {
      const v = field(e);
      if (typeof v === "string" && v !== "") {
        if (_CANONICAL.test(v)) return v;
        const ms = Date.parse(v);
        if (!Number.isNaN(ms)) return isoTime(ms) as string;
      }
    }
    return isoTime(e.receivedAt) ?? new Date(0).toISOString();
  };
}
