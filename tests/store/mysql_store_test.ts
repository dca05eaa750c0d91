import assert from "node:assert/strict";
import { siemSqliteSink } from "../../siem/schema.ts";
import { siemMysqlSink } from "../../sinks/mysql.ts";
import { openStore } from "../../store/open.ts";
import { openMysqlStore } from "../../store/mysql.ts";
import { freePort, MARIADBD, type SqlServer, startMariadb } from "../fixtures/sql_servers.ts";
import {
  exerciseUiTables,
  hostileAlerts,
  siemCorpus,
  storeEvents,
} from "../fixtures/siem_corpus.ts";

const opts = { ignore: !MARIADBD, sanitizeResources: false, sanitizeOps: false };

let server: SqlServer | undefined;
let databases = 0;
/** A fresh database on the file's one server, and its URL. */
async function database(): Promise<{ my: SqlServer; url: string; name: string }> {
  server ??= await startMariadb();
  const name = `t${++databases}`;
  await server.sql(`CREATE DATABASE ${name}`);
  return { my: server, url: server.url.replace(/\/sluice$/, `/${name}`), name };
}

Deno.test({
  name:
    "openMysqlStore reads a database nobody wrote as empty and creates nothing; the UI tables are made on first use, typed, and work",
  ...opts,
  async fn() {
    const { my, url, name } = await database();
    const store = await openMysqlStore({ url });
    try {
      assert.equal(store.kind, "mysql");
      assert.deepEqual(await store.alerts(), { rows: [], next: null });
      assert.equal((await store.overview()).counts.events, 0);
      assert.deepEqual(await store.hosts(), []);
      assert.deepEqual(await store.rules(), []);
      assert.deepEqual((await store.tailRead(await store.tailStart(), {})).rows, []);
      assert.deepEqual(await store.sql("SELECT 1 AS one"), {
        columns: ["one"],
        rows: [{ one: 1 }],
      });
      const tables = () =>
        my.sql(
          `SELECT GROUP_CONCAT(table_name ORDER BY table_name SEPARATOR '|') FROM information_schema.tables WHERE table_schema = '${name}'`,
        );
      assert.equal((await tables()).trim(), "NULL");

      await storeEvents(siemMysqlSink({ url }), siemCorpus(20));
      assert.equal((await store.alerts({ limit: 1000 })).rows.length, 20);
      await exerciseUiTables(store);
      assert.match(await tables(), /alert_triage\|alert_triage_state\|.*ui_sessions\|users/);
      const types = await store.sql(
        `SELECT CONCAT(table_name, '.', column_name, ' ', column_type, ' ', coalesce(collation_name, '-')) AS c
         FROM information_schema.columns WHERE table_schema = DATABASE()
         AND table_name IN ('users', 'alert_triage') AND column_name IN ('name', 'alert', 'seq', 'note')
         ORDER BY 1`,
      );
      assert.deepEqual(types.rows.map((r) => r.c), [
        "alert_triage.alert bigint(20) -",
        "alert_triage.note text utf8mb4_bin",
        "alert_triage.seq bigint(20) unsigned -",
        "users.name varchar(191) utf8mb4_bin",
      ]);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name:
    "openMysqlStore: the SQL escape hatch runs one statement in a READ ONLY transaction; writes and DDL are refused",
  ...opts,
  async fn() {
    const { url } = await database();
    await storeEvents(siemMysqlSink({ url }), siemCorpus(10));
    const store = await openMysqlStore({ url });
    try {
      await assert.rejects(store.sql("DELETE FROM alerts"), /read-only/);
      await assert.rejects(store.sql("CREATE TABLE evil (a int)"), /read-only/);
      await assert.rejects(store.sql("DROP TABLE alerts"), /read-only/);
      await assert.rejects(store.sql("SELECT 1; DELETE FROM alerts"), /one statement/);
      await store.sql("SET SESSION TRANSACTION READ WRITE").catch(() => {});
      await assert.rejects(store.sql("UPDATE alerts SET rule = 'x'"), /read-only/);
      const r = await store.sql(
        `SELECT count(*) AS n, max("timestamp") AS last FROM alerts WHERE rule <> 'x' OR rule IS NULL`,
      );
      assert.equal(r.rows[0]?.n, 10);
      assert.match(String(r.rows[0]?.last), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name:
    "openMysqlStore reads hostile values back as stored: SQL text, quotes, NUL (stripped), invalid UTF-8, 1 MB fields",
  ...opts,
  async fn() {
    const { url } = await database();
    const dir = await Deno.makeTempDir({ prefix: "my_store_hostile_" });
    const events = hostileAlerts();
    const counters = await storeEvents(siemMysqlSink({ url }), events, 2);
    await storeEvents(siemSqliteSink({ database: `${dir}/siem.db` }), events, 2);
    assert.equal(counters.inserted, events.length);
    assert.equal(counters.nul_stripped, 1);
    assert.equal(counters.truncated, 1);
    const store = await openMysqlStore({ url });
    const lite = await openStore(`${dir}/siem.db`);
    try {
      const rows = (await store.alerts({ limit: 100 })).rows.reverse();
      const liteRows = (await lite.alerts({ limit: 100 })).rows.reverse();
      assert.equal(rows.length, events.length);
      const msg = rows.map((r) => r.message);
      assert.equal(msg[0], `Robert'); DELETE FROM users; --"\\`);
      assert.equal(msg[1], "beforeafter");
      assert.equal(msg[2], "bad \ufffd byte, é, 🚀");
      assert.equal(msg[3], "x".repeat(1 << 20));
      assert.equal(msg[5], "100% _literal_");
      // An indexed column is VARCHAR(191): the sink cuts to 191 bytes on a character boundary
      // (the full text is in raw).
      assert.equal(rows[4]?.rule, `long ${"é".repeat(93)}`);
      for (const k of [0, 2, 3, 5]) {
        assert.deepEqual({ ...rows[k], seq: 0 }, { ...liteRows[k], seq: 0 }, `row ${k}`);
      }
      for (const [k, r] of rows.entries()) {
        assert.equal((await store.alert(r.seq))?.raw, events[k]?.message, `raw ${k}`);
      }
      const byRule = await store.alerts({ rule: "'; DROP TABLE alerts; --" });
      assert.deepEqual(byRule.rows.map((r) => r.seq), [rows[0]!.seq]);
      assert.deepEqual((await store.alerts({ text: "% _l" })).rows.map((r) => r.seq), [
        rows[5]!.seq,
      ]);
      assert.deepEqual((await store.alerts({ text: "' or 1=1" })).rows, []);
      assert.deepEqual(await store.alerts({ host: "vm-h' OR '1'='1" }), { rows: [], next: null });
      // utf8mb4_bin: a host filter matches its own case only, as in SQLite.
      assert.deepEqual(await store.alerts({ host: "VM-H" }), { rows: [], next: null });
    } finally {
      await store.close();
      await lite.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "openMysqlStore reads and writes again after the server restarts under it (SIGKILL of mariadbd)",
  ...opts,
  async fn() {
    const { my, url } = await database();
    await storeEvents(siemMysqlSink({ url }), siemCorpus(10));
    const store = await openMysqlStore({ url });
    try {
      assert.equal((await store.alerts()).rows.length, 10);
      assert.equal(await store.ui.countUsers(), 0);
      await my.restart();
      // The connections the server dropped are made anew: no read or write fails.
      assert.equal((await store.alerts()).rows.length, 10);
      assert.equal(await store.ui.addUser({ name: "ada", role: "admin", passwordHash: "h" }), true);
      assert.equal(await store.ui.countUsers(), 1);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name:
    "openStore(mysql://…, mariadb://…) opens the server and never shows the password in an error",
  ...opts,
  async fn() {
    const { url } = await database();
    try {
      for (const u of [url, url.replace(/^mysql:/, "mariadb:")]) {
        const store = await openStore(u, {
          env: (n) => (n === "SLUICE_DB_PASSWORD" ? "unused-pw" : undefined),
        });
        assert.equal(store.kind, "mysql");
        await store.close();
      }
      const port = freePort();
      const err = await openStore(`mysql://u:hunter2@127.0.0.1:${port}/x`).then(
        () => assert.fail("connected to a closed port"),
        (e: Error) => e,
      );
      assert.match(err.message, /mysqlStore: cannot connect \(mysql:\/\/u:\*\*\*@127\.0\.0\.1/);
      assert.doesNotMatch(err.message, /hunter2/);
      const fromEnv = await openStore(`mariadb://u@127.0.0.1:${port}/x`, {
        env: (n) => (n === "SLUICE_DB_PASSWORD" ? "env-pw-9" : undefined),
      }).then(() => assert.fail("connected to a closed port"), (e: Error) => e);
      assert.doesNotMatch(fromEnv.message, /env-pw-9/);
    } finally {
      await server?.stop();
      server = undefined;
    }
  },
});
