import assert from "node:assert/strict";
import { memoize } from "../../mod.ts";

Deno.test("memoize() computes each argument once while it holds fewer than max results", () => {
  const calls: string[] = [];
  const upper = memoize((s: string) => (calls.push(s), s.toUpperCase()), 3);
  assert.deepEqual(["a", "b", "a", "c", "b"].map(upper), ["A", "B", "A", "C", "B"]);
  assert.deepEqual(calls, ["a", "b", "c"]);
});

Deno.test("memoize() forgets everything once full, so it never holds more than max", () => {
  const calls: number[] = [];
  const twice = memoize((n: number) => (calls.push(n), n * 2), 2);
  twice(1);
  twice(2);
  twice(3); // full: 1 and 2 are forgotten, 3 is held
  assert.equal(twice(3), 6);
  assert.equal(twice(1), 2);
  assert.deepEqual(calls, [1, 2, 3, 1]);
});

Deno.test("memoize() remembers nothing from a call that threw", () => {
  let fail = true;
  const f = memoize((s: string) => {
    if (fail) throw new Error(`no ${s}`);
    return s;
  }, 10);
  assert.throws(() => f("x"), /no x/);
  fail = false;
  assert.equal(f("x"), "x");
});

Deno.test("memoize() refuses a max that is not a positive integer", () => {
  for (const max of [0, -1, 1.5, NaN]) {
    assert.throws(() => memoize((s: string) => s, max), RangeError);
  }
});
