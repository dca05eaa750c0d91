import assert from "node:assert/strict";
import { siemSqliteSink } from "../../siem/schema.ts";
import { siemPostgresSink } from "../../sinks/postgres.ts";
import { openStore } from "../../store/open.ts";
import { openPostgresStore } from "../../store/postgres.ts";
import { freePort, POSTGRES_BIN, type SqlServer, startPostgres } from "../fixtures/sql_servers.ts";
import {
  exerciseUiTables,
  hostileAlerts,
  siemCorpus,
  storeEvents,
} from "../fixtures/siem_corpus.ts";

const opts = { ignore: !POSTGRES_BIN, sanitizeResources: false, sanitizeOps: false };

let server: SqlServer | undefined;
let databases = 0;
/** A fresh database on the file's one server, and its URL. */
async function database(): Promise<{ pg: SqlServer; url: string; name: string }> {
  server ??= await startPostgres();
  const name = `t${++databases}`;
  await server.sql(`CREATE DATABASE ${name}`);
  return { pg: server, url: server.url.replace(/\/sluice$/, `/${name}`), name };
}

async function psql(pg: SqlServer, db: string, statement: string): Promise<string> {
  return await pg.sql(
    `SELECT string_agg(x, '|') FROM dblink('dbname=${db} user=sluice port=${pg.port} host=127.0.0.1', $q$${statement}$q$) AS r(x text)`,
  ).catch(async () => {
    await pg.sql("CREATE EXTENSION IF NOT EXISTS dblink");
    return await pg.sql(
      `SELECT string_agg(x, '|') FROM dblink('dbname=${db} user=sluice port=${pg.port} host=127.0.0.1', $q$${statement}$q$) AS r(x text)`,
    );
  });
}

