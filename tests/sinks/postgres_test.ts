import assert from "node:assert/strict";
import { createEvent, type Sink } from "../../mod.ts";
import { postgresSink, siemPostgresSink } from "../../sinks/postgres.ts";
import { DowngradeError } from "../../core/_state_version.ts";
import {
  POSTGRES_BIN,
  rowsAndIds,
  type SqlServer,
  startPostgres,
} from "../fixtures/sql_servers.ts";
import { openSink } from "../fixtures/siem_corpus.ts";
import { exitWithin, killTree, spawnGroup, waitFor } from "../_peers.ts";
import { alertBatch, blackholeProxy, centralBurst, writeWithRetry } from "./_sql_events.ts";

const CHILD = new URL("./_sql_writer_child.ts", import.meta.url).pathname;
const opts = { ignore: !POSTGRES_BIN, sanitizeResources: false, sanitizeOps: false };

let server: SqlServer | undefined;
async function pgServer(): Promise<SqlServer> {
  return server ??= await startPostgres();
}

Deno.test({
  name:
    "postgresSink stores a 20k-alert burst once, typed, with its indexes and version, and a replay adds nothing",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts, heartbeats, vms, sluice_meta CASCADE");
    const sink = siemPostgresSink({ url: pg.url });
    const stats = await openSink(sink);
    try {
      for (let i = 0; i < 20_000; i += 5000) await sink.write(alertBatch(i, 5000));
      assert.deepEqual(await rowsAndIds(pg), [20_000, 20_000]);
      // seq numbers the rows in the order stored, for the read side's cursors.
      assert.equal((await pg.sql("SELECT count(DISTINCT seq) FROM alerts")).trim(), "20000");
      await sink.write(alertBatch(0, 5000));
      assert.deepEqual(await rowsAndIds(pg), [20_000, 20_000]);
      assert.equal(stats.counters.inserted, 20_000);
      assert.equal(stats.counters.duplicates, 5000);
      // The replay's direct COPY was refused on its first stored id and redone through staging.
      assert.equal(stats.counters.direct_refused, 1);
      const types = await pg.sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'alerts' AND column_name IN ('timestamp', 'id') ORDER BY 1",
      );
      assert.equal(types.trim(), "id\ttext\ntimestamp\ttimestamp with time zone");
      const indexes = Number(
        (await pg.sql("SELECT count(*) FROM pg_indexes WHERE tablename = 'alerts'")).trim(),
      );
      assert.equal(indexes, 6); // seq (primary key), id, and the spec's four
      assert.equal(
        (await pg.sql("SELECT value FROM sluice_meta WHERE key = 'schema.siem'")).trim(),
        "1",
      );
      const first = await pg.sql(
        "SELECT host, severity, rule, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM alerts WHERE id = 'burst:00000010'",
      );
      assert.equal(first.trim(), "vm-3\tcritical\trule_10\t2026-01-01 00:00:10");
      // The heartbeats → vms trigger keeps the VM registry, as in SQLite.
      const beat = (t: string) =>
        createEvent(JSON.stringify({ timestamp: t }), {
          id: `hb:${t}`,
          host: "vm-9",
          fields: { category: "heartbeat", json: { timestamp: t, interval_s: 60 } },
        });
      await sink.write([beat("2026-01-01T00:00:00.000Z"), beat("2026-01-01T00:01:00.000Z")]);
      assert.equal(
        (await pg.sql("SELECT first_seen, last_seen, heartbeats FROM vms WHERE host = 'vm-9'"))
          .trim(),
        "2026-01-01T00:00:00.000Z\t2026-01-01T00:01:00.000Z\t2",
      );
    } finally {
      await sink.close();
    }
  },
});

