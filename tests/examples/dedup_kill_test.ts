import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../../mod.ts";
import { waitFor } from "../_peers.ts";
import { type Runner, startRunner } from "./_procs.ts";
import { freePort } from "../_ports.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const VM = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;

function count(db: string, sql: string): number {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      return Number((conn.prepare(sql).get() as { n: number }).n);
    } finally {
      conn.close();
    }
  } catch {
    return -1;
  }
}

/** Every JSONL file under `dir` (rotations included), by path relative to it. */
function jsonlFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) out.push(...jsonlFiles(`${dir}/${entry.name}`, rel + "/"));
    else if (/\.jsonl(\.\d+)?$/.test(entry.name)) out.push(rel);
  }
  return out.sort();
}

/**
 * The file a JSONL file's lines were written to: the central's sinks rotate
 * daily, renaming `all_events.jsonl` to `all_events-YYYY-MM-DD[.N].jsonl` at
 * the first write after UTC midnight (and `f.jsonl.N` by size), so a run
 * across midnight splits one file's lines over several names. `daily/` files
 * are named by the event's date and never renamed.
 */
function logicalFile(rel: string): string {
  if (rel.startsWith("daily/")) return rel;
  return rel.replace(/-\d{4}-\d{2}-\d{2}(?:\.\d+)?(\.jsonl)/, "$1").replace(
    /(\.jsonl)\.\d+$/,
    "$1",
  );
}

/**
 * The alert ids under a JSONL directory, by group (`all_events.jsonl`,
 * `by_vm/`, `by_category/`, `daily/`), after checking that no id appears
 * twice in the lines written to one file (its dated pieces included).
 */
async function alertIdsByGroup(logs: string): Promise<Map<string, Set<string>>> {
  const files = jsonlFiles(logs);
  const seen = new Map<string, Set<string>>();
  const alertIds = new Map<string, Set<string>>();
  for (const file of files) {
    const logical = logicalFile(file);
    if (!seen.has(logical)) seen.set(logical, new Set());
    const ids = seen.get(logical)!;
    const text = await Deno.readTextFile(`${logs}/${file}`);
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const event = JSON.parse(line) as { ID?: string; category?: string };
      if (event.ID === undefined) continue;
      assert.ok(!ids.has(event.ID), `${logical} (${file}): ${event.ID} appears twice`);
      ids.add(event.ID);
      if (event.category === "alerts") {
        const group = logical.includes("/") ? logical.replace(/\/[^/]*$/, "/") : logical;
        if (!alertIds.has(group)) alertIds.set(group, new Set());
        alertIds.get(group)!.add(event.ID);
      }
    }
  }
  for (const name of ["all_events.jsonl", "by_vm/testvm.jsonl", "by_category/alerts.jsonl"]) {
    assert.ok(seen.has(name), `${name} (or its dated pieces) missing among ${files.join(", ")}`);
  }
  return alertIds;
}

Deno.test("examples: the dedup check counts a file's lines over its dated pieces (a run across UTC midnight)", async () => {
  const logs = await Deno.makeTempDir({ prefix: "sluice-dedup-logs-" });
  try {
    await Deno.mkdir(`${logs}/by_vm`);
    await Deno.mkdir(`${logs}/by_category`);
    await Deno.mkdir(`${logs}/daily`);
    const line = (id: number) => JSON.stringify({ ID: `a${id}`, category: "alerts" }) + "\n";
    const lines = (ids: number[]) => ids.map(line).join("");
    // Before midnight: ids 0-2, renamed at the first write after it; after: 3-4.
    for (
      const [live, dated] of [
        ["all_events.jsonl", "all_events-2026-12-05.jsonl"],
        ["by_vm/testvm.jsonl", "by_vm/testvm-2026-12-05.jsonl"],
        ["by_category/alerts.jsonl", "by_category/alerts-2026-12-05.1.jsonl"],
      ]
    ) {
      await Deno.writeTextFile(`${logs}/${dated}`, lines([0, 1, 2]));
      await Deno.writeTextFile(`${logs}/${live}`, lines([3, 4]));
    }
    await Deno.writeTextFile(`${logs}/daily/2026-12-05.jsonl`, lines([0, 1, 2]));
    await Deno.writeTextFile(`${logs}/daily/2026-12-06.jsonl`, lines([3, 4]));
    const groups = await alertIdsByGroup(logs);
    for (const group of ["all_events.jsonl", "by_vm/", "by_category/", "daily/"]) {
      assert.equal(groups.get(group)?.size, 5, group);
    }
    // A line written again after the rename is a duplicate of the file, not a new line.
    await Deno.writeTextFile(`${logs}/all_events.jsonl`, line(1), { append: true });
    await assert.rejects(() => alertIdsByGroup(logs), /all_events\.jsonl .*a1 appears twice/);
  } finally {
    await Deno.remove(logs, { recursive: true });
  }
});

