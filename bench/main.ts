/**
 * The benchmark suite: `deno task bench [--quick] [--merge] [scenario…]`.
 * Every figure is printed beside a reference measured in the same run, and
 * the report is written to `bench/results/latest.md` and `latest.json`;
 * with `--merge` the named scenarios' rows replace theirs in the earlier
 * report and the others are kept, each scenario's time in the header.
 * `--merge-from DIR` runs nothing and merges the report of a trial run
 * made with `--out DIR` (its named scenarios, or all of them) the same way.
 *
 * @module
 */

import { renderChart } from "./chart.ts";
import { killAllGroups, killTree, spawnGroup } from "../tests/_peers.ts";
import { type BenchRow, deadline, type Scenario, spread } from "./lib.ts";
import { measuredWhen, mergeRows } from "./_merge.ts";

const _SCENARIOS = [
  "engine",
  "parsers",
  "tcp",
  "file_tail",
  "sqlite",
  "relp",
  "objects",
  "central",
  "vm",
  "overload",
  "latency",
  "archive",
  "dashboard_store",
  "postgres",
  "ssh_journal",
  "idle",
];

function _fmt(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(2);
}

/**
 * Renders rows as a Markdown table with ratios to their references. Rows
 * measured more than once show min–max beside the median; every row shows
 * peak RSS, peak private memory (RssAnon + RssShmem) and peak PSS in MB
 * (`RSS MB | private MB | PSS MB`), and a reference that is a process of
 * its own shows its three beside its figure; CPU seconds, idle RSS and
 * events stored of those sent appear when some row has them.
 *
 * @param rows The measured rows.
 * @returns Markdown text.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { renderMarkdown } from "./main.ts";
 * assert.ok(renderMarkdown([]).startsWith("| scenario"));
 * const md = renderMarkdown([{
 *   scenario: "central-jsonl", subject: "sluice", value: 2, unit: "msg/s",
 *   runs: [1, 2, 3], sent: 10, stored: 10,
 * }]);
 * assert.match(md, /\| 1\.00–3\.00 \|/);
 * assert.match(md, /10\/10 \(0 lost\)/);
 * assert.match(md, /\| RSS MB \| private MB \| PSS MB \|/);
 * const failed = renderMarkdown([{
 *   scenario: "objects", subject: "sftp -b", value: 0, unit: "MB/s", failed: "sftp -b hung",
 * }]);
 * assert.match(failed, /\| FAILED \|.*sftp -b hung \|$/m);
 * ```
 */