Deno.test({
  name:
    "postgresSink keeps every row and no duplicate across `pg_ctl restart -m immediate` mid-burst",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts CASCADE");
    const sink = siemPostgresSink({ url: pg.url, connectTimeoutS: 5 });
    await openSink(sink);
    try {
      let retries = 0;
      const writer = (async () => {
        for (let i = 0; i < 20_000; i += 500) {
          retries += await writeWithRetry(sink, alertBatch(i, 500), 90_000);
        }
      })();
      await waitFor(
        "the first alerts in Postgres",
        async () => (await rowsAndIds(pg))[0] > 2000,
        60_000,
      );
      await pg.restart();
      await writer;
      assert.deepEqual(await rowsAndIds(pg), [20_000, 20_000]);
      console.log(`  ${retries} batch retries across the restart`);
    } finally {
      await sink.close();
    }
  },
});

Deno.test({
  name:
    "postgresSink: a writer killed with SIGKILL mid-burst and replayed from the start stores every alert once",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts CASCADE");
    const child = spawnGroup(Deno.execPath(), {
      args: ["run", "-A", CHILD, pg.url, "0", "20000"],
      stdout: "null",
    });
    try {
      await waitFor("the child's first alerts", async () => {
        const n = await rowsAndIds(pg).catch(() => [0, 0]);
        return (n[0] as number) >= 3000;
      }, 60_000);
    } finally {
      killTree(child);
      await exitWithin(child, 10_000, "the killed writer");
    }
    const [partial] = await rowsAndIds(pg);
    assert.ok(partial < 20_000, `killed too late: ${partial}`);
    const again = spawnGroup(Deno.execPath(), { args: ["run", "-A", CHILD, pg.url, "0", "20000"] });
    const status = await exitWithin(again, 120_000, "the replaying writer");
    assert.equal(status.code, 0);
    assert.deepEqual(await rowsAndIds(pg), [20_000, 20_000]);
  },
});

Deno.test({
  name:
    "postgresSink: two writers storing overlapping batches into one database store every event once",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts CASCADE");
    const a = siemPostgresSink({ url: pg.url });
    const b = siemPostgresSink({ url: pg.url });
    const [sa, sb] = await Promise.all([openSink(a), openSink(b)]);
    try {
      const run = async (sink: Sink, from: number) => {
        for (let i = from; i < from + 12_000; i += 1000) {
          await writeWithRetry(sink, alertBatch(i, 1000), 60_000);
        }
      };
      await Promise.all([run(a, 0), run(b, 8000)]);
      assert.deepEqual(await rowsAndIds(pg), [20_000, 20_000]);
      assert.equal((sa.counters.inserted ?? 0) + (sb.counters.inserted ?? 0), 20_000);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
});

Deno.test({
  name:
    "postgresSink stores hostile values (SQL text, NUL, lone surrogates, 1 MB fields) and dead-letters a bad row without losing its batch",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts, events, sluice_dead_letter CASCADE");
    const sink = siemPostgresSink({ url: pg.url });
    const stats = await openSink(sink);
    const big = "A".repeat(1 << 20);
    const hostile = [
      { rule: "x'); DROP TABLE alerts; --", msg: "tab\there\nnewline \\ backslash" },
      { rule: "nul\u0000inside", msg: "nul \u0000 in message" },
      { rule: "lone \ud800 surrogate", msg: "\udfff" },
      { rule: big, msg: big },
    ];
    const batch = [
      ...alertBatch(0, 10),
      ...hostile.map((json, k) =>
        createEvent(`raw ${k} ${json.msg}`, {
          id: `hostile:${k}`,
          fields: { category: "alerts", json },
        })
      ),
      createEvent("not a category", { id: "bad:0", fields: { category: "nope" } }),
    ];
    try {
      await sink.write(batch);
      assert.deepEqual(await rowsAndIds(pg), [14, 14]);
      assert.equal(stats.counters.nul_stripped, 3); // rule, message and raw
      assert.equal(stats.counters.truncated, 1);
      assert.equal(stats.counters.dead_lettered, 1);
      const drop = await pg.sql("SELECT rule FROM alerts WHERE id = 'hostile:0'");
      assert.equal(drop.trim(), "x'); DROP TABLE alerts; --");
      const sizes = await pg.sql(
        "SELECT length(message), length(raw), length(rule) FROM alerts WHERE id = 'hostile:3'",
      );
      const [msg, raw, rule] = sizes.trim().split("\t").map(Number);
      assert.equal(msg, 1 << 20);
      assert.equal(raw, (1 << 20) + 6);
      assert.ok((rule as number) <= 600);
      assert.equal(
        (await pg.sql("SELECT rule FROM alerts WHERE id = 'hostile:2'")).trim(),
        "lone \ufffd surrogate",
      );
    } finally {
      await sink.close();
    }
    // A type the server refuses: the bad row is dead-lettered, the good rows of its batch stored.
    const typed = postgresSink({
      url: pg.url,
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
        (await pg.sql("SELECT string_agg(m, ',' ORDER BY id) FROM events")).trim(),
        "one,three",
      );
      assert.equal(st.counters.dead_lettered, 1);
      assert.equal(st.counters.row_fallbacks, 1);
      assert.match(
        await pg.sql("SELECT error FROM sluice_dead_letter WHERE event_id = 't:2'"),
        /bigint/,
      );
    } finally {
      await typed.close();
    }
  },
});

