/**
 * An SVG bar chart of the contender scenarios, written by hand (no library,
 * no service): msg/s (median, with the min–max of the runs as a whisker)
 * and peak RSS per contender, one band per scenario. The README embeds
 * `bench/results/chart.svg`.
 *
 * @module
 */

import type { BenchRow } from "./lib.ts";

/** Options for {@linkcode renderChart}. */
export interface ChartOptions {
  /** Scenarios to chart, in order, each with its title. @default {the central SQLite and JSONL scenarios} */
  scenarios?: ReadonlyArray<readonly [scenario: string, title: string]>;
  /** The chart's title. @default {"sluice beside syslog-ng and rsyslog, same machine, same run"} */
  title?: string;
}

const _DEFAULT_SCENARIOS: ReadonlyArray<readonly [string, string]> = [
  ["central-sqlite", "1 · TCP JSON → json → SQLite alerts + JSONL"],
  ["central-jsonl", "2 · TCP JSON → json → JSONL"],
];

const _WIDTH = 960;
const _LABEL = 170;
const _PANEL = 330;
const _GAP = 60;
const _BAR = 20;
const _ROW = 28;

function _esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function _num(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1);
}

function _color(subject: string): string {
  if (subject.startsWith("sluice")) return "#1f77b4";
  if (subject.startsWith("rsyslog")) return "#8c6d31";
  if (subject.includes("reference")) return "#bdbdbd";
  return "#7f7f7f";
}

/**
 * Renders the chart from benchmark rows: for each charted scenario, the rows
 * that carry a peak RSS (one per contender, as bench/central.ts writes
 * them); the part of it mapped from files, when known, is drawn pale.
 *
 * @param rows Rows of a run.
 * @param options Which scenarios, the title.
 * @returns SVG text, or `""` when no row is to be charted.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderChart } from "./chart.ts";
 * const svg = renderChart([
 *   { scenario: "central-jsonl", subject: "sluice", value: 60000, unit: "msg/s", peakRssMb: 90, fileRssMb: 40, runs: [55000, 60000, 61000] },
 *   { scenario: "central-jsonl", subject: "rsyslog", value: 90000, unit: "msg/s", peakRssMb: 17 },
 * ]);
 * assert.ok(svg.startsWith("<svg") && svg.includes("rsyslog") && svg.includes("60,000"));
 * assert.ok(svg.includes('fill-opacity="0.55"'));
 * assert.strictEqual(renderChart([]), "");
 * ```
 */
export function renderChart(rows: readonly BenchRow[], options: ChartOptions = {}): string {
  const scenarios = options.scenarios ?? _DEFAULT_SCENARIOS;
  const title = options.title ?? "sluice beside syslog-ng and rsyslog, same machine, same run";
  const bands = scenarios
    .map(([scenario, caption]) => ({
      caption,
      rows: rows.filter((r) => r.scenario === scenario && r.peakRssMb !== undefined && r.value > 0),
    }))
    .filter((b) => b.rows.length > 0);
  if (bands.length === 0) return "";
  const rateX = _LABEL;
  const rssX = _LABEL + _PANEL + _GAP;
  const maxRss = Math.max(...bands.flatMap((b) => b.rows.map((r) => r.peakRssMb as number)));
  // Leave room after the longest bar for its label. Rates are scaled per
  // scenario (the scenarios do different work); memory on one scale.
  const rssScale = (_PANEL - 70) / maxRss;
  const out: string[] = [];
  let y = 34;
  out.push(
    `<text x="10" y="22" font-size="16" font-weight="bold">${_esc(title)}</text>`,
    `<text x="${rateX}" y="${
      y + 14
    }" font-size="13" font-weight="bold">msg/s: median, whisker min–max</text>`,
    `<text x="${rssX}" y="${
      y + 14
    }" font-size="13" font-weight="bold">peak RSS in MB (VmHWM, median; pale: file-backed)</text>`,
  );
  y += 26;
  for (const band of bands) {
    out.push(
      `<text x="10" y="${y + 14}" font-size="13" font-style="italic">${_esc(band.caption)}</text>`,
    );
    y += 22;
    const maxRate = Math.max(...band.rows.map((r) => Math.max(r.value, ...(r.runs ?? []))));
    const rateScale = (_PANEL - 70) / maxRate;
    for (const r of band.rows) {
      const color = _color(r.subject);
      const mid = y + _BAR / 2;
      const rateW = Math.max(1, r.value * rateScale);
      const rssW = Math.max(1, (r.peakRssMb as number) * rssScale);
      out.push(
        `<text x="${_LABEL - 8}" y="${mid + 4}" font-size="12" text-anchor="end">${
          _esc(r.subject)
        }</text>`,
        `<rect x="${rateX}" y="${y}" width="${
          rateW.toFixed(1)
        }" height="${_BAR}" fill="${color}"/>`,
      );
      let labelX = rateX + rateW;
      if (r.runs && r.runs.length > 1) {
        const lo = rateX + Math.min(...r.runs) * rateScale;
        const hi = rateX + Math.max(...r.runs) * rateScale;
        out.push(
          `<line x1="${lo.toFixed(1)}" y1="${mid}" x2="${
            hi.toFixed(1)
          }" y2="${mid}" stroke="#000" stroke-width="1.5"/>`,
          `<line x1="${lo.toFixed(1)}" y1="${mid - 5}" x2="${lo.toFixed(1)}" y2="${
            mid + 5
          }" stroke="#000"/>`,
          `<line x1="${hi.toFixed(1)}" y1="${mid - 5}" x2="${hi.toFixed(1)}" y2="${
            mid + 5
          }" stroke="#000"/>`,
        );
        labelX = Math.max(labelX, hi);
      }
      out.push(
        `<text x="${(labelX + 5).toFixed(1)}" y="${mid + 4}" font-size="12">${
          _num(r.value)
        }</text>`,
        `<rect x="${rssX}" y="${y}" width="${rssW.toFixed(1)}" height="${_BAR}" fill="${color}"/>`,
        // The pages mapped from the program's files (binary, libraries): shared and clean.
        ...(r.fileRssMb
          ? [
            `<rect x="${rssX}" y="${y}" width="${
              Math.min(rssW, r.fileRssMb * rssScale).toFixed(1)
            }" height="${_BAR}" fill="#fff" fill-opacity="0.55"/>`,
          ]
          : []),
        `<text x="${(rssX + rssW + 5).toFixed(1)}" y="${mid + 4}" font-size="12">${
          _num(r.peakRssMb as number)
        }</text>`,
      );
      y += _ROW;
    }
    y += 10;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${_WIDTH}" height="${height}" viewBox="0 0 ${_WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<line x1="${rateX}" y1="56" x2="${rateX}" y2="${y}" stroke="#444"/>`,
    `<line x1="${rssX}" y1="56" x2="${rssX}" y2="${y}" stroke="#444"/>`,
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
