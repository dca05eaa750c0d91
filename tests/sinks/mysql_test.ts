import assert from "node:assert/strict";
import { createEvent } from "../../mod.ts";
import { mysqlSink, siemMysqlSink } from "../../sinks/mysql.ts";
import { DowngradeError } from "../../core/_state_version.ts";
import { MARIADBD, rowsAndIds, type SqlServer, startMariadb } from "../fixtures/sql_servers.ts";
import { openSink } from "../fixtures/siem_corpus.ts";
import { exitWithin, killTree, spawnGroup, waitFor } from "../_peers.ts";
import { alertBatch, blackholeProxy, centralBurst, writeWithRetry } from "./_sql_events.ts";

const CHILD = new URL("./_sql_writer_child.ts", import.meta.url).pathname;
const opts = { ignore: !MARIADBD, sanitizeResources: false, sanitizeOps: false };

let server: SqlServer | undefined;
async function maria(): Promise<SqlServer> {
  return server ??= await startMariadb();
}

Deno.test({
  name: "mysqlSink stores a 20k-alert burst once in MariaDB, typed, and a replay adds nothing",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts, heartbeats, vms, sluice_meta");
    const sink = siemMysqlSink({ url: db.url });
    const stats = await openSink(sink);
    try {
      for (let i = 0; i < 20_000; i += 5000) await sink.write(alertBatch(i, 5000));
      assert.deepEqual(await rowsAndIds(db), [20_000, 20_000]);
      // seq numbers the rows in the order stored, for the read side's cursors.
      assert.equal((await db.sql("SELECT count(DISTINCT seq) FROM alerts")).trim(), "20000");
      await sink.write(alertBatch(0, 5000));
      assert.deepEqual(await rowsAndIds(db), [20_000, 20_000]);
      assert.equal(stats.counters.inserted, 20_000);
      assert.equal(stats.counters.duplicates, 5000);
      const row = await db.sql(
        "SELECT host, severity, rule, `timestamp` FROM alerts WHERE id = 'burst:00000010'",
      );
      assert.equal(row.trim(), "vm-3\tcritical\trule_10\t2026-01-01 00:00:10.000");
      assert.equal(
        (await db.sql("SELECT value FROM sluice_meta WHERE `key` = 'schema.siem'")).trim(),
        "1",
      );
      // The heartbeats → vms trigger keeps the VM registry, as in SQLite.
      const beat = (t: string) =>
        createEvent(JSON.stringify({ timestamp: t }), {
          id: `hb:${t}`,
          host: "vm-9",
          fields: { category: "heartbeat", json: { timestamp: t, interval_s: 60 } },
        });
      await sink.write([beat("2026-01-01T00:00:00.000Z"), beat("2026-01-01T00:01:00.000Z")]);
      assert.equal(
        (await db.sql("SELECT first_seen, last_seen, heartbeats FROM vms WHERE host = 'vm-9'"))
          .trim(),
        "2026-01-01T00:00:00.000Z\t2026-01-01T00:01:00.000Z\t2",
      );
    } finally {
      await sink.close();
    }
  },
});

Deno.test({
  name: "mysqlSink keeps every row and no duplicate across a SIGKILL of mariadbd mid-burst",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts");
    const sink = siemMysqlSink({ url: db.url, connectTimeoutMs: 3000 });
    await openSink(sink);
    try {
      let retries = 0;
      const writer = (async () => {
        for (let i = 0; i < 20_000; i += 500) {
          retries += await writeWithRetry(sink, alertBatch(i, 500), 120_000);
        }
      })();
      await waitFor(
        "the first alerts in MariaDB",
        async () => (await rowsAndIds(db))[0] > 2000,
        60_000,
      );
      await db.restart();
      await writer;
      assert.deepEqual(await rowsAndIds(db), [20_000, 20_000]);
      console.log(`  ${retries} batch retries across the restart`);
    } finally {
      await sink.close();
    }
  },
});

Deno.test({
  name:
    "mysqlSink: a writer killed with SIGKILL mid-burst and replayed, beside a second writer, stores every alert once",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts");
    const child = spawnGroup(Deno.execPath(), {
      args: ["run", "-A", CHILD, db.url, "0", "20000"],
    });
    try {
      await waitFor("the child's first alerts", async () => {
        const n = await rowsAndIds(db).catch(() => [0, 0]);
        return (n[0] as number) >= 3000;
      }, 60_000);
    } finally {
      killTree(child);
      await exitWithin(child, 10_000, "the killed writer");
    }
    const [partial] = await rowsAndIds(db);
    assert.ok(partial < 20_000, `killed too late: ${partial}`);
    const again = spawnGroup(Deno.execPath(), { args: ["run", "-A", CHILD, db.url, "0", "20000"] });
    const other = spawnGroup(Deno.execPath(), {
      args: ["run", "-A", CHILD, db.url, "10000", "20000"],
    });
    const [s1, s2] = await Promise.all([
      exitWithin(again, 180_000, "the replaying writer"),
      exitWithin(other, 180_000, "the second writer"),
    ]);
    assert.equal(s1.code, 0);
    assert.equal(s2.code, 0);
    assert.deepEqual(await rowsAndIds(db), [20_000, 20_000]);
  },
});

