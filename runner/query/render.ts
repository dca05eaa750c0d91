/**
 * How `sluice query` prints a result: a table that fits the terminal,
 * JSON or CSV.
 *
 * @module
 */

import { severityClass } from "../../store/severity.ts";

/**
 * An output format.
 *
 * @example
 * ```ts
 * import type { QueryFormat } from "./render.ts";
 * const f: QueryFormat = "csv";
 * ```
 */
export type QueryFormat = "table" | "json" | "csv";

/**
 * A result: its column names and rows (values by column).
 *
 * @example
 * ```ts
 * import type { QueryResult } from "./render.ts";
 * const r: QueryResult = { columns: ["n"], rows: [{ n: 1 }] };
 * ```
 */
export interface QueryResult {
  /** The column names, in order. */
  columns: string[];
  /** The rows, each a record of column name → value. */
  rows: Array<Record<string, unknown>>;
}

function _cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v).replace(/[\r\n\t]+/g, " ");
}

function _csvCell(v: unknown): string {
  const s = v === null || v === undefined
    ? ""
    : typeof v === "object" && !(v instanceof Uint8Array)
    ? JSON.stringify(v)
    : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The JSON replacer of query output: bigints as numbers (or text when too
 * large), bytes as base64.
 *
 * @param _k The key (unused).
 * @param v The value.
 * @returns The value to write.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonValue } from "./render.ts";
 * assert.ok(JSON.stringify({ n: 1n }, jsonValue) === '{"n":1}');
 * ```
 */
export function jsonValue(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return btoa(String.fromCharCode(...v));
  return v;
}

const _CODES: Record<string, string> = {
  critical: "\x1b[1;31m",
  high: "\x1b[31m",
  medium: "\x1b[33m",
  low: "\x1b[36m",
};

/**
 * Renders a result as a table that fits `width` (the widest columns are
 * cut with `…`), as JSON, or as CSV (RFC 4180). A table colours its
 * `severity` and `status` cells when `color` is on. No rows is an answer:
 * a table says `(no rows)`, JSON is `[]`, CSV is the header alone.
 *
 * @param result Columns and rows.
 * @param format The format.
 * @param options Width and colour for tables.
 * @returns The text, ending in a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderResult } from "./render.ts";
 * const text = renderResult({ columns: ["rule", "hits"], rows: [{ rule: "R1", hits: 3 }] }, "csv");
 * assert.ok(text === "rule,hits\nR1,3\n");
 * ```
 */
export function renderResult(
  result: QueryResult,
  format: QueryFormat,
  options: { width?: number | undefined; color?: boolean } = {},
): string {
  const { columns, rows } = result;
  if (format === "json") return JSON.stringify(rows, jsonValue, 2) + "\n";
  if (format === "csv") {
    const lines = [columns.map(_csvCell).join(",")];
    for (const r of rows) lines.push(columns.map((c) => _csvCell(r[c])).join(","));
    return lines.join("\n") + "\n";
  }
  if (rows.length === 0) return "(no rows)\n";
  const cells = rows.map((r) => columns.map((c) => _cell(r[c])));
  const widths = columns.map((c, i) =>
    cells.reduce((w, row) => Math.max(w, (row[i] as string).length), c.length)
  );
  const gap = 2;
  const width = options.width;
  if (width !== undefined) {
    // Cut the widest column one character at a time until the table fits (or cannot shrink).
    const min = columns.map((c) => Math.min(Math.max(c.length, 4), 8));
    let total = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
    while (total > width) {
      let widest = -1;
      for (let i = 0; i < widths.length; i++) {
        if (
          (widths[i] as number) > (min[i] as number) &&
          (widest < 0 || (widths[i] as number) > (widths[widest] as number))
        ) widest = i;
      }
      if (widest < 0) break;
      widths[widest] = (widths[widest] as number) - 1;
      total--;
    }
  }
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s);
  const colored = new Set(["severity", "status"]);
  const line = (row: string[], header: boolean) =>
    row.map((s, i) => {
      const w = widths[i] as number;
      const text = fit(s, w);
      const last = i === row.length - 1;
      const padded = last ? text : text.padEnd(w);
      if (!options.color || header) return padded;
      const col = columns[i] as string;
      if (!colored.has(col)) return padded;
      const cls = col === "status"
        ? (s === "silent" ? "critical" : s === "stale" ? "medium" : undefined)
        : severityClass(s);
      const code = cls === undefined ? undefined : _CODES[cls];
      return code ? `${code}${padded}\x1b[0m` : padded;
    }).join(" ".repeat(gap));
  const out = [line(columns, true), line(widths.map((w) => "-".repeat(w)), true)];
  for (const row of cells) out.push(line(row, false));
  return out.map((l) => l.trimEnd()).join("\n") + "\n";
}
