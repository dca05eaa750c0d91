/**
 * The bench's memory sampler reads real figures for a process tree it did
 * not make itself, and every scenario's rows carry RSS, private memory and
 * PSS into the report: checked by type for each scenario module, and by
 * rendering rows.
 */

import assert from "node:assert/strict";
import { renderMarkdown } from "../../bench/main.ts";
import { runSampled, sampleTree, treeMemory } from "../../bench/_memory.ts";
import type { MeasuredRow, MeasuredScenario } from "../../bench/lib.ts";
import { deadline } from "../../bench/lib.ts";
import { killTree, spawnGroup } from "../_peers.ts";
import * as archive from "../../bench/archive.ts";
import * as central from "../../bench/central.ts";
import * as dashboard from "../../bench/dashboard.ts";
import * as dashboardStore from "../../bench/dashboard_store.ts";
import * as engine from "../../bench/engine.ts";
import * as fileTail from "../../bench/file_tail.ts";
import * as latency from "../../bench/latency.ts";
import * as objects from "../../bench/objects.ts";
import * as overload from "../../bench/overload.ts";
import * as parsers from "../../bench/parsers.ts";
import * as postgres from "../../bench/postgres.ts";
import * as relp from "../../bench/relp.ts";
import * as siem from "../../bench/siem.ts";
import * as sqlite from "../../bench/sqlite.ts";
import * as tcp from "../../bench/tcp.ts";
import * as vm from "../../bench/vm.ts";

/**
 * Every scenario of mine, held to rows that carry the three figures: a
 * scenario returning a row without them does not type-check (deno test
 * checks this file).
 */
const _MEASURED: Record<string, MeasuredScenario> = {
  archive: archive.scenario,
  central: central.scenario,
  dashboard: dashboard.scenario,
  dashboard_store: dashboardStore.scenario,
  engine: engine.scenario,
  file_tail: fileTail.scenario,
  latency: latency.scenario,
  objects: objects.scenario,
  overload: overload.scenario,
  parsers: parsers.scenario,
  postgres: postgres.scenario,
  relp: relp.scenario,
  siem: siem.scenario,
  sqlite: sqlite.scenario,
  tcp: tcp.scenario,
  vm: vm.scenario,
};

// A row without the memory figures is not a MeasuredRow, unless skipped or failed.
// @ts-expect-error peakRssMb, peakPrivateMb and pssMb are missing
const _missing: MeasuredRow = { scenario: "x", subject: "y", value: 1, unit: "events/s" };
const _skipped: MeasuredRow = { scenario: "x", subject: "y", value: 0, unit: "", skipped: "why" };

/** A child that holds 48 MiB of its own (private) memory, written so the pages are resident. */
const _HOLDER = "const b = new Uint8Array(48 << 20).fill(1); console.log('ready'); " +
  "setInterval(() => b[0]++, 100);";

Deno.test("sampleTree() reads peak RSS, private memory and PSS of a child it starts, and of its children", async () => {
  // A shell that starts the holder as its own child: the tree counts both.
  const child = spawnGroup("sh", {
    args: ["-c", `"${Deno.execPath()}" eval "${_HOLDER}"; exit 0`],
    stdout: "piped",
  });
  try {
    const reader = child.stdout.getReader();
    await deadline("the memory holder's ready line", 60_000, reader.read());
    const sampler = sampleTree(child.pid, { intervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const peak = sampler.stop();
    const alone = treeMemory(child.pid, false);
    assert.ok(peak.privateMb >= 48, `private ${peak.privateMb} MB`);
    assert.ok(peak.rssMb >= peak.privateMb, `RSS ${peak.rssMb} < private ${peak.privateMb}`);
    assert.ok(peak.pssMb >= 48 && peak.pssMb <= peak.rssMb + 1, `PSS ${peak.pssMb} MB`);
    // The shell alone holds a few MB: the 48 MiB are its child's, counted by the tree.
    assert.ok(alone.privateMb < 16, `the shell alone: ${alone.privateMb} MB`);
    await reader.cancel();
  } finally {
    killTree(child);
    await child.status;
  }
});

Deno.test("runSampled() gives a command's output and its tree's memory, and kills it at its deadline", async () => {
  const r = await runSampled(Deno.execPath(), ["eval", `${_HOLDER.split(" setInterval")[0]}`], {
    what: "the memory holder",
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "ready\n");
  assert.ok(r.memory.rssMb > 0 && r.memory.privateMb > 0 && r.memory.pssMb > 0, `${r.memory}`);
  await assert.rejects(
    runSampled("sleep", ["60"], { what: "a sleeper", timeoutMs: 300 }),
    /a sleeper hung: killed after 300 ms/,
  );
});

Deno.test("renderMarkdown() puts RSS MB | private MB | PSS MB on every measured row, a reference process's beside its figure", () => {
  assert.equal(Object.keys(_MEASURED).length, 16);
  const rows: MeasuredRow[] = [
    {
      scenario: "relp",
      subject: "sluice",
      value: 100,
      unit: "events/s",
      peakRssMb: 120.4,
      peakPrivateMb: 80.6,
      pssMb: 95,
      reference: {
        subject: "syslog-ng",
        value: 50,
        memory: { rssMb: 20, privateMb: 6, pssMb: 9 },
      },
    },
    { scenario: "engine", subject: "b", value: 2, unit: "events/s", ..._mb(3) },
    _skipped,
  ];
  const md = renderMarkdown(rows);
  const lines = md.trim().split("\n");
  const header = (lines[0] as string).slice(2, -2).split(" | ");
  const at = ["RSS MB", "private MB", "PSS MB"].map((h) => header.indexOf(h));
  assert.ok(at.every((i) => i > 0), lines[0]);
  assert.deepEqual(at, [at[0], (at[0] as number) + 1, (at[0] as number) + 2]);
  const cells = lines.slice(2).map((l) => l.slice(2, -2).split(" | "));
  assert.deepEqual(at.map((i) => cells[0]?.[i]), ["120", "81", "95"]);
  assert.deepEqual(at.map((i) => cells[1]?.[i]), ["3", "3", "3"]);
  assert.deepEqual(at.map((i) => cells[2]?.[i]), ["", "", ""]);
  assert.match(md, /syslog-ng: 50\.00 events\/s \(RSS 20, private 6, PSS 9 MB\)/);
});

function _mb(n: number): { peakRssMb: number; peakPrivateMb: number; pssMb: number } {
  return { peakRssMb: n, peakPrivateMb: n, pssMb: n };
}
