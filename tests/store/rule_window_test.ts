// issue 25, "several centrals, one database": the store reads the shared correlation rules make
// after each batch (SiemStore.authWindow, SiemStore.incidents) give the same answers on
// PostgreSQL, MariaDB and SQLite for the same rows.
import assert from "node:assert/strict";
import { createEvent, type LogEvent } from "../../mod.ts";
import { asAlert } from "../../siem/correlate.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { siemPostgresSink } from "../../sinks/postgres.ts";
import { siemMysqlSink } from "../../sinks/mysql.ts";
import { openStore } from "../../store/open.ts";
import type { SiemStore } from "../../store/types.ts";
import { testOnServers } from "../fixtures/sql_servers.ts";
import { storeEvents } from "../fixtures/siem_corpus.ts";

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function auth(ip: string, t: number, outcome: string, user: string): LogEvent {
  return createEvent(`${outcome} for ${user} from ${ip}`, {
    timestamp: t,
    host: "vm-1",
    program: "sshd",
    id: `auth:${ip}:${t}`,
    fields: {
      category: "auth",
      sshd: { outcome, user, src_ip: ip, port: 22, method: "password", invalid: user === "nobody" },
    },
  });
}

function incident(rule: string, key: string, t: number): LogEvent {
  const e = createEvent("Failed password", {
    timestamp: t,
    host: "vm-1",
    fields: {
      alerts: { [rule]: { rule, severity: "high", key, incident: `${rule}:${t}:${key}` } },
    },
  });
  asAlert({ rule }).apply(e);
  return e;
}

function rows(): LogEvent[] {
  return [
    auth("203.0.113.1", T0 + 1000, "failure", "root"),
    auth("203.0.113.1", T0 + 2000, "invalid_user", "nobody"),
    auth("203.0.113.2", T0 + 3000, "failure", "admin"),
    auth("203.0.113.1", T0 + 4000, "success", "ada"),
    auth("203.0.113.3", T0 + 5000, "failure", "root"), // another address
    auth("203.0.113.1", T0 + 90_000, "failure", "root"), // after the range
    incident("sshd_brute_force", "203.0.113.1", T0 + 1500),
    incident("sshd_brute_force", "203.0.113.2", T0 + 700_000), // after the range
    incident("sshd_invalid_user_sweep", "203.0.113.1", T0 + 2500),
    // An alert that is not a correlation's incident (no incident id): never listed.
    createEvent("{}", {
      timestamp: T0 + 2000,
      id: "yara-1",
      fields: {
        category: "alerts",
        json: { rule: "sshd_brute_force", severity: "high", timestamp: new Date(T0).toISOString() },
      },
    }),
  ];
}

async function reads(store: SiemStore) {
  const window = await store.authWindow({
    srcIps: ["203.0.113.1", "203.0.113.2"],
    since: T0,
    until: T0 + 60_000,
  });
  const incidents = await store.incidents({
    rules: ["sshd_brute_force", "sshd_invalid_user_sweep"],
    since: T0,
    until: T0 + 600_000,
  });
  return {
    window: window.map((r) => [r.timestamp, r.src_ip, r.outcome, r.user, r.invalid_user]),
    incidents: incidents.map((i) => [i.timestamp, i.rule, i.key, i.id.startsWith("incident:")]),
    none: [
      await store.authWindow({ srcIps: [], since: T0 }),
      await store.incidents({ rules: [], since: T0 }),
      await store.authWindow({ srcIps: ["203.0.113.1"], since: T0, limit: 2 }),
      // 203.0.113.1 has 3 rows in the first minute, 203.0.113.2 one: only the first passes.
      await store.authWindow({
        srcIps: ["203.0.113.1", "203.0.113.2"],
        since: T0,
        until: T0 + 60_000,
        minRows: 3,
      }),
      await store.authWindow({ srcIps: ["203.0.113.2"], since: T0, minRows: 2 }),
    ].map((r) => r.length),
  };
}

const EXPECTED = {
  window: [
    [new Date(T0 + 1000).toISOString(), "203.0.113.1", "failure", "root", 0],
    [new Date(T0 + 2000).toISOString(), "203.0.113.1", "invalid_user", "nobody", 1],
    [new Date(T0 + 3000).toISOString(), "203.0.113.2", "failure", "admin", 0],
    [new Date(T0 + 4000).toISOString(), "203.0.113.1", "success", "ada", 0],
  ],
  incidents: [
    [new Date(T0 + 1500).toISOString(), "sshd_brute_force", "203.0.113.1", true],
    [new Date(T0 + 2500).toISOString(), "sshd_invalid_user_sweep", "203.0.113.1", true],
  ],
  none: [0, 0, 2, 3, 0],
};

Deno.test("authWindow() and incidents() on SQLite: the shared rules' reads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-rule-window-" });
  try {
    await storeEvents(siemSqliteSink({ database: `${dir}/siem.db` }), rows());
    const store = await openStore(`${dir}/siem.db`);
    try {
      assert.deepEqual(await reads(store), EXPECTED);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testOnServers(
  (db) => `authWindow() and incidents() on ${db} answer as on SQLite`,
  async (server) => {
    const url = server.url;
    const sink = url.startsWith("postgres") ? siemPostgresSink({ url }) : siemMysqlSink({ url });
    await storeEvents(sink, rows());
    const store = await openStore(url);
    try {
      assert.deepEqual(await reads(store), EXPECTED);
      // Values from logs are bound, never SQL text.
      assert.deepEqual(
        await store.authWindow({ srcIps: ["' OR 1=1 --", "203.0.113.3"], since: T0 }),
        await store.authWindow({ srcIps: ["203.0.113.3"], since: T0 }),
      );
    } finally {
      await store.close();
    }
  },
);
