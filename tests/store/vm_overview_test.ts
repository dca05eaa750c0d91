// issue 25: the servers' vm_overview against SQLite's with heartbeats from the real clock: a VM
// that beat 20 s ago is not silent, one that beat 10 min ago (60 s interval) is, one with a 600 s
// interval that beat 10 min ago is not yet (three intervals), and alert counts and last alerts.
import assert from "node:assert/strict";
import type { LogEvent } from "../../core/event.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { siemPostgresSink } from "../../sinks/postgres.ts";
import { siemMysqlSink } from "../../sinks/mysql.ts";
import { openStore } from "../../store/open.ts";
import {
  MARIADBD,
  POSTGRES_BIN,
  type SqlServer,
  startMariadb,
  startPostgres,
} from "../fixtures/sql_servers.ts";
import { storeEvents } from "../fixtures/siem_corpus.ts";

function events(now: number): LogEvent[] {
  const out: LogEvent[] = [];
  let n = 0;
  const beat = (host: string, age: number, interval: number) => {
    const t = now - age;
    const json = { timestamp: new Date(t).toISOString(), interval_s: interval, version: "2" };
    out.push({
      message: JSON.stringify(json),
      fields: { category: "heartbeat", json },
      receivedAt: t,
      id: `vmo:${n++}`,
      host,
    });
  };
  beat("live", 20_000, 60);
  beat("gone", 600_000, 60);
  beat("slow", 600_000, 600);
  for (const [host, age] of [["live", 5000], ["live", 90_000], ["gone", 700_000]] as const) {
    const t = now - age;
    const json = { timestamp: new Date(t).toISOString(), host, severity: "high", rule: "r" };
    out.push({
      message: JSON.stringify(json),
      fields: { category: "alerts", json },
      receivedAt: t,
      id: `vmo:${n++}`,
    });
  }
  return out;
}

Deno.test({
  name: "vm_overview: silent, alerts and last_alert on PostgreSQL and MariaDB as in SQLite",
  ignore: !POSTGRES_BIN && !MARIADBD,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vm_overview_" });
    const servers: SqlServer[] = [];
    try {
      // Each server joins the stop list as soon as it runs, so a failed start of the other stops it.
      const started = <T extends SqlServer>(server: T) => (servers.push(server), server);
      const [pg, my] = await Promise.all([
        POSTGRES_BIN ? startPostgres().then(started) : undefined,
        MARIADBD ? startMariadb().then(started) : undefined,
      ]);
      const now = Date.now();
      const targets: Array<[string, string]> = [["sqlite", `${dir}/siem.db`]];
      await storeEvents(siemSqliteSink({ database: `${dir}/siem.db` }), events(now));
      if (pg) {
        targets.push(["postgres", pg.url]);
        await storeEvents(siemPostgresSink({ url: pg.url }), events(now));
      }
      if (my) {
        targets.push(["mysql", my.url]);
        await storeEvents(siemMysqlSink({ url: my.url }), events(now));
      }
      const answers = [];
      for (const [kind, target] of targets) {
        const store = await openStore(target);
        try {
          await store.ui.countUsers(); // the dashboard's first use makes the view on a server
          const r = await store.sql(
            `SELECT host, last_seen, interval_s, heartbeats, alerts, last_alert, silent FROM vm_overview ORDER BY host`,
          );
          answers.push([kind, r.rows] as const);
        } finally {
          await store.close();
        }
      }
      const iso = (age: number) => new Date(now - age).toISOString();
      const expected = [
        {
          host: "gone",
          last_seen: iso(600_000),
          interval_s: 60,
          heartbeats: 1,
          alerts: 1,
          last_alert: iso(700_000),
          silent: 1,
        },
        {
          host: "live",
          last_seen: iso(20_000),
          interval_s: 60,
          heartbeats: 1,
          alerts: 2,
          last_alert: iso(5000),
          silent: 0,
        },
        {
          host: "slow",
          last_seen: iso(600_000),
          interval_s: 600,
          heartbeats: 1,
          alerts: 0,
          last_alert: null,
          silent: 0,
        },
      ];
      for (const [kind, rows] of answers) assert.deepEqual(rows, expected, kind);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
