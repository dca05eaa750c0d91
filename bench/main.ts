/**
 * The benchmark suite: `deno task bench [--quick] [scenario…]`. Every
 * figure is printed beside a reference measured in the same run, and the
 * report is written to `bench/results/latest.md` and `latest.json`.
 *
 * @module
 */

import type { BenchRow, Scenario } from "./lib.ts";

const _SCENARIOS = [
  "engine",
  "parsers",
  "tcp",
  "file_tail",
  "sqlite",
  "relp",
  "objects",
  "central",
];

function _fmt(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(2);
}

/**
 * Renders rows as a Markdown table with ratios to their references.
 *
 * @param rows The measured rows.
 * @returns Markdown text.
 *
 * @example
 * ```ts
 * import { renderMarkdown } from "./main.ts";
 * console.assert(renderMarkdown([]).startsWith("| scenario"));
 * ```
 */
export function renderMarkdown(rows: BenchRow[]): string {
  const out = [
    "| scenario | subject | value | reference (same run) | ratio | note |",
    "| --- | --- | ---: | --- | ---: | --- |",
  ];
  for (const r of rows) {
    const ref = r.reference ? `${r.reference.subject}: ${_fmt(r.reference.value)} ${r.unit}` : "";
    const ratio = r.reference && r.reference.value
      ? `${(r.value / r.reference.value).toFixed(2)}×`
      : "";
    out.push(
      `| ${r.scenario} | ${r.subject} | ${_fmt(r.value)} ${r.unit} | ${ref} | ${ratio} | ${
        r.note ?? ""
      } |`,
    );
  }
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const wanted = Deno.args.filter((a) => !a.startsWith("--"));
  const names = wanted.length ? wanted : _SCENARIOS;
  const rows: BenchRow[] = [];
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-" });
  try {
    for (const name of names) {
      let module: { scenario?: Scenario };
      try {
        module = await import(new URL(`./${name}.ts`, import.meta.url).href);
      } catch (err) {
        if (wanted.length) throw err;
        continue; // scenario not written yet
      }
      if (!module.scenario) continue;
      console.error(`bench: ${name}${quick ? " (quick)" : ""}…`);
      const scenarioDir = `${dir}/${name}`;
      await Deno.mkdir(scenarioDir, { recursive: true });
      const got = await module.scenario({ quick, dir: scenarioDir });
      rows.push(...got);
      console.error(renderMarkdown(got));
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  const md = `# sluice benchmark\n\n${
    new Date().toISOString()
  }, ${Deno.build.target}, Deno ${Deno.version.deno}${quick ? ", quick" : ""}\n\n${
    renderMarkdown(rows)
  }`;
  console.log(md);
  if (!quick) {
    const results = new URL("./results/", import.meta.url).pathname;
    await Deno.mkdir(results, { recursive: true });
    await Deno.writeTextFile(`${results}latest.md`, md);
    await Deno.writeTextFile(`${results}latest.json`, JSON.stringify(rows, null, 2));
  }
}
