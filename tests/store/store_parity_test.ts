import assert from "node:assert/strict";
import { Command } from "commander";
import { siemSqliteSink } from "../../siem/schema.ts";
import { siemPostgresSink } from "../../sinks/postgres.ts";
import { siemMysqlSink } from "../../sinks/mysql.ts";
import { openStore } from "../../store/open.ts";
import type { SiemStore } from "../../store/types.ts";
import { registerQueryCommands } from "../../runner/query.ts";
import type { QueryIo } from "../../runner/query.ts";
import {
  MARIADBD,
  POSTGRES_BIN,
  type SqlServer,
  startMariadb,
  startPostgres,
} from "../fixtures/sql_servers.ts";
import { CORPUS_NOW, corpusSha, siemCorpus, storeEvents } from "../fixtures/siem_corpus.ts";

const NOW = CORPUS_NOW;
const H = 3_600_000;
const opts = { sanitizeResources: false, sanitizeOps: false };

interface Target {
  kind: string;
  db: string;
  store?: SiemStore;
}

/** Runs `sluice …` in process with a capturing io; the tail stops after `stopAfterMs`. */
async function cli(args: string[], stopAfterMs = 0): Promise<string> {
  let out = "";
  const stop = new AbortController();
  const io: QueryIo = {
    write: (t) => void (out += t),
    info() {},
    isTerminal: false,
    columns: undefined,
    env: () => undefined,
    signal: stop.signal,
  };
  const program = registerQueryCommands(new Command("sluice").exitOverride(), io);
  const timer = stopAfterMs ? setTimeout(() => stop.abort(), stopAfterMs) : undefined;
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    clearTimeout(timer);
  }
  return out;
}

