import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";
import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../../mod.ts";
import { startRunner } from "./_procs.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const VM = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;
const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;

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

async function until(what: string, check: () => boolean, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("examples: VM and central as two processes store every alert exactly once, in SQLite and JSONL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-e2e-" });
  const central = startRunner([
    "--state-dir",
    `${dir}/central-state`,
    CENTRAL,
    "--data",
    `${dir}/central`,
    "--json-port",
    "0",
    "--relp-port",
    "0",
    "--syslog-port",
    "0",
    // The dashboard's default port is fixed: tests running at the same time would collide.
    "--ui",
    "off",
  ]);
  let vm: ReturnType<typeof startRunner> | undefined;
  try {
    const relpPort = (await central.waitFor(/RELP\s+127\.0\.0\.1:(\d+)/))[1] as string;
    const alerts = `${dir}/vm/alerts.jsonl`;
    const yara = `${dir}/vm/yara.jsonl`;
    await Deno.mkdir(`${dir}/vm`, { recursive: true });
    // Some lines exist before the VM starts, more are appended while it runs.
    await Deno.writeTextFile(
      alerts,
      Array.from({ length: 500 }, (_, i) => syntheticAlert(i) + "\n").join(""),
    );
    vm = startRunner([
      "--state-dir",
      `${dir}/vm-state`,
      VM,
      "--central",
      "127.0.0.1",
      "--relp-port",
      relpPort,
      "--alerts",
      alerts,
      "--yara",
      yara,
      "--data",
      `${dir}/vm`,
      "--host",
      "testvm",
    ]);
    await vm.waitFor(/tailing alerts, yara/);
    await Deno.writeTextFile(
      alerts,
      Array.from({ length: 500 }, (_, i) => syntheticAlert(500 + i) + "\n").join(""),
      {
        append: true,
      },
    );
    await Deno.writeTextFile(
      yara,
      Array.from({ length: 300 }, (_, i) => syntheticAlert(10_000 + i) + "\n").join(""),
    );
    const db = `${dir}/central/siem.db`;
    await until(
      "1300 alerts at the central",
      () => count(db, "SELECT count(*) AS n FROM alerts") >= 1300,
    );
    // Give duplicates, if any, a moment to show up before counting exactly.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(count(db, "SELECT count(*) AS n FROM alerts"), 1300);
    assert.equal(count(db, "SELECT count(DISTINCT id) AS n FROM alerts"), 1300);
    assert.equal(count(db, "SELECT count(*) AS n FROM alerts WHERE id IS NULL"), 0);
    const logs = `${dir}/central/logs`;
    const lines = async (f: string) =>
      (await Deno.readTextFile(`${logs}/${f}`)).trimEnd().split("\n").length;
    const alertLines = async (f: string) =>
      (await Deno.readTextFile(`${logs}/${f}`)).trimEnd().split("\n")
        .filter((l) => JSON.parse(l).category === "alerts").length;
    // Heartbeats share these files; the alerts are there exactly once each.
    assert.equal(await alertLines("all_events.jsonl"), 1300);
    assert.equal(await alertLines("by_vm/testvm.jsonl"), 1300);
    assert.equal(await lines("by_category/alerts.jsonl"), 1300);
    const critical = count(db, "SELECT count(*) AS n FROM alerts WHERE severity = 'critical'");
    assert.ok(critical > 0);
    assert.equal(await lines("critical.jsonl"), critical);
    // The VM's heartbeat reached the central: the host is registered and answers as ok.
    await until(
      "a heartbeat",
      () => count(db, "SELECT count(*) AS n FROM heartbeats WHERE host = 'testvm'") >= 1,
    );
    const hosts = await runWithDeadline(
      Deno.execPath(),
      ["run", "-A", MAIN, "query", "hosts", "--db", db, "--format", "json"],
      { timeoutMs: 60_000, what: "sluice query hosts" },
    );
    const listed = JSON.parse(hosts.stdout) as Array<
      Record<string, unknown>
    >;
    const vmRow = listed.find((r) => r.host === "testvm");
    assert.equal(vmRow?.status, "ok", JSON.stringify(listed));
    const critical24h = await runWithDeadline(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "query",
      "critical",
      "--db",
      db,
      "--since",
      "100000d",
      "--limit",
      "100000",
      "--format",
      "json",
    ], { timeoutMs: 60_000, what: "sluice query critical" });
    assert.equal(
      (JSON.parse(critical24h.stdout) as unknown[]).length,
      critical,
    );
    assert.equal(await vm.stop(), 0);
    assert.equal(await central.stop(), 0);
    // The VM's local backup has every line too.
    assert.equal(count(`${dir}/vm/backup.db`, "SELECT count(*) AS n FROM events"), 1300);
  } finally {
    await vm?.kill();
    await central.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
