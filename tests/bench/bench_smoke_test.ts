/**
 * The quick benchmark as a smoke test (this is how CI runs it): the central
 * scenarios start sluice, send alerts over TCP, and every alert lands. Never
 * asserted on time: only that the suite runs, measures something and loses
 * nothing.
 */

import assert from "node:assert/strict";

const MAIN = new URL("../../bench/main.ts", import.meta.url).pathname;

/** The cells of the Markdown table rows of a scenario. */
function rowsOf(table: string, scenario: string): string[][] {
  return table.split("\n")
    .filter((line) => line.startsWith(`| ${scenario} |`))
    .map((line) => line.slice(2, -2).split(" | "));
}

Deno.test({
  name: "deno task bench --quick central: sluice stores every alert at a nonzero rate",
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "--quick", "central"],
      env: { BENCH_EVENTS: "20000" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `bench exited ${out.code}:\n${stderr.slice(-3000)}`);
    const header = stdout.split("\n").find((l) => l.startsWith("| scenario |"));
    assert.ok(header, `no table printed:\n${stdout}`);
    const columns = header.slice(2, -2).split(" | ");
    const value = columns.indexOf("value");
    const loss = columns.indexOf("stored/sent (loss)");
    for (const scenario of ["central-sqlite", "central-jsonl"]) {
      const rows = rowsOf(stdout, scenario).filter((r) => r[1]?.startsWith("sluice"));
      assert.ok(rows.length > 0, `no sluice row for ${scenario}:\n${stdout}`);
      for (const row of rows) {
        const rate = Number(row[value]?.split(" ")[0]?.replaceAll(",", ""));
        assert.ok(rate > 0, `${scenario} ${row[1]}: rate ${row[value]}`);
      }
    }
    const burst = rowsOf(stdout, "burst-loss");
    assert.equal(burst.length, 2, `expected two burst-loss rows:\n${stdout}`);
    for (const row of burst) assert.match(row[loss] ?? "", /^20000\/20000 \(0 lost\)$/, row[1]);
    const ceilings = rowsOf(stdout, "ceilings");
    assert.equal(ceilings.length, 3);
  },
});