Deno.test({
  name: "postgresSink never shows the URL's password in its errors",
  ...opts,
  async fn() {
    const sink = postgresSink({
      url: `postgres://sluice:s3cretpw@127.0.0.1:1/none`,
      schema: { tables: { t: { columns: { a: "TEXT" }, values: { a: "${MSG}" } } } },
      connectTimeoutS: 2,
    });
    const err = await openSink(sink).then(() => null, (e: Error) => e);
    assert.ok(err);
    assert.doesNotMatch(err.message, /s3cretpw/);
    assert.match(err.message, /sluice:\*\*\*@127\.0\.0\.1:1/);
  },
});

Deno.test({
  name:
    "the central example with --db postgres:// stores a 20k-alert burst once across a kill -9 of the central",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts CASCADE");
    const stored = async () => (await rowsAndIds(pg).catch(() => [0, 0]))[1] as number;
    const total = await centralBurst(pg.url, stored, { killAt: 4000 });
    assert.deepEqual(await rowsAndIds(pg), [total, total]);
  },
});

Deno.test({
  name:
    "postgresSink: a server that stops answering (half-open path) fails the write at its deadline, and the retry stores the batch once",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql("DROP TABLE IF EXISTS alerts CASCADE");
    const proxy = blackholeProxy(pg.port);
    const sink = siemPostgresSink({
      url: pg.url.replace(`:${pg.port}/`, `:${proxy.port}/`),
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
      assert.deepEqual(await rowsAndIds(pg), [200, 200]);
    } finally {
      await sink.close();
      proxy.close();
    }
  },
});

Deno.test({
  name:
    "postgresSink refuses a database written by a newer sluice, naming the downgrade, and writes nothing",
  ...opts,
  async fn() {
    const pg = await pgServer();
    await pg.sql(
      "DROP TABLE IF EXISTS alerts, heartbeats, vms, sluice_meta, sluice_dead_letter CASCADE",
    );
    await pg.sql("CREATE TABLE sluice_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    await pg.sql("INSERT INTO sluice_meta VALUES ('schema.siem', '99')");
    const sink = siemPostgresSink({ url: pg.url });
    const err = await openSink(sink).then(() => null, (e: Error) => e);
    await sink.close();
    assert.ok(err instanceof DowngradeError, String(err));
    assert.equal(err.found, 99);
    assert.match(
      err.message,
      /^postgresSink: "postgres:\/\/sluice@127\.0\.0\.1:\d+\/sluice" was written by a newer sluice \(schema "siem" version 99, this sluice knows up to \d+\); refusing to write to it: a downgrade would lose/,
    );
    assert.equal((await pg.sql("SELECT value FROM sluice_meta")).trim(), "99");
    const tables = await pg.sql(
      "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('alerts', 'sluice_dead_letter')",
    );
    assert.equal(tables.trim(), "0");
  },
});

Deno.test({
  name: "postgres test server stops",
  ...opts,
  async fn() {
    await server?.stop();
    server = undefined;
  },
});