Deno.test({
  name:
    "openPostgresStore reads a database nobody wrote as empty and creates nothing; the UI tables are made on first use, typed, and work",
  ...opts,
  async fn() {
    const { pg, url, name } = await database();
    const store = await openPostgresStore({ url });
    try {
      assert.equal(store.kind, "postgres");
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
        psql(
          pg,
          name,
          "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
        );
      assert.equal((await tables()).trim(), "");

      await storeEvents(siemPostgresSink({ url }), siemCorpus(20));
      assert.equal((await store.alerts({ limit: 1000 })).rows.length, 20);
      await exerciseUiTables(store);
      assert.match(await tables(), /alert_triage\|alert_triage_state\|.*ui_sessions\|users/);
      const types = await psql(
        pg,
        name,
        `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(collation_name, '-')
         FROM information_schema.columns
         WHERE table_name IN ('users', 'alert_triage') AND column_name IN ('name', 'alert', 'seq', 'at')
         ORDER BY 1`,
      );
      assert.equal(
        types.trim(),
        "alert_triage.alert bigint -|alert_triage.at text C|alert_triage.seq bigint -|users.name text C",
      );
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name:
    "openPostgresStore: the SQL escape hatch runs one statement in a READ ONLY transaction; writes and DDL are refused",
  ...opts,
  async fn() {
    const { url } = await database();
    await storeEvents(siemPostgresSink({ url }), siemCorpus(10));
    const store = await openPostgresStore({ url });
    try {
      await assert.rejects(store.sql("DELETE FROM alerts"), /read-only transaction/);
      await assert.rejects(store.sql("CREATE TABLE evil (a int)"), /read-only transaction/);
      await assert.rejects(store.sql("SELECT 1; DELETE FROM alerts"), /one statement/);
      // Even after the session's default is turned off, the next statement runs READ ONLY.
      await store.sql("SET default_transaction_read_only = off").catch(() => {});
      await assert.rejects(store.sql("UPDATE alerts SET rule = 'x'"), /read-only transaction/);
      await assert.rejects(store.sql("COMMIT; DELETE FROM alerts"), /one statement/);
      const r = await store.sql(
        `SELECT count(*) AS n, max("timestamp") AS last FROM alerts WHERE to_regclass('evil') IS NULL`,
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
    "openPostgresStore reads hostile values back as stored: SQL text, quotes, NUL (stripped), invalid UTF-8, 1 MB fields",
  ...opts,
  async fn() {
    const { url } = await database();
    const dir = await Deno.makeTempDir({ prefix: "pg_store_hostile_" });
    const events = hostileAlerts();
    const counters = await storeEvents(siemPostgresSink({ url }), events, 2);
    await storeEvents(siemSqliteSink({ database: `${dir}/siem.db` }), events, 2);
    assert.equal(counters.inserted, events.length);
    assert.equal(counters.nul_stripped, 1);
    assert.equal(counters.truncated, 1);
    const store = await openPostgresStore({ url });
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
      // An indexed column is cut to 600 bytes on a character boundary (the full text is in raw).
      assert.equal(rows[4]?.rule, `long ${"é".repeat(297)}`);
      for (const k of [0, 2, 3, 5]) {
        assert.deepEqual({ ...rows[k], seq: 0 }, { ...liteRows[k], seq: 0 }, `row ${k}`);
      }
      for (const [k, r] of rows.entries()) {
        assert.equal((await store.alert(r.seq))?.raw, events[k]?.message, `raw ${k}`);
      }
      const big = await store.alert(rows[3]!.seq);
      assert.equal(big?.alert.message?.length, 1 << 20);
      const byRule = await store.alerts({ rule: "'; DROP TABLE alerts; --" });
      assert.deepEqual(byRule.rows.map((r) => r.seq), [rows[0]!.seq]);
      assert.deepEqual((await store.alerts({ text: "% _l" })).rows.map((r) => r.seq), [
        rows[5]!.seq,
      ]);
      assert.deepEqual((await store.alerts({ text: "' or 1=1" })).rows, []);
      assert.deepEqual(await store.alerts({ host: "vm-h' OR '1'='1" }), { rows: [], next: null });
    } finally {
      await store.close();
      await lite.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "openPostgresStore reads and writes again after the server restarts under it (`pg_ctl stop -m immediate`)",
  ...opts,
  async fn() {
    const { pg, url } = await database();
    await storeEvents(siemPostgresSink({ url }), siemCorpus(10));
    const store = await openPostgresStore({ url });
    try {
      assert.equal((await store.alerts()).rows.length, 10);
      assert.equal(await store.ui.countUsers(), 0);
      await pg.restart();
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
    "openStore(postgres://…) takes the password from the URL, SLUICE_DB_PASSWORD, PGPASSWORD or SLUICE_DB_PASSWORD_FILE, and never shows it in an error",
  ...opts,
  async fn() {
    const { pg } = await database();
    await pg.sql(`CREATE ROLE reader LOGIN PASSWORD 's3cret-pw'`);
    await pg.sql(`CREATE DATABASE owned OWNER reader`);
    const hba = `${pg.dir}/data/pg_hba.conf`;
    await Deno.writeTextFile(
      hba,
      `host all reader 127.0.0.1/32 scram-sha-256\n${await Deno.readTextFile(hba)}`,
    );
    await pg.sql("SELECT pg_reload_conf()");
    const url = `postgres://reader@127.0.0.1:${pg.port}/owned`;
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, "s3cret-pw\n");
      const envs: Array<Record<string, string>> = [
        { SLUICE_DB_PASSWORD: "s3cret-pw" },
        { PGPASSWORD: "s3cret-pw" },
        { SLUICE_DB_PASSWORD_FILE: file, SLUICE_DB_PASSWORD: "wrong" },
      ];
      for (const e of envs) {
        const store = await openStore(url, { env: (n) => e[n] });
        try {
          assert.deepEqual((await store.sql("SELECT current_user AS u")).rows, [{ u: "reader" }]);
        } finally {
          await store.close();
        }
      }
      const inUrl = await openStore(url.replace("reader@", "reader:s3cret-pw@"), {
        env: () => "ignored",
      });
      await inUrl.close();

      const bad = url.replace("reader@", "reader:wr0ng-pw@");
      const err = await openStore(bad, { env: () => undefined }).then(
        () => assert.fail("a wrong password was accepted"),
        (e: Error) => e,
      );
      assert.match(err.message, /reader:\*\*\*@127\.0\.0\.1/);
      assert.match(err.message, /password authentication failed/);
      assert.doesNotMatch(err.message, /wr0ng-pw/);
      const fromEnv = await openStore(url, {
        env: (n) => n === "PGPASSWORD" ? "env-pw-9" : undefined,
      })
        .then(() => assert.fail("a wrong password was accepted"), (e: Error) => e);
      assert.doesNotMatch(fromEnv.message, /env-pw-9/);
      const closed = await openStore(
        `postgres://u:hunter2@127.0.0.1:${freePort()}/x`,
      ).then(() => assert.fail("connected to a closed port"), (e: Error) => e);
      assert.match(closed.message, /postgresStore: cannot connect \(postgres:\/\/u:\*\*\*@/);
      assert.doesNotMatch(closed.message, /hunter2/);
      await assert.rejects(
        openStore("redis://u:hunter2@h/x"),
        (e: Error) =>
          e instanceof RangeError && e.message.includes("u:***@") && !e.message.includes("hunter2"),
      );
    } finally {
      await Deno.remove(file);
      await server?.stop();
      server = undefined;
    }
  },
});
