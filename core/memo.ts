/**
 * A bounded memo for per-event work whose inputs repeat: a few hosts, one
 * day at a time, one time-zone offset per quarter hour.
 *
 * @module
 */

/**
 * Wraps a function so that each argument's result is computed once and
 * then looked up. At most `max` results are held: when one more is needed,
 * all are forgotten and the memo starts again, which costs one recompute
 * per distinct argument and never grows past `max`. A call that throws
 * remembers nothing. `compute` must not return `undefined`.
 *
 * @param compute The function to remember, of one argument.
 * @param max The most results held.
 * @returns The remembering function.
 * @throws {RangeError} When `max` is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoize } from "./memo.ts";
 * let calls = 0;
 * const upper = memoize((s: string) => (calls++, s.toUpperCase()), 100);
 * assert.equal(upper("vm1"), "VM1");
 * assert.equal(upper("vm1"), "VM1");
 * assert.equal(calls, 1);
 * ```
 */
export function memoize<K, V>(compute: (key: K) => V, max: number): (key: K) => V {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`memoize: "max" must be a positive integer, got ${max}`);
  }
  const held = new Map<K, V>();
  return (key) => {
    let value = held.get(key);
    if (value === undefined) {
      value = compute(key);
      if (held.size >= max) held.clear();
      held.set(key, value);
    }
    return value;
  };
}