Deno.test({
  name:
    "every SiemStore read and every `sluice query` subcommand answers the same on SQLite, PostgreSQL and MariaDB for the same events",
  ignore: !POSTGRES_BIN && !MARIADBD,
  ...opts,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "store_parity_" });
    const servers: SqlServer[] = [];
    const targets: Target[] = [{ kind: "sqlite", db: `sqlite:${dir}/siem.db` }];
    try {
      const [pg, my] = await Promise.all([
        POSTGRES_BIN ? startPostgres() : undefined,
        MARIADBD ? startMariadb() : undefined,
      ]);
      const events = siemCorpus(300);
      const loads: Promise<unknown>[] = [
        storeEvents(siemSqliteSink({ database: `${dir}/siem.db` }), events),
      ];
      if (pg) {
        servers.push(pg);
        targets.push({ kind: "postgres", db: pg.url });
        loads.push(storeEvents(siemPostgresSink({ url: pg.url }), events));
      }
      if (my) {
        servers.push(my);
        targets.push({ kind: "mysql", db: my.url });
        loads.push(storeEvents(siemMysqlSink({ url: my.url }), events));
      }
      await Promise.all(loads);
      for (const t of targets) t.store = await openStore(t.db);
      const same = async (name: string, read: (s: SiemStore) => Promise<unknown>) => {
        const [first, ...rest] = await Promise.all(targets.map((t) => read(t.store!)));
        for (const [k, other] of rest.entries()) {
          assert.deepEqual(other, first, `${name}: ${targets[k + 1]!.kind} differs from SQLite`);
        }
        return first;
      };
      const all = <T>(it: AsyncIterable<T[]>) =>
        (async () => {
          const pages: T[][] = [];
          for await (const p of it) pages.push(p);
          return pages;
        })();

      // Triage the same alerts on each, so the status filters have something to find.
      for (const t of targets) {
        await t.store!.ui.triage({ alert: 3, status: "closed", note: "fp", by: "ada", now: NOW });
        await t.store!.ui.triage({ alert: 8, status: "acknowledged", by: "bob", now: NOW + 1 });
      }

      const range = { since: NOW - 10 * H, until: NOW - 2 * H };
      const reads: Array<[string, (s: SiemStore) => Promise<unknown>]> = [
        ["overview", (s) => s.overview({ now: NOW, since: NOW - 31 * H, until: NOW + 1 })],
        ["overview open", (s) => s.overview({ now: NOW, since: NOW - 6 * H, top: 3, latest: 4 })],
        ["series", (s) => s.series({ since: NOW - 31 * H, until: NOW })],
        ["series 15m", (s) => s.series({ since: NOW - 3 * H, until: NOW, bucketMs: 900_000 })],
        ["series host", (s) => s.series({ since: NOW - 31 * H, until: NOW, host: "vm-1" })],
        ["alerts", (s) => s.alerts()],
        ["alerts range", (s) => s.alerts({ ...range, limit: 1000 })],
        ["alerts critical", (s) => s.alerts({ severities: ["critical"], limit: 1000 })],
        ["alerts high,low", (s) => s.alerts({ severities: ["HIGH", "low"], host: "vm-2" })],
        ["alerts rule", (s) => s.alerts({ rule: "rule_3", source: "yara", limit: 9 })],
        ["alerts text", (s) => s.alerts({ text: "DROP table", limit: 1000 })],
        ["alerts text path", (s) => s.alerts({ text: "srv/1/FILE 2", limit: 1000 })],
        ["alerts closed", (s) => s.alerts({ status: "closed" })],
        ["alerts acknowledged", (s) => s.alerts({ status: "acknowledged" })],
        ["alerts open", (s) => s.alerts({ status: "open", limit: 1000 })],
        ["alerts pages", async (s) => {
          const pages = [];
          let page = await s.alerts({ limit: 7, severities: ["high"] });
          pages.push(page);
          while (page.next) {
            page = await s.alerts({ limit: 7, severities: ["high"], cursor: page.next });
            pages.push(page);
          }
          return pages;
        }],
        ["export", (s) => all(s.exportAlerts({ host: "vm-3" }, 40))],
        ["alert", async (s) => [await s.alert(1), await s.alert(3), await s.alert(100_000)]],
        ["alert with samples", (s) => s.alert(21)],
        ["rules", (s) => s.rules()],
        ["rules range", (s) => s.rules({ ...range, limit: 3 })],
        ["hosts", (s) => s.hosts({ now: NOW })],
        ["hosts range", (s) => s.hosts({ now: NOW, ...range, intervalMs: 30_000 })],
        ["host", (s) => s.host("vm-1", { now: NOW, limit: 20 })],
        ["host range", (s) => s.host("vm-2", { now: NOW, ...range })],
        ["host unknown", (s) => s.host("nope", { now: NOW })],
        ["authSources", (s) => s.authSources()],
        ["authSources failed", (s) => s.authSources({ failedOnly: true, host: "vm-1", limit: 5 })],
        ["authUsers", (s) => s.authUsers({ ...range })],
        ["authUsers failed", (s) => s.authUsers({ failedOnly: true })],
        ["authEvents", (s) => s.authEvents({ limit: 50 })],
        ["authEvents failed", (s) => s.authEvents({ failedOnly: true, srcIp: "203.0.113.4" })],
        ["firewallSources", (s) => s.firewallSources()],
        ["firewallSources drop", (s) => s.firewallSources({ action: "DROP", ...range })],
        ["firewallPorts", (s) => s.firewallPorts()],
        ["firewallPorts host", (s) => s.firewallPorts({ host: "vm-1" })],
        ["objects", (s) => s.objects()],
        ["objects prefix", (s) => s.objects({ sha256Prefix: corpusSha(1).slice(0, 8) })],
        ["objects sha", (s) => s.objects({ sha256Prefix: corpusSha(2), host: "vm-2" })],
        [
          "alertsForHashes",
          (s) => s.alertsForHashes([corpusSha(0), corpusSha(1).toUpperCase(), corpusSha(3)]),
        ],
        ["alertsForHashes host", (s) => s.alertsForHashes([corpusSha(0)], { host: "vm-0" })],
        ["tail", async (s) => {
          const start = await s.tailStart({ since: NOW - 3 * H });
          const first = await s.tailRead(start, {}, 25);
          const second = await s.tailRead(first.cursor, {}, 25);
          return [start, first, second];
        }],
        ["tail filtered", async (s) => {
          const f = { categories: ["alerts", "system"], severities: ["critical"], host: "vm-1" };
          return await s.tailRead(await s.tailStart({ ...f, since: NOW - 20 * H }), f);
        }],
        ["tail end", async (s) => await s.tailRead(await s.tailStart(), {})],
        ["sql count", (s) => s.sql(`SELECT count(*) AS n FROM auth_events`)],
        [
          "sql group",
          (s) =>
            s.sql(
              `SELECT rule, count(*) AS n FROM alerts WHERE rule IS NOT NULL GROUP BY rule ORDER BY 2 DESC, 1`,
            ),
        ],
        ["triage history", (s) => s.ui.triageHistory(3)],
        // SQLite's view, made on the servers with the dashboard's tables (the triage above).
        [
          "vm_overview",
          (s) =>
            s.sql(
              `SELECT host, first_seen, last_seen, interval_s, heartbeats, alerts, last_alert, silent FROM vm_overview ORDER BY host`,
            ),
        ],
      ];
      const got = new Map<string, unknown>();
      for (const [name, read] of reads) got.set(name, await same(name, read));
      // The answers compared are not empty ones.
      const o = got.get("overview") as Awaited<ReturnType<SiemStore["overview"]>>;
      assert.equal(o.counts.alerts, 300);
      assert.deepEqual(o.counts.hosts, { ok: 2, stale: 1, silent: 2, unknown: 0 });
      assert.ok(o.topFailedSources.length > 0 && o.latestCritical.length > 0);
      const detail = got.get("alert with samples") as Awaited<ReturnType<SiemStore["alert"]>>;
      assert.ok(detail && detail.objects.length > 0);
      const text = got.get("alerts text") as Awaited<ReturnType<SiemStore["alerts"]>>;
      assert.equal(text.rows.length, 1);
      assert.equal((got.get("alerts closed") as typeof text).rows[0]?.seq, 3);
      assert.ok((got.get("alerts pages") as unknown[]).length > 3);
      const ports = got.get("firewallPorts") as Awaited<ReturnType<SiemStore["firewallPorts"]>>;
      assert.ok(ports.some((p) => p.dpt === null));
      const tail = got.get("tail") as [string, { rows: unknown[] }, { rows: unknown[] }];
      assert.ok(tail[1].rows.length > 25);
      assert.ok(tail[2].rows.length > 0);
      assert.ok((got.get("tail filtered") as { rows: unknown[] }).rows.length > 0);
      assert.ok((got.get("alertsForHashes") as unknown[]).length === 2);
      const vmo = got.get("vm_overview") as Awaited<ReturnType<SiemStore["sql"]>>;
      assert.ok(vmo.rows.length > 1 && vmo.rows.some((r) => Number(r.alerts) > 0 && r.last_alert));
      const rules = got.get("rules") as Awaited<ReturnType<SiemStore["rules"]>>;
      assert.ok(rules.length === 9 && rules.every((r) => r.severities.length > 1));

      // Writes through the escape hatch are refused on each.
      for (const t of targets) {
        await assert.rejects(t.store!.sql("DELETE FROM alerts"), `${t.kind} refused a DELETE`);
        await assert.rejects(t.store!.sql("SELECT 1; DELETE FROM alerts"), /one statement/);
      }
      assert.equal(
        (await same("after", (s) => s.sql("SELECT count(*) AS n FROM alerts"))) !== undefined,
        true,
      );
      for (const t of targets) await t.store!.close();

      // Every `sluice query` subcommand (and tail), as a user runs it with --db.
      const day = new Date(NOW - 31 * H).toISOString().slice(0, 10);
      const commands: Array<[string[], number?]> = [
        [["query", "critical", "--since", day, "--limit", "1000"]],
        [["query", "alerts", "--severity", "high,low", "--host", "vm-1", "--since", day]],
        [["query", "alerts", "--rule", "rule_5", "--limit", "5"]],
        [["query", "rules", "--since", day]],
        [["query", "host", "vm-1", "--since", day, "--limit", "10"]],
        [["query", "hosts"]],
        [["query", "auth", "--failed", "--top", "5"]],
        [["query", "auth", "--since", day]],
        [["query", "objects", "--hash", corpusSha(1).slice(0, 10)]],
        [["query", "objects", "--host", "vm-0"]],
        [["query", "sql", "SELECT count(*) AS n, max(host) AS h FROM firewall_events"]],
        [["tail", "--since", new Date(NOW - 2 * H).toISOString(), "--poll", "50ms"], 1500],
        [["tail", "--category", "alerts", "--severity", "critical", "--since", day], 1500],
      ];
      for (const [args, stopAfter] of commands) {
        for (const format of args[0] === "tail" ? ["json", "text"] : ["json", "csv"]) {
          const outs = [];
          for (const t of targets) {
            outs.push(await cli([...args, "--db", t.db, "--format", format], stopAfter));
          }
          assert.ok(outs[0]!.length > 10, `${args.join(" ")} printed something`);
          for (const [k, o] of outs.entries()) {
            assert.equal(o, outs[0], `${args.join(" ")} --format ${format}: ${targets[k]!.kind}`);
          }
        }
      }
      console.log(
        `  compared ${reads.length} reads and ${commands.length} commands on ${
          targets.map((t) => t.kind).join(", ")
        }`,
      );
    } finally {
      for (const t of targets) await t.store?.close().catch(() => {});
      await Promise.all(servers.map((s) => s.stop()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
