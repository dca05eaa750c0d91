/**
 * The values of a row group on their way into hyparquet-writer
 * (archive/parquet.ts): one converter per column from SQLite's values to
 * the Parquet type's ({@linkcode columnConverter}), and the mostly-distinct
 * text of a group as UTF-8 bytes ({@linkcode utf8Group}).
 *
 * @module
 */

import type { ParquetColumn } from "./parquet.ts";

/** Converts one SQLite value to what the writer takes for the column's type. */
export type Converter = (v: unknown) => unknown;

/**
 * The converter of a column, chosen once (not a `switch` per value).
 *
 * @param type The column's Parquet type.
 * @param column Its name, for the error.
 * @returns The converter; it throws a `TypeError` naming the column on a value of another kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { columnConverter } from "./_parquet_values.ts";
 * assert.equal(columnConverter("INT64", "n")(3), 3n);
 * assert.equal(columnConverter("TIMESTAMP", "t")("1970-01-01T00:00:01.000Z"), 1000);
 * ```
 */
export function columnConverter(type: ParquetColumn["type"], column: string): Converter {
  switch (type) {
    case "STRING":
      return (v) => typeof v === "string" ? v : v === null || v === undefined ? null : String(v);
    case "INT64":
      return (v) => {
        if (typeof v === "bigint" || v === null || v === undefined) return v ?? null;
        if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
        throw new TypeError(
          `parquet: column "${column}" holds ${JSON.stringify(v)}, not an integer`,
        );
      };
    case "DOUBLE":
      return (v) => {
        if (typeof v === "number" || v === null || v === undefined) return v ?? null;
        if (typeof v === "bigint") return Number(v);
        throw new TypeError(`parquet: column "${column}" holds ${JSON.stringify(v)}, not a number`);
      };
    case "TIMESTAMP":
      return (v) => {
        if (v === null || v === undefined) return null;
        const ms = typeof v === "string" ? Date.parse(v) : typeof v === "number" ? v : NaN;
        if (!Number.isFinite(ms)) {
          throw new TypeError(`parquet: column "${column}" holds ${JSON.stringify(v)}, not a time`);
        }
        return ms; // TIMESTAMP_MILLIS: a number is written as is, no Date to allocate
      };
  }
}

const _encoder = new TextEncoder();

/**
 * A string column of a row group as UTF-8 bytes when its values are mostly
 * distinct (ids, messages, the raw line): one `TextEncoder` call for the
 * whole group instead of one per value inside the writer (a third of the
 * write's CPU on alerts). Columns with repeats (host, rule, severity) stay
 * strings: the writer dictionary-encodes those and encodes each distinct
 * value once. Only all-ASCII groups are sliced out of the joined bytes (a
 * byte is then a char); any other group is encoded value by value.
 *
 * @param values The group's values (strings, nulls).
 * @returns The values to hand to the writer (the same array when kept as strings).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8Group } from "./_parquet_values.ts";
 * const out = utf8Group(["a1", "b2", null, "é"]);
 * assert.deepEqual(out.map((v) => v instanceof Uint8Array ? [...v] : v), [[97, 49], [98, 50], null, [195, 169]]);
 * ```
 */
export function utf8Group(values: unknown[]): unknown[] {
  const step = Math.max(1, Math.floor(values.length / 256));
  const seen = new Set<unknown>();
  let sampled = 0;
  for (let i = 0; i < values.length; i += step, sampled++) seen.add(values[i]);
  if (seen.size * 2 <= sampled) return values;
  let joined = "";
  for (const v of values) if (typeof v === "string") joined += v;
  const out = new Array<unknown>(values.length);
  const bytes = _encoder.encode(joined);
  // As many bytes as UTF-16 units only when every character is ASCII (any other takes 2-4
  // bytes for its 1-2 units): no scan of the text for them first (0.35 s per 1M alerts).
  if (bytes.length === joined.length) {
    let at = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== "string") out[i] = v;
      else {
        out[i] = bytes.subarray(at, at + v.length);
        at += v.length;
      }
    }
  } else {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      out[i] = typeof v === "string" ? _encoder.encode(v) : v;
    }
  }
  return out;
}
