import assert from "node:assert/strict";
import { siemSchema } from "../../siem/schema.ts";

import { ev, rows, T0, withSiem } from "./_schema_helpers.ts";

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
