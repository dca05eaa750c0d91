/**
 * `grouped()` (ui/components/bits.tsx) writes numbers as
 * `toLocaleString("en")` does, without loading ICU into the central.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { grouped } from "../../ui/components/bits.tsx";

Deno.test("grouped: the same text as toLocaleString('en') for counts and fractions", () => {
  const edges = [
    0,
    -0,
    1,
    999,
    1000,
    1234567,
    2 ** 53 - 1,
    -5,
    -0.0004,
    0.0005,
    0.9996,
    999.9995,
    12589.3175,
    15207.6145,
    5917645.7195,
    1e20,
    1e21,
    1e-7,
    NaN,
    Infinity,
    -Infinity,
  ];
  for (const n of edges) assert.equal(grouped(n), n.toLocaleString("en"), String(n));
  fc.assert(
    fc.property(fc.double({ min: -1e20, max: 1e20 }), (n) => {
      assert.equal(grouped(n), n.toLocaleString("en"), String(n));
    }),
    { numRuns: 20_000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 4 }), (n, d) => {
      const x = n / 10 ** d;
      assert.equal(grouped(x), x.toLocaleString("en"), String(x));
    }),
    { numRuns: 20_000 },
  );
});
