import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";

const MAIN = new URL("../../bench/main.ts", import.meta.url).pathname;
const row = (scenario: string, subject: string, value: number, measuredAt?: string) => ({
  scenario,
  subject,
  value,
  unit: "msg/s",
  ...(measuredAt ? { measuredAt } : {}),
});

Deno.test("bench --merge-from DIR merges a trial run's rows into the report and runs nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-merge-from-" });
  try {
    const results = `${dir}/results`;
    const trial = `${dir}/trial`;
    await Deno.mkdir(results);
    await Deno.mkdir(trial);
    await Deno.writeTextFile(
      `${results}/latest.json`,
      JSON.stringify([row("tcp", "a", 1), row("archive", "old", 2), row("vm", "b", 3)]),
    );
    await Deno.writeTextFile(
      `${results}/latest.md`,
      "# sluice benchmark\n\n2026-12-01T00:00:00.000Z, …\n",
    );
    const at = "2026-12-07T12:00:00.000Z";
    await Deno.writeTextFile(
      `${trial}/latest.json`,
      JSON.stringify([row("archive", "new", 5, at), row("latency", "l", 6, at)]),
    );
    const r = await runWithDeadline(
      Deno.execPath(),
      ["run", "-A", MAIN, "--out", results, "--merge-from", trial, "archive"],
      { timeoutMs: 60_000, what: "bench --merge-from" },
    );
    assert.equal(r.code, 0, r.stderr);
    const merged = JSON.parse(await Deno.readTextFile(`${results}/latest.json`));
    assert.deepEqual(
      merged.map((m: { scenario: string; subject: string }) => `${m.scenario} ${m.subject}`),
      ["tcp a", "archive new", "vm b"],
      "only the named scenario's rows are taken, in the old rows' place",
    );
    const md = await Deno.readTextFile(`${results}/latest.md`);
    assert.match(md, /merged report, measured at: .*archive: 2026-12-07T12:00Z/);

    // A report that is not a trial run's (rows without their time) is refused.
    await Deno.writeTextFile(`${trial}/latest.json`, JSON.stringify([row("archive", "x", 1)]));
    const bad = await runWithDeadline(
      Deno.execPath(),
      ["run", "-A", MAIN, "--out", results, "--merge-from", trial],
      { timeoutMs: 60_000, what: "bench --merge-from" },
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /without measuredAt/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