Deno.test({
  name:
    "mysqlSink stores hostile values (SQL text, NUL, 4-byte UTF-8, 1 MB fields) and dead-letters a bad row without losing its batch",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts, events, sluice_dead_letter");
    const sink = siemMysqlSink({ url: db.url });
    const stats = await openSink(sink);
    const big = "A".repeat(1 << 20);
    const hostile = [
      { rule: "x'); DROP TABLE alerts; --", msg: "tab\there\nnewline \\ backslash" },
      { rule: "nul\u0000inside", msg: "emoji \u{1F600} and lone \ud800" },
      { rule: big, msg: big },
    ];
    try {
      await sink.write([
        ...alertBatch(0, 10),
        ...hostile.map((json, k) =>
          createEvent(`raw ${k}`, { id: `hostile:${k}`, fields: { category: "alerts", json } })
        ),
        createEvent("not a category", { id: "bad:0", fields: { category: "nope" } }),
      ]);
      assert.deepEqual(await rowsAndIds(db), [13, 13]);
      assert.equal(stats.counters.nul_stripped, 1);
      assert.equal(stats.counters.truncated, 1);
      assert.equal(stats.counters.dead_lettered, 1);
      assert.equal(
        (await db.sql("SELECT rule FROM alerts WHERE id = 'hostile:0'")).trim(),
        "x'); DROP TABLE alerts; --",
      );
      assert.equal(
        (await db.sql(
          "SELECT char_length(message), char_length(rule) FROM alerts WHERE id = 'hostile:2'",
        )).trim(),
        `${1 << 20}\t191`,
      );
      // Compared as hex: the mariadb client prints a 4-byte character as "?".
      const hex = [...new TextEncoder().encode("emoji \u{1F600} and lone \ufffd")]
        .map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
      assert.equal(
        (await db.sql("SELECT hex(message) FROM alerts WHERE id = 'hostile:1'")).trim(),
        hex,
      );
    } finally {
      await sink.close();
    }
    const typed = mysqlSink({
      url: db.url,
      schema: {
        tables: {
          events: {
            columns: { n: "INTEGER", m: "TEXT" },
            values: { n: (e) => e.fields.n, m: "${MSG}" },
          },
        },
      },
    });
    const st = await openSink(typed);
    try {
      await typed.write([
        createEvent("one", { id: "t:1", fields: { n: 1 } }),
        createEvent("two", { id: "t:2", fields: { n: "not a number" } }),
        createEvent("three", { id: "t:3", fields: { n: 3 } }),
      ]);
      assert.equal(
        (await db.sql("SELECT group_concat(m ORDER BY id) FROM events")).trim(),
        "one,three",
      );
      assert.equal(st.counters.dead_lettered, 1);
      assert.equal(st.counters.row_fallbacks, 1);
    } finally {
      await typed.close();
    }
  },
});

Deno.test({
  name: "mysqlSink never shows the URL's password in its errors",
  ...opts,
  async fn() {
    const sink = mysqlSink({
      url: "mysql://sluice:s3cretpw@127.0.0.1:1/none",
      schema: { tables: { t: { columns: { a: "TEXT" }, values: { a: "${MSG}" } } } },
      connectTimeoutMs: 2000,
    });
    const err = await openSink(sink).then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.doesNotMatch(err.message, /s3cretpw/);
    assert.match(err.message, /sluice:\*\*\*@127\.0\.0\.1:1/);
  },
});

Deno.test({
  name:
    "the central example with --db mysql:// stores a 20k-alert burst once in MariaDB across a kill -9 of the central",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts");
    const stored = async () => (await rowsAndIds(db).catch(() => [0, 0]))[1] as number;
    const total = await centralBurst(db.url, stored, { killAt: 4000 });
    assert.deepEqual(await rowsAndIds(db), [total, total]);
  },
});

Deno.test({
  name:
    "mysqlSink: a server that stops answering (half-open path) fails the write at its deadline, and the retry stores the batch once",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts");
    const proxy = blackholeProxy(db.port);
    const sink = siemMysqlSink({
      url: db.url.replace(`:${db.port}/`, `:${proxy.port}/`),
      writeTimeoutMs: 1500,
    });
    await openSink(sink);
    try {
      await sink.write(alertBatch(0, 100));
      proxy.blackhole = true;
      const err = await sink.write(alertBatch(100, 100)).then(() => null, (e: Error) => e);
      assert.match(String(err), /no answer within 1500 ms/);
      proxy.blackhole = false;
      await writeWithRetry(sink, alertBatch(100, 100), 30_000);
      assert.deepEqual(await rowsAndIds(db), [200, 200]);
    } finally {
      await sink.close();
      proxy.close();
    }
  },
});

Deno.test({
  name:
    "mysqlSink refuses a database written by a newer sluice, naming the downgrade, and writes nothing",
  ...opts,
  async fn() {
    const db = await maria();
    await db.sql("DROP TABLE IF EXISTS alerts, heartbeats, vms, sluice_meta, sluice_dead_letter");
    await db.sql(
      "CREATE TABLE sluice_meta (`key` VARCHAR(191) PRIMARY KEY, value TEXT NOT NULL)",
    );
    await db.sql("INSERT INTO sluice_meta VALUES ('schema.siem', '99')");
    const sink = siemMysqlSink({ url: db.url });
    const err = await openSink(sink).then(() => null, (e: Error) => e);
    await sink.close();
    assert.ok(err instanceof DowngradeError, String(err));
    assert.equal(err.found, 99);
    assert.match(
      err.message,
      /^mysqlSink: "mysql:\/\/[^"]+" was written by a newer sluice \(schema "siem" version 99, this sluice knows up to \d+\); refusing to write to it: a downgrade would lose/,
    );
    assert.equal((await db.sql("SELECT value FROM sluice_meta")).trim(), "99");
    const tables = await db.sql(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ('alerts', 'sluice_dead_letter')",
    );
    assert.equal(tables.trim(), "0");
  },
});

Deno.test({
  name: "mariadb test server stops",
  ...opts,
  async fn() {
    await server?.stop();
    server = undefined;
  },
});
