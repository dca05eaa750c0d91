/**
 * Checks of plugin options shared by every factory, so each names the
 * factory, the option and the value the same way, plus the one-line text
 * of a caught error.
 *
 * @module
 */

/**
 * Checks that an option is an integer of at least `min`.
 *
 * @param who The factory's name (`tcpSource`).
 * @param name The option's name.
 * @param value Its value.
 * @param min The least accepted value. @default {1}
 * @returns The value.
 * @throws {RangeError} When it is not an integer or is below `min`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { positiveInt } from "./options.ts";
 * assert.equal(positiveInt("tcpSource", "maxConnections", 10), 10);
 * assert.throws(() => positiveInt("tcpSource", "maxConnections", 0), RangeError);
 * ```
 */
export function positiveInt(who: string, name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${who}: "${name}" must be an integer of at least ${min}, got ${value}`);
  }
  return value;
}

/**
 * Resolves an optional number option: the fallback when left out, else a
 * number of at least `min`.
 *
 * @param where The factory's name.
 * @param option The option's name.
 * @param value Its value, or `undefined`.
 * @param fallback The default.
 * @param min The least accepted value.
 * @returns The value or the default.
 * @throws {TypeError} When it is not a number.
 * @throws {RangeError} When it is below `min`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numberOption } from "./options.ts";
 * assert.equal(numberOption("jsonlSink", "maxOpenFiles", undefined, 64, 1), 64);
 * assert.throws(() => numberOption("jsonlSink", "maxOpenFiles", 0, 64, 1), RangeError);
 * ```
 */
export function numberOption(
  where: string,
  option: string,
  value: number | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${where}: "${option}" must be a number, got ${typeof value}`);
  }
  if (value < min) {
    throw new RangeError(`${where}: "${option}" must be at least ${min}, got ${value}`);
  }
  return value;
}

/**
 * The message of a caught value, for logs and counters.
 *
 * @param err Anything thrown.
 * @returns Its message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./options.ts";
 * assert.equal(errorMessage(new Error("boom")), "boom");
 * assert.equal(errorMessage("plain"), "plain");
 * ```
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
