import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createLogger, definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { categorize } from "../../siem/categorize.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { vmsSink } from "../../siem/vms.ts";
import { heartbeatSource } from "../../sources/heartbeat.ts";
import { hostWatchSource } from "../../sources/host_watch.ts";
import { type CollectSink, collectSink } from "../fixtures/components.ts";

const quiet = createLogger("silent");
// Short enough for a quick test, long enough that a busy CI machine does not miss a heartbeat.
const INTERVAL = 200;

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A VM: heartbeats stored on the central's database, as the central would store them. */
async function vm(database: string, host: string): Promise<Engine> {
  const engine = new Engine(
    definePipeline({
      sources: { beat: heartbeatSource({ interval: INTERVAL, host }) },
      paths: [{
        from: ["beat"],
        steps: [categorize()],
        to: [siemSqliteSink({ database }), vmsSink({ database })],
      }],
    }),
    { logger: quiet },
  );
  await engine.start();
  return engine;
}

/**
 * The central's watch, with each host's own heartbeat interval: alerts go to
 * the SIEM store (alerts table) and to a collector.
 */
async function central(database: string, stateDir: string, out: CollectSink): Promise<Engine> {
  const engine = new Engine(
    definePipeline({
      sources: {
        watch: hostWatchSource({ database, factor: 3, checkEvery: 20 }),
      },
      paths: [{ from: ["watch"], to: [siemSqliteSink({ database }), out] }],
    }),
    { logger: quiet, stateDir },
  );
  await engine.start();
  return engine;
}

const rules = (out: CollectSink) =>
  out.events.map((e: LogEvent) => `${e.host}:${(e.fields.json as { rule: string }).rule}`);

function lastSeen(database: string, host: string): string | undefined {
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    const row = db.prepare("SELECT last_seen FROM vms WHERE host = ?").get(host) as
      | { last_seen: string }
      | undefined;
    return row?.last_seen;
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

Deno.test("hostWatchSource() alerts once when a host falls silent, and once when it returns", async () => {
  const dir = await Deno.makeTempDir();
  const database = `${dir}/siem.db`;
  const out = collectSink();
  // A second central's watch on the same store (two centrals, one database): it notices at its
  // own moments, yet names each alert as the first does, so the store keeps one of each.
  const out2 = collectSink();
  let agent: Engine | undefined = await vm(database, "vm-a");
  let watch: Engine | undefined;
  let watch2: Engine | undefined;
  try {
    await until(() => lastSeen(database, "vm-a") !== undefined, "the first heartbeat");
    watch = await central(database, `${dir}/state`, out);
    watch2 = await central(database, `${dir}/state2`, out2);
    // Alive: several intervals pass without an alert.
    await new Promise((r) => setTimeout(r, INTERVAL * 4));
    assert.deepEqual(rules(out), []);

    await agent.stop();
    agent = undefined;
    const silentAt = lastSeen(database, "vm-a");
    await until(() => out.events.length >= 1, "the silence alert");
    // Many more checks pass: still one alert, and the alert did not make the host look alive.
    await new Promise((r) => setTimeout(r, INTERVAL * 4));
    assert.deepEqual(rules(out), ["vm-a:host_silent"]);
    assert.equal(lastSeen(database, "vm-a"), silentAt);
    const alert = out.events[0]?.fields.json as Record<string, unknown>;
    assert.equal(alert.severity, "high");
    assert.equal(alert.last_seen, silentAt);
    assert.ok((alert.silent_s as number) >= 0);

    agent = await vm(database, "vm-a");
    await until(() => out.events.length >= 2, "the recovery event");
    await new Promise((r) => setTimeout(r, INTERVAL * 2));
    assert.deepEqual(rules(out), ["vm-a:host_silent", "vm-a:host_recovered"]);

    await until(() => out2.events.length >= 2, "the second watch's alerts");
    assert.deepEqual(rules(out2), rules(out));
    assert.deepEqual(out2.events.map((e) => e.id), out.events.map((e) => e.id));
    // Both are in the alerts table, once each.
    await watch.stop();
    watch = undefined;
    await watch2.stop();
    watch2 = undefined;
    const db = new DatabaseSync(database, { readOnly: true });
    try {
      const stored = db.prepare("SELECT host, rule, severity FROM alerts ORDER BY rowid").all();
      assert.deepEqual(stored.map((r) => ({ ...r })), [
        { host: "vm-a", rule: "host_silent", severity: "high" },
        { host: "vm-a", rule: "host_recovered", severity: "info" },
      ]);
    } finally {
      db.close();
    }
  } finally {
    await agent?.stop();
    await watch?.stop();
    await watch2?.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostWatchSource() does not repeat an alert after a restart while the host stays silent", async () => {
  const dir = await Deno.makeTempDir();
  const database = `${dir}/siem.db`;
  try {
    const agent = await vm(database, "vm-b");
    await until(() => lastSeen(database, "vm-b") !== undefined, "the first heartbeat");
    await agent.stop();
    const first = collectSink();
    let watch = await central(database, `${dir}/state`, first);
    await until(() => first.events.length >= 1, "the silence alert");
    await watch.stop();
    const second = collectSink();
    watch = await central(database, `${dir}/state`, second);
    await new Promise((r) => setTimeout(r, INTERVAL * 4));
    await watch.stop();
    assert.deepEqual(rules(first), ["vm-b:host_silent"]);
    assert.deepEqual(rules(second), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostWatchSource() waits quietly for a database that does not exist yet", async () => {
  const dir = await Deno.makeTempDir();
  const out = collectSink();
  try {
    const watch = await central(`${dir}/none.db`, `${dir}/state`, out);
    await new Promise((r) => setTimeout(r, 100));
    await watch.stop();
    assert.equal(out.events.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostWatchSource() names the option in errors", () => {
  assert.throws(() => hostWatchSource({ database: "" }), /hostWatchSource: "database"/);
  assert.throws(
    () => hostWatchSource({ database: "x.db", factor: 0 }),
    /hostWatchSource: "factor" must be a positive number, got 0/,
  );
});