Deno.test("examples: kill -9 of the VM and of the central mid-stream leaves every event once in SQLite and in every JSONL file, none lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-dedup-" });
  const relpPort = freePort();
  const centralArgs = [
    "--state-dir",
    `${dir}/central-state`,
    "--log-level",
    "warn",
    CENTRAL,
    "--data",
    `${dir}/central`,
    "--json-port",
    "0",
    "--relp-port",
    String(relpPort),
    "--syslog-port",
    "0",
    "--ui",
    "off",
    "--sqlite-worker",
    "off",
  ];
  const alerts = `${dir}/vm/alerts.jsonl`;
  const vmArgs = [
    "--state-dir",
    `${dir}/vm-state`,
    "--log-level",
    "warn",
    VM,
    "--central",
    "127.0.0.1",
    "--relp-port",
    String(relpPort),
    "--alerts",
    alerts,
    "--yara",
    `${dir}/vm/yara.jsonl`,
    "--data",
    `${dir}/vm`,
    "--host",
    "testvm",
  ];
  const db = `${dir}/central/siem.db`;
  const stored = () => count(db, "SELECT count(DISTINCT id) AS n FROM alerts");
  let central: Runner | undefined;
  let vm: Runner | undefined;
  let written = 0;
  const append = async (n: number) => {
    const lines = Array.from({ length: n }, (_, i) => syntheticAlert(written + i) + "\n");
    await Deno.writeTextFile(alerts, lines.join(""), { append: true });
    written += n;
  };
  try {
    await Deno.mkdir(`${dir}/vm`, { recursive: true });
    central = startRunner(centralArgs);
    await central.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 60_000);
    vm = startRunner(vmArgs);
    await vm.waitFor(/tailing alerts/, 60_000);
    await append(3000);
    // The VM is killed while the central stores what it sent and before the VM's
    // checkpoint (saved once a second) catches up: it sends those lines again.
    await waitFor("some alerts at the central", () => stored() >= 500, 60_000);
    await append(3000);
    await vm.kill();
    vm = startRunner(vmArgs);
    await vm.waitFor(/tailing alerts/, 60_000);
    await append(3000);
    // The central is killed mid-stream: what it wrote but did not acknowledge comes again.
    await waitFor("more alerts at the central", () => stored() >= written - 4000, 60_000);
    await append(3000);
    await central.kill();
    central = startRunner(centralArgs);
    await central.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 60_000);
    await append(2000);
    await waitFor(`all ${written} alerts at the central`, () => stored() >= written, 120_000);
    // Let late copies, if any, land before counting exactly: both stop cleanly, drained.
    assert.equal(await vm.stop(), 0);
    vm = undefined;
    assert.equal(await central.stop(), 0);
    central = undefined;

    assert.equal(count(db, "SELECT count(*) AS n FROM alerts"), written);
    assert.equal(stored(), written);
    // Rotated pieces of a file (a run across UTC midnight) count as the file.
    const alertIds = await alertIdsByGroup(`${dir}/central/logs`);
    // Nothing lost: every alert is in all_events, by_vm/, by_category/ and daily/.
    for (const group of ["all_events.jsonl", "by_vm/", "by_category/", "daily/"]) {
      assert.equal(alertIds.get(group)?.size, written, `${group} holds every alert once`);
    }
  } finally {
    await vm?.kill();
    await central?.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
