import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type EventInit,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { csvParser } from "../../parsers/csv.ts";
import { jsonParser } from "../../parsers/json.ts";
import { kvParser } from "../../parsers/kv.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import { categorize } from "../../siem/categorize.ts";
import { heartbeatReport } from "../../sources/heartbeat.ts";
import { SIEM_TABLES, siemSchema, siemSqliteSink } from "../../siem/schema.ts";
import type { SqliteSink } from "../../sinks/sqlite.ts";
import { manualSource } from "../fixtures/components.ts";

const quiet = createLogger("silent");

function context(): SinkContext & { stats: ComponentStats } {
  return {
    name: "siem",
    stats: new ComponentStats("sink", "siem", "sqlite"),
    state: memoryState(),
    log: quiet,
    signal: new AbortController().signal,
  };
}

async function withSiem(
  body: (sink: SqliteSink, ctx: ReturnType<typeof context>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const sink = siemSqliteSink({ database: `${dir}/siem.db` });
  const ctx = context();
  await sink.open(ctx);
  try {
    await body(sink, ctx);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function rows(db: DatabaseSync, sql: string): Array<Record<string, unknown>> {
  return (db.prepare(sql).all() as Array<Record<string, unknown>>).map((r) => ({ ...r }));
}

const T0 = Date.UTC(2024, 10, 23, 9, 48); // long past, so a VM last seen then is silent

function ev(message: string, init: EventInit): ReturnType<typeof createEvent> {
  return createEvent(message, { receivedAt: T0, ...init });
}

Deno.test("siemSqliteSink() creates every SIEM table with its indexes", async () => {
  await withSiem((sink) => {
    const tables = rows(
      sink.db,
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
      .map((r) => r.name);
    for (const t of [...Object.keys(siemSchema.tables), "sluice_dead_letter"]) {
      assert.ok(tables.includes(t), t);
    }
    const alertIndexes = rows(sink.db, "PRAGMA index_list(alerts)").map((r) => r.name);
    for (
      const i of [
        "alerts_id",
        "alerts_timestamp_severity_rule_host",
        "alerts_host_timestamp",
        "alerts_severity_timestamp",
        "alerts_rule_timestamp",
      ]
    ) {
      assert.ok(alertIndexes.includes(i), i);
    }
    // A host page's newest rows of each table come from a (host, timestamp) index, not a sort.
    for (
      const t of ["auth_events", "firewall_events", "docker_events", "system_events", "heartbeats"]
    ) {
      const names = rows(sink.db, `PRAGMA index_list(${t})`).map((r) => r.name);
      assert.ok(names.includes(`${t}_host_timestamp`), `${t}: ${names.join(", ")}`);
      const plan = rows(
        sink.db,
        `EXPLAIN QUERY PLAN SELECT rowid FROM ${t} WHERE host = 'h' ORDER BY timestamp DESC LIMIT 20`,
      ).map((r) => String(r.detail)).join("; ");
      assert.ok(!plan.includes("TEMP B-TREE"), `${t}: ${plan}`);
    }
    const alertColumns = rows(sink.db, "PRAGMA table_info(alerts)").map((r) => r.name);
    for (const c of ["id", "timestamp", "host", "severity", "rule", "file", "hash", "raw"]) {
      assert.ok(alertColumns.includes(c), c);
    }
    const objectColumns = rows(sink.db, "PRAGMA table_info(objects)").map((r) => r.name);
    for (const c of ["host", "kind", "path", "size", "sha256", "synced_at"]) {
      assert.ok(objectColumns.includes(c), c);
    }
    return Promise.resolve();
  });
});

Deno.test("siemSqliteSink() stores each category in its table with the documented columns", async () => {
  await withSiem(async (sink, ctx) => {
    const hash = "ab".repeat(32);
    await sink.write([
      ev('{"rule":"Mimikatz"}', {
        id: "a:1",
        host: "relay",
        fields: {
          json: {
            timestamp: "2026-11-23T08:00:00Z",
            host: "vm1",
            severity: "critical",
            rule: "Mimikatz",
            file: "/tmp/x.bin",
            hash,
            msg: "matched",
          },
        },
      }),
      ev("Failed password for root from 203.0.113.9 port 41822 ssh2", {
        id: "s:1",
        host: "vm2",
        program: "sshd",
        fields: {
          sshd: {
            outcome: "failure",
            method: "password",
            user: "root",
            src_ip: "203.0.113.9",
            port: 41822,
          },
        },
      }),
      ev("[UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.7 DST=10.0.0.2 PROTO=TCP SPT=5555 DPT=22", {
        id: "f:1",
        host: "fw",
        fields: {
          fw: {
            _text: "[UFW BLOCK]",
            IN: "eth0",
            OUT: "",
            SRC: "198.51.100.7",
            DST: "10.0.0.2",
            PROTO: "TCP",
            SPT: "5555",
            DPT: "22",
          },
        },
      }),
      ev("{docker}", {
        id: "d:1",
        host: "vm3",
        fields: {
          json: {
            Type: "container",
            Action: "start",
            Actor: { ID: "c0ffee", Attributes: { name: "web", image: "nginx:1" } },
            time: 1_795_000_000,
          },
        },
      }),
      ev("eth0: link up", { id: "k:1", host: "vm1", program: "kernel", facility: 0, severity: 6 }),
      ev('{"type":"heartbeat"}', {
        id: "h:1",
        host: "vm1",
        sourceIp: "10.0.0.11",
        fields: {
          json: {
            type: "heartbeat",
            agent_version: "0.1.0",
            uptime_s: 12.5,
            interval_s: 60,
            dropped: 0,
          },
        },
      }),
      ev("daemon 1700000000 eth0 0 52:54:00:AB:CD:EF 192.168.1.23 ARP_REQ", {
        id: "w:1",
        host: "router",
        fields: {
          arp: {
            timestamp: "1700000000",
            interface: "eth0",
            vlan: "0",
            mac: "52:54:00:AB:CD:EF",
            ip: "192.168.1.23",
            type: "ARP_REQ",
          },
        },
      }),
      ev("stored", {
        id: "o:1",
        host: "vm1",
        program: "sluice-objects",
        fields: {
          object: {
            host: "vm1",
            kind: "quarantine",
            path: "x.bin",
            remote: "vm1/quarantine/x.bin",
            size: 1234,
            sha256: hash,
            uploaded_at: "2026-11-23T09:00:00.000Z",
            encrypted: false,
          },
        },
      }),
    ]);
    assert.equal(ctx.stats.counters.inserted, 8);
    assert.equal(ctx.stats.counters.dead_lettered, undefined);
    const one = (table: string, cols: string) => rows(sink.db, `SELECT ${cols} FROM ${table}`);
    assert.deepEqual(
      one("alerts", "id, timestamp, host, severity, rule, file, hash, message, raw"),
      [{
        id: "a:1",
        timestamp: "2026-11-23T08:00:00.000Z",
        host: "relay", /* the transport's HOST wins over the host named in the message */
        severity: "critical",
        rule: "Mimikatz",
        file: "/tmp/x.bin",
        hash,
        message: "matched",
        raw: '{"rule":"Mimikatz"}',
      }],
    );
    assert.deepEqual(
      one("auth_events", "host, program, outcome, user, src_ip, port, method, invalid_user"),
      [{
        host: "vm2",
        program: "sshd",
        outcome: "failure",
        user: "root",
        src_ip: "203.0.113.9",
        port: 41822,
        method: "password",
        invalid_user: 0,
      }],
    );
    assert.deepEqual(
      one("firewall_events", "host, action, in_if, out_if, src, dst, proto, spt, dpt"),
      [{
        host: "fw",
        action: "UFW BLOCK",
        in_if: "eth0",
        out_if: null,
        src: "198.51.100.7",
        dst: "10.0.0.2",
        proto: "TCP",
        spt: 5555,
        dpt: 22,
      }],
    );
    assert.deepEqual(one("docker_events", "timestamp, host, type, action, actor_id, name, image"), [
      {
        timestamp: new Date(1_795_000_000_000).toISOString(),
        host: "vm3",
        type: "container",
        action: "start",
        actor_id: "c0ffee",
        name: "web",
        image: "nginx:1",
      },
    ]);
    assert.deepEqual(
      one("system_events", "timestamp, host, program, facility, severity, message"),
      [{
        timestamp: new Date(T0).toISOString(),
        host: "vm1",
        program: "kernel",
        facility: "kern",
        severity: 6,
        message: "eth0: link up",
      }],
    );
    assert.deepEqual(one("heartbeats", "host, source_ip, version, uptime_s, interval_s, dropped"), [
      {
        host: "vm1",
        source_ip: "10.0.0.11",
        version: "0.1.0",
        uptime_s: 12.5,
        interval_s: 60,
        dropped: 0,
      },
    ]);
    assert.deepEqual(one("addrwatch", "timestamp, host, interface, vlan, mac, ip, origin"), [{
      timestamp: "2023-11-14T22:13:20.000Z",
      host: "router",
      interface: "eth0",
      vlan: 0,
      mac: "52:54:00:ab:cd:ef",
      ip: "192.168.1.23",
      origin: "ARP_REQ",
    }]);
    assert.deepEqual(
      one("objects", "host, kind, path, size, sha256, synced_at, remote, encrypted"),
      [{
        host: "vm1",
        kind: "quarantine",
        path: "x.bin",
        size: 1234,
        sha256: hash,
        synced_at: "2026-11-23T09:00:00.000Z",
        remote: "vm1/quarantine/x.bin",
        encrypted: 0,
      }],
    );
    // An alert's hash finds its stored sample.
    assert.deepEqual(
      rows(sink.db, "SELECT o.remote FROM alerts a JOIN objects o ON o.sha256 = a.hash"),
      [{ remote: "vm1/quarantine/x.bin" }],
    );
  });
});

Deno.test("siemSqliteSink() keeps the vms registry from heartbeats, replays counted once", async () => {
  await withSiem(async (sink) => {
    const hb = (n: number, at: number) =>
      ev("hb", {
        id: `hb:${n}`,
        host: "vm1",
        sourceIp: "10.0.0.11",
        timestamp: at,
        fields: { json: { type: "heartbeat", agent_version: `0.${n}`, interval_s: 60 } },
      });
    const alert = (n: number) =>
      ev("{}", {
        id: `al:${n}`,
        timestamp: T0 + 5000,
        fields: { json: { rule: "R", host: "vm1" } },
      });
    const batch = [hb(1, T0), hb(2, T0 + 60_000), alert(1), alert(2)];
    await sink.write(batch);
    await sink.write(batch); // a replay
    assert.deepEqual(rows(sink.db, "SELECT * FROM vms"), [{
      host: "vm1",
      first_seen: new Date(T0).toISOString(),
      last_seen: new Date(T0 + 60_000).toISOString(),
      services: null,
      source_ip: "10.0.0.11",
      version: "0.2",
      interval_s: 60,
      heartbeats: 2,
    }]);
    assert.deepEqual(rows(sink.db, "SELECT host, alerts, last_alert, silent FROM vm_overview"), [{
      host: "vm1",
      alerts: 2,
      last_alert: new Date(T0 + 5000).toISOString(),
      silent: 1,
    }]);
  });
});

Deno.test("siemSqliteSink() follows fields.category and dead-letters an unknown one", async () => {
  await withSiem(async (sink, ctx) => {
    await sink.write([
      // categorize() decided "alerts" although the fields look like sshd: the step wins.
      ev("forced", { id: "c:1", fields: { category: "alerts", sshd: { outcome: "success" } } }),
      ev("odd", { id: "c:2", fields: { category: "vms" } }),
      ev("'; DROP TABLE alerts; --", {
        id: "c:3",
        fields: { category: "'; DROP TABLE alerts; --" },
      }),
      ev("plain", { id: "c:4" }),
    ]);
    assert.deepEqual(rows(sink.db, "SELECT raw FROM alerts"), [{ raw: "forced" }]);
    assert.deepEqual(rows(sink.db, "SELECT message FROM system_events"), [{ message: "plain" }]);
    const dead = rows(sink.db, "SELECT event_id, error FROM sluice_dead_letter ORDER BY event_id");
    assert.deepEqual(dead.map((d) => d.event_id), ["c:2", "c:3"]);
    assert.match(dead[0]!.error as string, /not a valid identifier/);
    assert.equal(ctx.stats.counters.dead_lettered, 2);
    assert.deepEqual(Object.keys(SIEM_TABLES).length, 8);
  });
});

Deno.test("SIEM pipeline: the parsers' fields fill the tables through categorize()", async () => {
  const dir = await Deno.makeTempDir();
  const sink = siemSqliteSink({ database: `${dir}/siem.db` });
  const alerts = manualSource("alerts");
  const fw = manualSource("fw");
  const arp = manualSource("arp");
  const auth = manualSource("auth");
  const engine = new Engine(
    definePipeline({
      paths: [
        { from: [alerts], steps: [jsonParser(), categorize()], to: [sink] },
        { from: [fw], steps: [kvParser({ prefix: "fw" }), categorize()], to: [sink] },
        {
          from: [arp],
          steps: [
            csvParser({
              columns: ["facility", "timestamp", "interface", "vlan", "mac", "ip", "type"],
              delimiters: " ",
              prefix: "arp",
            }),
            categorize(),
          ],
          to: [sink],
        },
        { from: [auth], steps: [sshdParser(), categorize()], to: [sink] },
      ],
    }),
    { logger: quiet },
  );
  await engine.start();
  try {
    const acked = (src: ReturnType<typeof manualSource>, lines: string[]) =>
      new Promise<void>((resolve) => {
        src.emit(
          lines.map((l, i) => createEvent(l, { host: "vm1", id: `${src.name}:${i}` })),
          resolve,
        );
      });
    await Promise.all([
      acked(alerts, [
        '{"timestamp":"2026-11-23T09:48:00Z","host":"vm1","severity":"high","rule":"Webshell","file":"/var/www/x.php","hash":"00ff","msg":"m"}',
        JSON.stringify(heartbeatReport("vm1", 60_000, "1.0")),
        '{"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"name":"bridge"}}}',
      ]),
      acked(fw, [
        "[UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.7 DST=10.0.0.2 PROTO=UDP SPT=53 DPT=5353",
      ]),
      acked(arp, ["daemon 1700000000 eth0 0 52:54:00:12:34:56 192.168.1.23 ARP_REQ"]),
      acked(auth, ["Invalid user admin from 203.0.113.9 port 41822"]),
    ]);
    const db = sink.db;
    assert.deepEqual(rows(db, "SELECT host, severity, rule, file, hash FROM alerts"), [
      { host: "vm1", severity: "high", rule: "Webshell", file: "/var/www/x.php", hash: "00ff" },
    ]);
    assert.deepEqual(rows(db, "SELECT version, interval_s FROM heartbeats"), [
      { version: "1.0", interval_s: 60 },
    ]);
    assert.deepEqual(rows(db, "SELECT host, heartbeats, alerts, silent FROM vm_overview"), [
      { host: "vm1", heartbeats: 1, alerts: 1, silent: 0 },
    ]);
    assert.deepEqual(rows(db, "SELECT action, name FROM docker_events"), [{
      action: "connect",
      name: "bridge",
    }]);
    assert.deepEqual(rows(db, "SELECT action, src, proto, spt, dpt FROM firewall_events"), [
      { action: "UFW BLOCK", src: "198.51.100.7", proto: "UDP", spt: 53, dpt: 5353 },
    ]);
    assert.deepEqual(rows(db, "SELECT mac, ip, origin FROM addrwatch"), [
      { mac: "52:54:00:12:34:56", ip: "192.168.1.23", origin: "ARP_REQ" },
    ]);
    assert.deepEqual(
      rows(db, "SELECT outcome, user, src_ip, port, invalid_user FROM auth_events"),
      [
        {
          outcome: "invalid_user",
          user: "admin",
          src_ip: "203.0.113.9",
          port: 41822,
          invalid_user: 1,
        },
      ],
    );
  } finally {
    await engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
