/**
 * Merging a run of some scenarios into the report of an earlier full run
 * (`deno task bench --merge dashboard`), so `bench/results/latest.md` stays
 * the single current table while one scenario is measured again.
 *
 * @module
 */

import type { BenchRow } from "./lib.ts";

/**
 * The rows of an earlier report with those of a new run put in: every
 * earlier row of a scenario the new run measured is replaced by the new
 * rows (in the earlier row's place, new scenarios at the end), the others
 * kept with the time they were measured (`measuredAt`, taken from
 * `earlierAt` when a row has none).
 *
 * @param earlier The rows of the earlier report (`latest.json`).
 * @param earlierAt When the earlier report was measured (ISO time), for its rows that do not say.
 * @param fresh The new run's rows, each with its `measuredAt`.
 * @returns The merged rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeRows } from "./_merge.ts";
 * const row = (scenario: string, value: number) => ({ scenario, subject: "s", value, unit: "x" });
 * const merged = mergeRows(
 *   [row("tcp", 1), row("dashboard", 2), row("vm", 3)],
 *   "2026-12-04T06:32:58.074Z",
 *   [{ ...row("dashboard", 5), measuredAt: "2026-12-07T03:50:00.000Z" }, row("postgres", 6)],
 * );
 * assert.deepEqual(merged.map((r) => [r.scenario, r.value]), [
 *   ["tcp", 1], ["dashboard", 5], ["vm", 3], ["postgres", 6],
 * ]);
 * assert.equal(merged[0]?.measuredAt, "2026-12-04T06:32:58.074Z");
 * ```
 */
export function mergeRows(
  earlier: readonly BenchRow[],
  earlierAt: string,
  fresh: readonly BenchRow[],
): BenchRow[] {
  const renewed = new Set(fresh.map((r) => r.scenario));
  const out: BenchRow[] = [];
  const placed = new Set<string>();
  for (const r of earlier) {
    if (!renewed.has(r.scenario)) {
      out.push({ ...r, measuredAt: r.measuredAt ?? earlierAt });
    } else if (!placed.has(r.scenario)) {
      placed.add(r.scenario);
      out.push(...fresh.filter((f) => f.scenario === r.scenario));
    }
  }
  out.push(...fresh.filter((f) => !placed.has(f.scenario)));
  return out;
}

/**
 * When each scenario of a merged report was measured, for its header:
 * `"engine, tcp: 2026-12-04T06:32Z; dashboard: 2026-12-07T03:50Z"`.
 *
 * @param rows The merged rows.
 * @returns One clause per distinct time, oldest first; empty when no row says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { measuredWhen } from "./_merge.ts";
 * const at = (scenario: string, measuredAt: string) =>
 *   ({ scenario, subject: "s", value: 1, unit: "x", measuredAt });
 * assert.equal(
 *   measuredWhen([at("tcp", "2026-12-04T06:32:58.074Z"), at("dashboard", "2026-12-07T03:50:00.000Z")]),
 *   "tcp: 2026-12-04T06:32Z; dashboard: 2026-12-07T03:50Z",
 * );
 * ```
 */
export function measuredWhen(rows: readonly BenchRow[]): string {
  const byTime = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!r.measuredAt) continue;
    const t = `${r.measuredAt.slice(0, 16)}Z`;
    if (!byTime.has(t)) byTime.set(t, new Set());
    byTime.get(t)?.add(r.scenario);
  }
  return [...byTime.entries()].sort(([a], [b]) => a < b ? -1 : 1)
    .map(([t, s]) => `${[...s].join(", ")}: ${t}`).join("; ");
}
