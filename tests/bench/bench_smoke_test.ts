/**
 * The quick benchmark as a smoke test (this is how CI runs `deno task bench
 * --quick`): every scenario starts what it measures, and every event lands.
 * Never asserted on time: only that the suite runs, measures something and
 * loses nothing.
 */

import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";

const MAIN = new URL("../../bench/main.ts", import.meta.url).pathname;

/** The cells of the Markdown table rows of a scenario. */
function rowsOf(table: string, scenario: string): string[][] {
  return table.split("\n")
    .filter((line) => line.startsWith(`| ${scenario} |`))
    .map((line) => line.slice(2, -2).split(" | "));
}

/**
 * The scenarios the smoke test runs. archive, dashboard_store and postgres run in the full
 * bench only: their behaviour has tests of its own (tests/archive, tests/store,
 * tests/sinks/postgres_test.ts), and their quick runs would add a minute to CI.
 */
const SMOKE = [
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
];

Deno.test({
  name: "deno task bench --quick: every scenario runs, measures a nonzero figure and loses nothing",
  async fn() {
    const out = await runWithDeadline(Deno.execPath(), ["run", "-A", MAIN, "--quick", ...SMOKE], {
      // Small: this checks that every scenario runs and loses nothing, not how fast.
      env: {
        BENCH_EVENTS: "20000",
        BENCH_OVERLOAD_EVENTS: "40000",
        BENCH_LATENCY_SECONDS: "1",
        BENCH_OBJECTS_MIB: "2",
        BENCH_OBJECTS_FILES: "20",
      },
      timeoutMs: 8 * 60_000,
      what: "deno task bench --quick",
    });
    const { stdout, stderr } = out;
    const header = stdout.split("\n").find((l) => l.startsWith("| scenario |"));
    assert.ok(header, `no table printed (exit ${out.code}):\n${stdout}\n${stderr.slice(-3000)}`);
    const columns = header.slice(2, -2).split(" | ");
    const value = columns.indexOf("value");
    const loss = columns.indexOf("stored/sent (loss)");
    // A measurement that failed (a reference that hung or exited non-zero) fails the test,
    // by name; one skipped for a missing peer does not.
    const failed = stdout.split("\n").filter((l) =>
      l.startsWith("| ") && l.includes(" | FAILED | ")
    );
    assert.deepEqual(failed, [], `failed rows:\n${failed.join("\n")}`);
    assert.equal(out.code, 0, `bench exited ${out.code}:\n${stderr.slice(-3000)}`);
    const scenarios = [
      "engine",
      "parsers",
      "tcp",
      "file-tail",
      "sqlite",
      "relp",
      "objects",
      "central-sqlite",
      "central-jsonl",
      "burst-loss",
      "ceilings",
      "vm",
      "overload",
      "latency",
    ];
    for (const scenario of scenarios) {
      const rows = rowsOf(stdout, scenario);
      assert.ok(rows.length > 0, `no row for ${scenario}:\n${stdout}`);
      for (const row of rows) {
        if (row[value] === "skipped") continue;
        const figure = Number(row[value]?.split(" ")[0]?.replaceAll(",", ""));
        assert.ok(figure > 0, `${scenario} ${row[1]}: ${row[value]}`);
        // Every row that counts what landed against what was sent lost nothing.
        const cell = row[loss] ?? "";
        if (cell) assert.match(cell, /^(\d+)\/\1 \(0 lost\)$/, `${scenario} ${row[1]}`);
      }
    }
    // Scenario 1's pipeline, the central example (with the shipped settings and with the
    // small-heap ones) and the JSONL pipeline each took the whole burst.
    const burst = rowsOf(stdout, "burst-loss").filter((r) => r[1]?.startsWith("sluice"));
    assert.deepEqual(burst.map((r) => r[1]), [
      "sluice (central-sqlite)",
      "sluice central (central-sqlite)",
      "sluice central, small heap (central-sqlite)",
      "sluice (central-jsonl)",
    ]);
    for (const row of burst) assert.match(row[loss] ?? "", /^20000\/20000 \(0 lost\)$/, row[1]);
    assert.equal(rowsOf(stdout, "ceilings").length, 3);
    // The VM example runs with the shipped V8 flags and with the small-heap ones.
    const vm = rowsOf(stdout, "vm").map((r) => r[1] ?? "");
    assert.ok(
      vm.some((s) => s.startsWith("sluice examples/pipeline.vm.ts, small heap")),
      vm.join("\n"),
    );
  },
});
