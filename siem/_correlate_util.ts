/**
 * Small helpers shared by the correlation step, its store and the alert
 * paths.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Filter } from "../core/types.ts";
import type { CorrelateAlert, EventTest } from "./correlate_types.ts";

/**
 * A number of ms option, checked.
 *
 * @param where The component, for the message.
 * @param option The option's name.
 * @param value Its value.
 * @param min The least value allowed.
 * @returns The value.
 * @throws {TypeError} When not a number.
 * @throws {RangeError} When below `min`.
 *
 * @example
 * ```ts
 * import { msOption } from "./_correlate_util.ts";
 * msOption("correlate", "window", 60_000, 1);
 * ```
 */
export function msOption(where: string, option: string, value: unknown, min: number): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `${where}: "${option}" must be a number of ms, got ${JSON.stringify(value)}`,
    );
  }
  if (value < min) {
    throw new RangeError(`${where}: "${option}" must be at least ${min}, got ${value}`);
  }
  return value;
}

/**
 * A time as ISO 8601 UTC, or `""` when it is not one.
 *
 * @param ms Milliseconds since the epoch.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { isoTime } from "./_correlate_util.ts";
 * isoTime(0); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
}

/**
 * Whether a value is an alert a rule wrote (it has a `rule` name).
 *
 * @param a The value.
 * @returns `true` for an alert.
 *
 * @example
 * ```ts
 * import { isAlert } from "./_correlate_util.ts";
 * isAlert({ rule: "r" }); // true
 * ```
 */
export function isAlert(a: unknown): a is Partial<CorrelateAlert> & { rule: string } {
  return a !== null && typeof a === "object" && typeof (a as { rule?: unknown }).rule === "string";
}

/**
 * A rule's `filter` or `trigger` option as a function: a function as it is,
 * a {@linkcode Filter} by its `test`, `undefined` when left out.
 *
 * @param where The rule, for the message.
 * @param option The option's name.
 * @param value Its value.
 * @returns The test, or `undefined`.
 * @throws {TypeError} When it is neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventTest } from "./_correlate_util.ts";
 * assert.equal(eventTest("correlate(r)", "filter", undefined), undefined);
 * ```
 */
export function eventTest(
  where: string,
  option: string,
  value: EventTest | undefined,
): ((e: LogEvent) => boolean) | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "function") return value;
  if (value && typeof (value as Filter).test === "function") {
    const f = value as Filter;
    return (e: LogEvent) => f.test(e);
  }
  throw new TypeError(`${where}: "${option}" must be a function or a Filter, got ${typeof value}`);
}

/**
 * An integer option, checked.
 *
 * @param where The rule, for the message.
 * @param option The option's name.
 * @param value Its value.
 * @param min The least value allowed.
 * @returns The value.
 * @throws {TypeError} When not an integer.
 * @throws {RangeError} When below `min`.
 *
 * @example
 * ```ts
 * import { intOption } from "./_correlate_util.ts";
 * intOption("correlate(r)", "threshold", 5, 1);
 * ```
 */
export function intOption(where: string, option: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${where}: "${option}" must be an integer, got ${JSON.stringify(value)}`);
  }
  if (value < min) {
    throw new RangeError(`${where}: "${option}" must be at least ${min}, got ${value}`);
  }
  return value;
}