export function renderMarkdown(rows: BenchRow[]): string {
  const has = (pick: (r: BenchRow) => unknown) => rows.some((r) => pick(r) !== undefined);
  const columns: Array<[string, string, (r: BenchRow) => string]> = [
    ["scenario", "---", (r) => r.scenario],
    ["subject", "---", (r) => r.subject],
    [
      "value",
      "---:",
      (r) => r.failed ? "FAILED" : r.skipped ? "skipped" : `${_fmt(r.value)} ${r.unit}`,
    ],
  ];
  if (has((r) => r.runs)) {
    columns.push(["min–max", "---:", (r) => {
      if (!r.runs?.length) return "";
      const s = spread(r.runs);
      return `${_fmt(s.min)}–${_fmt(s.max)}`;
    }]);
  }
  columns.push(
    [
      "reference (same run)",
      "---",
      (r) => {
        if (!r.reference) return "";
        const m = r.reference.memory;
        return `${r.reference.subject}: ${_fmt(r.reference.value)} ${r.unit}${
          m
            ? ` (RSS ${m.rssMb.toFixed(0)}, private ${m.privateMb.toFixed(0)}, PSS ${
              m.pssMb.toFixed(0)
            } MB)`
            : ""
        }`;
      },
    ],
    [
      "ratio",
      "---:",
      (r) => r.reference && r.reference.value ? `${(r.value / r.reference.value).toFixed(2)}×` : "",
    ],
  );
  if (has((r) => r.cpuSeconds)) {
    columns.push([
      "CPU s",
      "---:",
      (r) => r.cpuSeconds === undefined ? "" : r.cpuSeconds.toFixed(1),
    ]);
  }
  if (has((r) => r.idleRssMb)) {
    columns.push([
      "idle RSS",
      "---:",
      (r) => r.idleRssMb === undefined ? "" : `${r.idleRssMb.toFixed(0)} MB`,
    ]);
  }
  // Every row shows the three memory columns, blank only where nothing was measured (a skipped
  // or failed row); what each one is, is the docs of BenchRow.
  const mb = (v: number | undefined) => v === undefined ? "" : v.toFixed(0);
  columns.push(
    ["RSS MB", "---:", (r) => mb(r.peakRssMb)],
    ["private MB", "---:", (r) => mb(r.peakPrivateMb)],
    ["PSS MB", "---:", (r) => mb(r.pssMb)],
  );
  if (has((r) => r.sent)) {
    columns.push([
      "stored/sent (loss)",
      "---:",
      (r) =>
        r.sent === undefined || r.stored === undefined
          ? ""
          : `${r.stored}/${r.sent} (${r.sent - r.stored} lost)`,
    ]);
  }
  columns.push([
    "note",
    "---",
    (r) => [r.failed, r.skipped, r.note].filter((t) => t).join("; "),
  ]);
  const out = [
    `| ${columns.map(([h]) => h).join(" | ")} |`,
    `| ${columns.map(([, a]) => a).join(" | ")} |`,
  ];
  // A "|" in any cell (a subject or reference naming a shell pipe) would end the cell.
  const cellOf = (r: BenchRow, cell: (r: BenchRow) => string) => cell(r).replaceAll("|", "\\|");
  for (const r of rows) out.push(`| ${columns.map(([, , cell]) => cellOf(r, cell)).join(" | ")} |`);
  return out.join("\n") + "\n";
}

/** The earlier report's rows (latest.json, its time from latest.md's header) with `rows` merged in. */
async function _mergedWithEarlier(results: string, rows: BenchRow[]): Promise<BenchRow[]> {
  const earlier = JSON.parse(await Deno.readTextFile(`${results}latest.json`)) as BenchRow[];
  const header = await Deno.readTextFile(`${results}latest.md`).catch(() => "");
  const at = header.match(/^(\d{4}-\d\d-\d\dT[\d:.]+Z)/m)?.[1] ?? "an earlier run";
  return mergeRows(earlier, at, rows);
}

