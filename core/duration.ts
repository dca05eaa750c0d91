/**
 * Durations and sizes as people write them on a command line (`30d`,
 * `1h30m`, `20GB`), for flags of the runner and the examples. Kept apart
 * from the command-line parser so a pipeline that reads a duration flag
 * does not load it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration, parseSize } from "./duration.ts";
 * assert.equal(parseDuration("1h30m"), 5_400_000);
 * assert.equal(parseSize("20GB"), 20e9);
 * ```
 *
 * @module
 */

const _UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Reads a duration: `90s`, `30m`, `24h`, `7d`, `2w`, `1h30m`, `500ms`.
 *
 * @param text The duration.
 * @returns Milliseconds, or `undefined` when the text is not a duration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 * assert.ok(parseDuration("1h30m") === 5_400_000);
 * assert.ok(parseDuration("soon") === undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (!/^(\d+(\.\d+)?(ms|s|min|m|h|d|w))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|min|m|h|d|w)/g)) {
    total += Number(m[1]) * (_UNITS[m[2] as string] as number);
  }
  return total;
}

const _SIZE: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
};

/**
 * Reads a size: `20GB`, `500MB`, `1.5g`, `123456` (decimal units).
 *
 * @param text The size.
 * @returns Bytes, or `undefined` when the text is not a size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSize } from "./duration.ts";
 * assert.equal(parseSize("500MB"), 500e6);
 * assert.equal(parseSize("lots"), undefined);
 * ```
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? _SIZE[(m[2] as string).toLowerCase()] : undefined;
  return m && unit ? Math.round(Number(m[1]) * unit) : undefined;
}
