import assert from "node:assert/strict";
import { createEvent, definePipeline, Engine } from "../../mod.ts";
import { csvParser } from "../../parsers/csv.ts";
import { jsonParser } from "../../parsers/json.ts";
import { kvParser } from "../../parsers/kv.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import { categorize } from "../../siem/categorize.ts";
import { heartbeatReport } from "../../sources/heartbeat.ts";
import { SIEM_TABLES, siemSqliteSink } from "../../siem/schema.ts";
import { manualSource } from "../fixtures/components.ts";

import { ev, quiet, rows, T0, withSiem } from "./_schema_helpers.ts";

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