if (import.meta.main) {
  // The children run in sessions of their own (spawnGroup): when this process is stopped or dies,
  // they would run on (a timed-out run once left a central and a VM writing 15 GB for two hours).
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      killAllGroups();
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
  globalThis.addEventListener("error", () => killAllGroups());
  globalThis.addEventListener("unhandledrejection", () => killAllGroups());
  const quick = Deno.args.includes("--quick");
  // `--out DIR` writes the report elsewhere than bench/results/ (trial runs).
  const outAt = Deno.args.indexOf("--out");
  const outDir = outAt >= 0 ? Deno.args[outAt + 1] : undefined;
  // `--merge-from DIR`: no run; the rows of a trial run's report (`--out DIR`) are merged.
  const fromAt = Deno.args.indexOf("--merge-from");
  const fromDir = fromAt >= 0 ? Deno.args[fromAt + 1] : undefined;
  const merge = Deno.args.includes("--merge") || fromDir !== undefined;
  const wanted = Deno.args.filter((a, i) =>
    !a.startsWith("--") && !(outAt >= 0 && i === outAt + 1) && !(fromAt >= 0 && i === fromAt + 1)
  );
  const names = fromDir !== undefined ? [] : wanted.length ? wanted : _SCENARIOS;
  const rows: BenchRow[] = [];
  if (fromDir !== undefined) {
    const trial = JSON.parse(await Deno.readTextFile(`${fromDir}/latest.json`)) as BenchRow[];
    rows.push(...trial.filter((r) => wanted.length === 0 || wanted.includes(r.scenario)));
    if (rows.some((r) => !r.measuredAt)) {
      throw new Error(`bench: ${fromDir}/latest.json has rows without measuredAt: not a trial run`);
    }
  }
  if (!quick && names.length) {
    // The full suite measures the C daemons beside sluice: install them when missing.
    const script = new URL("./install_contenders.sh", import.meta.url).pathname;
    const install = spawnGroup("bash", { args: [script], stdout: "inherit", stderr: "inherit" });
    const timer = setTimeout(() => {
      console.error("bench: install_contenders.sh hung: killed after 15 min");
      killTree(install);
    }, 15 * 60_000);
    await install.status;
    clearTimeout(timer);
  }
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-" });
  try {
    for (const name of names) {
      let module: { scenario?: Scenario };
      try {
        module = await import(new URL(`./${name}.ts`, import.meta.url).href);
      } catch (err) {
        throw new Error(`bench: scenario "${name}" could not be loaded`, { cause: err });
      }
      if (!module.scenario) continue;
      console.error(`bench: ${name}${quick ? " (quick)" : ""}…`);
      const scenarioDir = `${dir}/${name}`;
      await Deno.mkdir(scenarioDir, { recursive: true });
      const t0 = performance.now();
      let got: BenchRow[];
      try {
        // A scenario that hangs (a stuck upload, a peer that never answers) becomes a failed row
        // naming it; BENCH_SCENARIO_TIMEOUT_MS sets the deadline.
        const limitMs = Number(
          Deno.env.get("BENCH_SCENARIO_TIMEOUT_MS") ?? (quick ? 300_000 : 3_600_000),
        );
        got = await deadline(
          `bench scenario ${name}`,
          limitMs,
          module.scenario({ quick, dir: scenarioDir }),
        );
      } catch (err) {
        // A scenario that throws (a child hung past its deadline) is a failed row, and the
        // scenarios after it still run.
        got = [{
          scenario: name,
          subject: "scenario",
          value: 0,
          unit: "",
          failed: String(err instanceof Error ? err.message : err).split("\n")[0] ?? "",
        }];
        console.error(err);
      }
      const at = new Date().toISOString();
      rows.push(...got.map((r) => ({ ...r, measuredAt: at })));
      console.error(renderMarkdown(got));
      console.error(`bench: ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const sizes = Object.entries(Deno.env.toObject())
    .filter(([k]) => k.startsWith("BENCH_"))
    .map(([k, v]) => `${k}=${v}`).join(" ");
  const results = outDir ? `${outDir}/` : new URL("./results/", import.meta.url).pathname;
  // --merge: this run's scenarios replace theirs in the earlier report; the rest is kept as measured.
  const report = merge && !quick ? await _mergedWithEarlier(results, rows) : rows;
  const when = merge ? measuredWhen(report) : "";
  const md = `# sluice benchmark\n\n${
    new Date().toISOString()
  }, ${Deno.build.target}, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ${
    fromDir === undefined
      ? `load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")} at the end`
      : `no run (rows merged from ${fromDir})`
  }${quick ? ", quick" : ""}${sizes ? `, ${sizes}` : ""}${
    when ? `; merged report, measured at: ${when}` : ""
  }\n\n${renderMarkdown(report)}`;
  console.log(md);
  if (!quick) {
    await Deno.mkdir(results, { recursive: true });
    await Deno.writeTextFile(`${results}latest.md`, md);
    await Deno.writeTextFile(`${results}latest.json`, JSON.stringify(report, null, 2));
    const chart = renderChart(report);
    if (chart) await Deno.writeTextFile(`${results}chart.svg`, chart);
  }
  const failed = rows.filter((r) => r.failed);
  if (failed.length) {
    for (const r of failed) console.error(`bench: FAILED ${r.scenario} ${r.subject}: ${r.failed}`);
    Deno.exit(1);
  }
}
