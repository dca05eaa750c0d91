import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type LogEvent,
  memoryState,
} from "../../mod.ts";
import { categorize } from "../../siem/categorize.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { vmsSink } from "../../siem/vms.ts";
import { sinkConformance } from "../conformance/suites.ts";
import { manualSource } from "../fixtures/components.ts";

const quiet = createLogger("silent");

interface VmRow {
  host: string;
  first_seen: string;
  last_seen: string;
  source_ip: string | null;
  heartbeats: number;
  services?: string | null;
}

function rows(database: string): VmRow[] {
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    return db.prepare("SELECT * FROM vms ORDER BY host").all() as unknown as VmRow[];
  } finally {
    db.close();
  }
}

async function withEngine(
  database: string,
  drive: (emit: (batch: LogEvent[]) => Promise<void>) => Promise<void>,
  store = true,
) {
  const src = manualSource("net");
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [src],
        steps: [categorize()],
        to: store ? [siemSqliteSink({ database }), vmsSink({ database })] : [vmsSink({ database })],
      }],
    }),
    { logger: quiet },
  );
  await engine.start();
  try {
    await drive((batch) => new Promise<void>((resolve) => void src.emit(batch, resolve)));
  } finally {
    await engine.stop();
  }
}

const at = (ms: number, message: string, init: Parameters<typeof createEvent>[1] = {}) => {
  const e = createEvent(message, init);
  e.receivedAt = ms;
  return e;
};

Deno.test("vmsSink() keeps one row per host from any event, with first and last seen", async () => {
  const dir = await Deno.makeTempDir();
  const database = `${dir}/siem.db`;
  try {
    await withEngine(database, async (emit) => {
      await emit([
        at(Date.UTC(2026, 0, 1, 10), "Failed password for root from 203.0.113.9 port 1 ssh2", {
          host: "vm-1",
          program: "sshd",
          sourceIp: "10.0.0.11",
          fields: { sshd: { outcome: "failure", user: "root", src_ip: "203.0.113.9" } },
        }),
        at(Date.UTC(2026, 0, 1, 9), "kernel: eth0 up", { host: "vm-2", program: "kernel" }),
        at(Date.UTC(2026, 0, 1, 11), '{"rule":"X","host":"vm-1"}', {
          fields: { json: { rule: "X", host: "vm-1", severity: "high" } },
        }),
        at(Date.UTC(2026, 0, 1, 8), "no host here"),
        // The host watch speaks about vm-2; that is no sign of life.
        at(Date.UTC(2026, 0, 1, 23), '{"rule":"host_silent","host":"vm-2"}', {
          host: "vm-2",
          program: "sluice-hostwatch",
          fields: { json: { rule: "host_silent", host: "vm-2" }, category: "alerts" },
        }),
      ]);
      await emit([
        at(Date.UTC(2026, 0, 1, 7), "late replay", { host: "vm-1", program: "cron" }),
        at(Date.UTC(2026, 0, 1, 12), "later", { host: "vm-2", program: "kernel" }),
      ]);
    });
    const vms = rows(database);
    assert.deepEqual(vms.map((r) => r.host), ["vm-1", "vm-2"]);
    const [one, two] = vms as [VmRow, VmRow];
    assert.equal(one.first_seen, "2026-01-01T07:00:00.000Z");
    // The late replay does not move last_seen back.
    assert.equal(one.last_seen, "2026-01-01T11:00:00.000Z");
    assert.equal(one.source_ip, "10.0.0.11");
    assert.equal(two.first_seen, "2026-01-01T09:00:00.000Z");
    assert.equal(two.last_seen, "2026-01-01T12:00:00.000Z");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vmsSink() creates the vms table when it opens first and records the services seen per host", async () => {
  const dir = await Deno.makeTempDir();
  const database = `${dir}/siem.db`;
  try {
    await withEngine(database, async (emit) => {
      await emit([at(1000, "x", { host: "vm-9" })]);
    }, false);
    assert.deepEqual(rows(database).map((r) => [r.host, r.services]), [["vm-9", '["system"]']]);
    await withEngine(database, async (emit) => {
      await emit([
        at(2000, "Accepted publickey for root from 192.0.2.1 port 2 ssh2", {
          host: "vm-9",
          program: "sshd",
          fields: { sshd: { outcome: "success", user: "root" } },
        }),
        at(3000, "{}", { host: "vm-9", program: "sluice-heartbeat" }),
      ]);
      await emit([at(4000, "kernel: x", { host: "vm-9", program: "kernel" })]);
    });
    const [row] = rows(database) as [VmRow];
    assert.deepEqual(JSON.parse(row.services as string), [
      "auth:sshd",
      "heartbeat:sluice-heartbeat",
      "system",
      "system:kernel",
    ]);
    assert.equal(row.heartbeats, 1); // counted by the schema's trigger, not by the sink
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vmsSink() refuses a missing database option", () => {
  assert.throws(() => vmsSink({} as never), /vmsSink: "database" must be a file path/);
});

sinkConformance("vmsSink", async () => {
  const dir = await Deno.makeTempDir();
  return {
    sink: vmsSink({ database: `${dir}/siem.db` }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("vmsSink().prepareRows() sums a batch up per host without a database, so a worker receives a few rows instead of the events", () => {
  const sink = vmsSink({ database: "never-opened.db" });
  const t = Date.parse("2026-11-23T10:00:00Z");
  const batch = [
    at(t + 2000, "b", { host: "vm1", program: "sshd", sourceIp: "10.0.0.5" }),
    at(t, "a", { fields: { json: { host: "vm1" }, category: "alerts" } }),
    at(t + 1000, "c", { host: "nas" }),
    // Names a VM without coming from it.
    at(t + 3000, "d", { host: "vm1", program: "sluice-hostwatch" }),
    at(t + 4000, "no host at all"),
  ];
  const summary = sink.prepareRows(batch);
  assert.deepEqual(summary, [
    {
      host: "vm1",
      first: "2026-11-23T10:00:00.000Z",
      last: "2026-11-23T10:00:02.000Z",
      ip: "10.0.0.5",
      services: ["system:sshd", "alerts"],
    },
    {
      host: "nas",
      first: "2026-11-23T10:00:01.000Z",
      last: "2026-11-23T10:00:01.000Z",
      ip: null,
      services: ["system"],
    },
  ]);
});

Deno.test("vmsSink() waits out another writer's lock on siem.db, counting the retries, then writes", async () => {
  const dir = await Deno.makeTempDir();
  const database = `${dir}/siem.db`;
  const stats = new ComponentStats("sink", "vms", "vms");
  const sink = vmsSink({ database, busyTimeoutMs: 5000 });
  await sink.open({
    name: "vms",
    stats,
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
  });
  const other = new DatabaseSync(database);
  try {
    other.exec("PRAGMA busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE"); // another process's writer holds the lock
    const writing = sink.write([createEvent("x", { host: "vm-locked" })]);
    await new Promise((r) => setTimeout(r, 150));
    other.exec("COMMIT");
    await writing;
    assert.ok((stats.counters.busy_retries ?? 0) >= 1, "it waited for the lock");
    assert.deepEqual(rows(database).map((r) => r.host), ["vm-locked"]);
  } finally {
    other.close();
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
