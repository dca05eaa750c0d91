import assert from "node:assert/strict";
import { peer, runWithDeadline } from "../_peers.ts";
import { DatabaseSync } from "node:sqlite";
import { definePipeline, Engine, generatorSource, type LogEvent } from "../../mod.ts";
import { sqliteSink } from "../../sinks/sqlite.ts";
import { manualSource } from "../fixtures/components.ts";
import { count, events, quiet, withSink } from "./_sqlite_sink_helpers.ts";

Deno.test("sqliteSink() waits while another connection holds the write lock", async () => {
  await withSink({}, async (sink, ctx, path) => {
    const other = new DatabaseSync(path);
    try {
      other.exec("BEGIN IMMEDIATE");
      other.exec("INSERT INTO events (id, timestamp, message) VALUES ('other', 'now', 'x')");
      const writing = sink.write(events(5));
      await new Promise((r) => setTimeout(r, 150));
      other.exec("COMMIT");
      await writing;
      assert.equal(count(sink.db, "events"), 6);
      assert.ok((ctx.stats.counters.busy_retries ?? 0) > 0);
    } finally {
      other.close();
    }
  });
});

Deno.test("sqliteSink() gives up on a lock after busyTimeoutMs so the engine retries", async () => {
  await withSink({ busyTimeoutMs: 50 }, async (sink, _ctx, path) => {
    const other = new DatabaseSync(path);
    try {
      other.exec("BEGIN IMMEDIATE");
      await assert.rejects(sink.write(events(5)), /database is locked/);
      other.exec("COMMIT");
      await sink.write(events(5));
      assert.equal(count(sink.db, "events"), 5);
    } finally {
      other.close();
    }
  });
});

Deno.test("sqliteSink() lets a reader query while it writes", async () => {
  await withSink({}, async (sink, _ctx, path) => {
    await sink.write(events(100, "a"));
    const reader = new DatabaseSync(path, { readOnly: true });
    try {
      reader.exec("BEGIN");
      assert.equal(count(reader, "events"), 100);
      await sink.write(events(100, "b")); // commits while the reader's snapshot is open
      assert.equal(count(reader, "events"), 100);
      reader.exec("COMMIT");
      assert.equal(count(reader, "events"), 200);
    } finally {
      reader.close();
    }
  });
});

const sqlite3 = peer("sqlite3");

Deno.test({
  name: "sqliteSink() lets the sqlite3 CLI query while it writes",
  ignore: !sqlite3,
  fn: async () => {
    await withSink({ maxTransactionMs: 5 }, async (sink, _ctx, path) => {
      await sink.write(events(10, "warm"));
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop && i < 200; i++) await sink.write(events(500, `w${i}`));
      })();
      const counts: number[] = [];
      try {
        for (let i = 0; i < 5; i++) {
          const out = await runWithDeadline(sqlite3 as string, [
            path,
            "SELECT count(*) FROM events",
          ], {
            timeoutMs: 30_000,
            what: "sqlite3 counting events",
          });
          assert.equal(out.stderr, "");
          assert.equal(out.code, 0);
          counts.push(Number(out.stdout.trim()));
        }
      } finally {
        stop = true;
        await writer;
      }
      assert.ok(counts.every((n, i) => n >= 10 && n >= (counts[i - 1] ?? 0)), counts.join());
    });
  },
});

Deno.test("sqliteSink() splits a long batch into bounded transactions", async () => {
  await withSink({ maxTransactionMs: 1 }, async (sink, ctx) => {
    await sink.write(events(20_000));
    assert.equal(count(sink.db, "events"), 20_000);
    assert.equal(ctx.stats.counters.inserted, 20_000);
  });
});

Deno.test("sqliteSink() acknowledges a batch only after it is committed", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/acks.db`;
  const source = manualSource("m");
  const sink = sqliteSink({ database: path });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: quiet,
    drainTimeoutMs: 5000,
  });
  await engine.start();
  const reader = new DatabaseSync(path, { readOnly: true });
  try {
    const seen: number[] = [];
    const acked = Promise.withResolvers<void>();
    await source.emit(events(300), () => {
      seen.push(count(reader, "events"));
      acked.resolve();
    });
    await acked.promise;
    assert.deepEqual(seen, [300]);
  } finally {
    reader.close();
    await engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqliteSink() stores a generator's stream through the engine", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = sqliteSink({
      database: `${dir}/gen.db`,
      table: "alerts",
      columns: { host: "TEXT", rule: "TEXT", seq: "INTEGER" },
      values: { host: "${json.host}", rule: "${json.rule}", seq: "${json.seq}" },
    });
    const parse = {
      kind: "json",
      parse(e: LogEvent) {
        e.fields.json = JSON.parse(e.message);
        return true;
      },
    };
    const engine = new Engine(
      definePipeline({
        paths: [{ from: [generatorSource({ count: 12_000 })], steps: [parse], to: [sink] }],
      }),
      { logger: quiet },
    );
    await engine.start();
    await engine.done;
    const check = new DatabaseSync(`${dir}/gen.db`);
    try {
      assert.equal(count(check, "alerts"), 12_000);
      const max = check.prepare("SELECT max(seq) AS m FROM alerts").get() as { m: number };
      assert.equal(max.m, 11_999);
    } finally {
      check.close();
      await engine.stop();
    }
    assert.equal(engine.stats.get("sqlite#0")?.counters.inserted, 12_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
