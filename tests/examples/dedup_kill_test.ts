import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../../mod.ts";
import { waitFor } from "../_peers.ts";
import { type Runner, startRunner } from "./_procs.ts";

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

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
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
    const logs = `${dir}/central/logs`;
    const files = jsonlFiles(logs);
    for (const name of ["all_events.jsonl", "by_vm/testvm.jsonl", "by_category/alerts.jsonl"]) {
      assert.ok(files.includes(name), `${name} missing among ${files.join(", ")}`);
    }
    const alertIds = new Map<string, Set<string>>();
    for (const file of files) {
      const ids = new Set<string>();
      const text = await Deno.readTextFile(`${logs}/${file}`);
      for (const line of text.split("\n")) {
        if (line === "") continue;
        const event = JSON.parse(line) as { ID?: string; category?: string };
        if (event.ID === undefined) continue;
        assert.ok(!ids.has(event.ID), `${file}: ${event.ID} appears twice`);
        ids.add(event.ID);
        if (event.category === "alerts") {
          const group = file.replace(/\/[^/]*$/, "/").replace(/^[^/]*$/, file);
          if (!alertIds.has(group)) alertIds.set(group, new Set());
          alertIds.get(group)!.add(event.ID);
        }
      }
    }
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
