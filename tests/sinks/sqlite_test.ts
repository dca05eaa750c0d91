import assert from "node:assert/strict";
import { peer, runWithDeadline } from "../_peers.ts";
import { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  generatorSource,
  type LogEvent,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { type SqliteSink, sqliteSink, type SqliteSinkOptions } from "../../sinks/sqlite.ts";
import { manualSource } from "../fixtures/components.ts";
import { sinkConformance } from "../conformance/suites.ts";

const quiet = createLogger("silent");

function context(name = "db"): SinkContext & { stats: ComponentStats } {
  return {
    name,
    stats: new ComponentStats("sink", name, "sqlite"),
    state: memoryState(),
    log: quiet,
    signal: new AbortController().signal,
  };
}

/** Opens a sink on a fresh database file, runs `body`, closes and removes everything. */
async function withSink(
  options: Omit<SqliteSinkOptions, "database">,
  body: (sink: SqliteSink, ctx: ReturnType<typeof context>, path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/test.db`;
  const sink = sqliteSink({ database: path, ...options });
  const ctx = context();
  await sink.open(ctx);
  try {
    await body(sink, ctx, path);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function events(n: number, prefix = "src", from = 0): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = from; i < from + n; i++) {
    out.push(
      createEvent(`message ${i}`, { id: `${prefix}:${i}`, host: `vm${i % 3}`, severity: 6 }),
    );
  }
  return out;
}

function count(db: DatabaseSync, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
}

function deadLetters(db: DatabaseSync): Array<Record<string, unknown>> {
  return db.prepare("SELECT * FROM sluice_dead_letter ORDER BY rowid").all() as Array<
    Record<string, unknown>
  >;
}

Deno.test("sqliteSink() stores a batch in the generic events table", async () => {
  await withSink({}, async (sink, ctx) => {
    const batch = events(100);
    batch[0]!.fields = { json: { rule: "R1" } };
    await sink.write(batch);
    assert.equal(count(sink.db, "events"), 100);
    const row = sink.db.prepare("SELECT * FROM events WHERE id = 'src:0'").get() as Record<
      string,
      unknown
    >;
    assert.equal(row.host, "vm0");
    assert.equal(row.severity, 6);
    assert.equal(row.message, "message 0");
    assert.deepEqual(JSON.parse(row.fields as string), { json: { rule: "R1" } });
    assert.equal(row.timestamp, new Date(batch[0]!.receivedAt).toISOString());
    assert.equal(ctx.stats.counters.inserted, 100);
    const mode = sink.db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    assert.equal(mode.journal_mode, "wal");
  });
});

Deno.test("sqliteSink() stores a replayed event once", async () => {
  await withSink({}, async (sink, ctx) => {
    await sink.write(events(50));
    await sink.write(events(50)); // the same ids again, as after a crash and replay
    await sink.write(events(10, "src", 45)); // overlapping range
    assert.equal(count(sink.db, "events"), 55);
    assert.equal(ctx.stats.counters.inserted, 55);
    assert.equal(ctx.stats.counters.duplicates, 55);
    // Events without an id are never taken for duplicates.
    await sink.write([createEvent("no id"), createEvent("no id")]);
    assert.equal(count(sink.db, "events"), 57);
  });
});

Deno.test("sqliteSink() writes custom columns from templates and functions", async () => {
  await withSink({
    table: "alerts",
    columns: { host: "TEXT NOT NULL", rule: "TEXT", score: "INTEGER", raw: "TEXT" },
    values: {
      host: (e) => (e.fields.json as { host?: string }).host ?? e.host,
      rule: "${json.rule}",
      score: (e) => (e.fields.json as { score?: number }).score,
      raw: "${MSG}",
    },
    indexes: ["host", ["rule", "host"]],
  }, async (sink) => {
    const a = createEvent("a", {
      id: "s:1",
      host: "relay",
      fields: { json: { host: "vm1", rule: "R", score: 7 } },
    });
    const b = createEvent("b", { id: "s:2", host: "relay", fields: { json: {} } });
    await sink.write([a, b]);
    const rows = sink.db.prepare("SELECT host, rule, score, raw FROM alerts ORDER BY id").all();
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { host: "vm1", rule: "R", score: 7, raw: "a" },
      { host: "relay", rule: null, score: null, raw: "b" }, // "" is stored as NULL by default
    ]);
    const indexes = (sink.db.prepare("PRAGMA index_list(alerts)").all() as Array<{ name: string }>)
      .map((r) => r.name).sort();
    assert.deepEqual(indexes, ["alerts_host", "alerts_id", "alerts_rule_host"]);
  });
});

Deno.test("sqliteSink() stores SQL-looking values as data", async () => {
  const hostile = [
    `'); DROP TABLE events; --`,
    `" OR 1=1; --`,
    `Robert'); DELETE FROM sluice_dead_letter;--`,
    "\0nul\u0001",
  ];
  await withSink({ table: "${json.t:-events}" }, async (sink, ctx) => {
    const batch = hostile.map((text, i) =>
      createEvent(text, { id: `h:${i}`, host: text, program: text })
    );
    // A table name that is SQL is refused, not run.
    batch.push(
      createEvent("x", { id: "h:9", fields: { json: { t: "events; DROP TABLE events" } } }),
    );
    await sink.write(batch);
    // hex(): node:sqlite stores text with a NUL intact but reads it back cut at the NUL.
    const rows = sink.db.prepare("SELECT hex(message) AS m, hex(host) AS h FROM events ORDER BY id")
      .all() as Array<{ m: string; h: string }>;
    const hex = (t: string) =>
      [...new TextEncoder().encode(t)].map((b) => b.toString(16).padStart(2, "0")).join("")
        .toUpperCase();
    assert.deepEqual(rows.map((r) => r.m), hostile.map(hex));
    assert.deepEqual(rows.map((r) => r.h), hostile.map(hex));
    assert.equal(count(sink.db, "sluice_dead_letter"), 1);
    const dead = deadLetters(sink.db);
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.error as string, /not a valid identifier/);
    assert.equal(ctx.stats.counters.dead_lettered, 1);
  });
});

Deno.test("sqliteSink() routes by a table template into several tables", async () => {
  await withSink({
    table: "${json.kind}_events",
    columns: { message: "TEXT" },
    values: { message: "${MSG}" },
  }, async (sink, ctx) => {
    const mk = (kind: string, i: number) =>
      createEvent(`${kind} ${i}`, { id: `k:${i}`, fields: { json: { kind } } });
    await sink.write([mk("auth", 1), mk("fw", 2), mk("auth", 3), mk("", 4), mk("a b", 5)]);
    assert.equal(count(sink.db, "auth_events"), 2);
    assert.equal(count(sink.db, "fw_events"), 1);
    assert.equal(count(sink.db, "_events"), 1); // an empty kind still makes a valid name
    const dead = deadLetters(sink.db);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.table_name, "a b_events");
    assert.equal(dead[0]!.event_id, "k:5");
    assert.equal(JSON.parse(dead[0]!.event as string).MESSAGE, "a b 5");
    assert.equal(ctx.stats.counters.inserted, 4);
  });
});

Deno.test("sqliteSink() dead-letters a row of the wrong type and stores the others", async () => {
  await withSink({
    table: "scores",
    columns: { n: "INTEGER NOT NULL", label: "TEXT" },
    values: { n: "${json.n}", label: "${json.label}" },
  }, async (sink, ctx) => {
    const mk = (i: number, n: unknown) =>
      createEvent(`row ${i}`, { id: `r:${i}`, fields: { json: { n, label: `l${i}` } } });
    const batch = [mk(0, 1), mk(1, "high"), mk(2, "42"), mk(3, undefined), mk(4, 5)];
    await sink.write(batch);
    const rows = sink.db.prepare("SELECT id, n FROM scores ORDER BY id").all() as Array<
      { id: string; n: number }
    >;
    assert.deepEqual(rows.map((r) => [r.id, r.n]), [["r:0", 1], ["r:2", 42], ["r:4", 5]]);
    const dead = deadLetters(sink.db);
    assert.deepEqual(dead.map((d) => d.event_id), ["r:1", "r:3"]);
    assert.match(dead[0]!.error as string, /cannot store TEXT value in INTEGER column/);
    assert.match(dead[1]!.error as string, /NOT NULL/);
    assert.equal(ctx.stats.counters.dead_lettered, 2);
    assert.equal(ctx.stats.errors, 2);
    // A replay dead-letters nothing twice and stores nothing twice.
    await sink.write(batch);
    assert.equal(deadLetters(sink.db).length, 2);
    assert.equal(count(sink.db, "scores"), 3);
  });
});

Deno.test("sqliteSink() dead-letters a row whose value function throws", async () => {
  await withSink({
    table: "t",
    columns: { v: "TEXT" },
    values: {
      v: (e) => {
        if (e.message === "bad") throw new Error("boom");
        return e.message;
      },
    },
  }, async (sink) => {
    await sink.write([createEvent("ok"), createEvent("bad"), createEvent("fine")]);
    assert.equal(count(sink.db, "t"), 2);
    assert.equal(deadLetters(sink.db)[0]!.error, "boom");
  });
});

Deno.test("sqliteSink() adds the columns an existing table lacks, once, keeping its rows, fixed or templated", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/old.db`;
  try {
    const old = new DatabaseSync(path);
    old.exec("CREATE TABLE alerts (id TEXT, host TEXT); INSERT INTO alerts VALUES ('0', 'vm0')");
    old.exec("CREATE TABLE alerts2 (id TEXT, host TEXT); INSERT INTO alerts2 VALUES ('0', 'vm0')");
    old.close();
    const options: SqliteSinkOptions = {
      database: path,
      table: "alerts",
      columns: { host: "TEXT", rule: "TEXT", n: "INTEGER NOT NULL" },
      values: { host: "${HOST}", rule: "${json.rule}", n: () => 1 },
    };
    const sink = sqliteSink(options);
    await sink.open(context());
    try {
      await sink.write([
        createEvent("a", { id: "1", host: "vm1", fields: { json: { rule: "r" } } }),
      ]);
      assert.deepEqual(
        sink.db.prepare("SELECT id, host, rule, n FROM alerts ORDER BY id").all().map((r) => ({
          ...r,
        })),
        [{ id: "0", host: "vm0", rule: null, n: 0 }, { id: "1", host: "vm1", rule: "r", n: 1 }],
      );
    } finally {
      await sink.close();
    }
    // The same columns reached through a template: added in the batch's transaction.
    const routed = sqliteSink({ ...options, table: "${json.t}" });
    await routed.open(context());
    try {
      await routed.write([createEvent("b", { id: "2", fields: { json: { t: "alerts2" } } })]);
      assert.equal(count(routed.db, "alerts2"), 2);
      assert.deepEqual(deadLetters(routed.db), []);
      const columns = (routed.db.prepare("PRAGMA table_info(alerts2)").all() as Array<
        { name: string }
      >).map((c) => c.name);
      assert.deepEqual(columns, ["id", "host", "rule", "n"]);
      const migrations = routed.db.prepare(
        "SELECT key FROM sluice_meta WHERE key LIKE 'migration.%' ORDER BY key",
      ).all().map((r) => r.key);
      assert.deepEqual(migrations, [
        "migration.added column alerts.n INTEGER NOT NULL DEFAULT 0",
        "migration.added column alerts.rule TEXT",
        "migration.added column alerts2.n INTEGER NOT NULL DEFAULT 0",
        "migration.added column alerts2.rule TEXT",
      ]);
    } finally {
      await routed.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqliteSink() dead-letters rows for a table whose rows break its new UNIQUE index", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/dup.db`;
  try {
    const old = new DatabaseSync(path);
    old.exec(
      "CREATE TABLE legacy (id TEXT, v TEXT); INSERT INTO legacy VALUES ('1', 'a'), ('1', 'b')",
    );
    old.close();
    const sink = sqliteSink({
      database: path,
      table: "${json.t}",
      columns: { v: "TEXT" },
      values: { v: "${MSG}" },
    });
    await sink.open(context());
    try {
      await sink.write([
        createEvent("x", { id: "9", fields: { json: { t: "legacy" } } }),
        createEvent("y", { id: "10", fields: { json: { t: "legacy" } } }),
        createEvent("z", { id: "11", fields: { json: { t: "fresh" } } }),
      ]);
      assert.equal(count(sink.db, "fresh"), 1);
      assert.equal(count(sink.db, "legacy"), 2);
      const dead = deadLetters(sink.db);
      assert.equal(dead.length, 2);
      assert.match(
        dead[0]!.error as string,
        /table "legacy" cannot take rows: .*UNIQUE constraint failed/,
      );
    } finally {
      await sink.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqliteSink() rolls back and throws when a batch cannot commit, then stores it on retry", async () => {
  await withSink(
    { table: "t", columns: { pad: "TEXT" }, values: { pad: "${MSG}" } },
    async (sink) => {
      await sink.write(events(10, "a"));
      const pages =
        (sink.db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count;
      // A database that cannot grow fails like a full disk (SQLITE_FULL).
      sink.db.exec(`PRAGMA max_page_count = ${pages}`);
      const big = events(200, "b").map((e) => ({ ...e, message: "x".repeat(2000) }));
      await assert.rejects(
        sink.write(big),
        /sqliteSink: writing to .* failed: database or disk is full/,
      );
      assert.equal(count(sink.db, "t"), 10); // nothing of the failed batch stays
      assert.equal(sink.db.isTransaction, false);
      sink.db.exec("PRAGMA max_page_count = 1073741823");
      await sink.write(big);
      assert.equal(count(sink.db, "t"), 210);
    },
  );
});

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

Deno.test("sqliteSink() rejects bad options with a message naming them", () => {
  const base = { database: ":memory:" };
  assert.throws(
    () => sqliteSink({ ...base, columns: { a: "VARCHAR(10)" }, values: { a: "x" } }),
    /column "a" has type "VARCHAR\(10\)"/,
  );
  assert.throws(
    () => sqliteSink({ ...base, columns: { a: "TEXT" } }),
    /column "a" has no entry in "values"/,
  );
  assert.throws(
    () => sqliteSink({ ...base, columns: { "a-b": "TEXT" }, values: { "a-b": "x" } }),
    /"columns.a-b" must be an identifier/,
  );
  assert.throws(() => sqliteSink({ ...base, table: "bad name" }), /"table" must be an identifier/);
  assert.throws(
    () => sqliteSink({ ...base, columns: { a: "TEXT" }, values: { a: "x", b: "y" } }),
    /names column "b"/,
  );
  assert.throws(() => sqliteSink({ ...base, indexes: ["nope"] }), /index on "nope"/);
  assert.throws(() => sqliteSink({ ...base, maxBatch: 0 }), RangeError);
  assert.throws(() => sqliteSink({ ...base, values: { a: "x" } }), /"values" needs "columns"/);
  assert.throws(() => sqliteSink({ database: "" }), /"database"/);
});

Deno.test("sqliteSink() accepts loose types when not strict and stores them by affinity", async () => {
  await withSink({
    strict: false,
    table: "loose",
    columns: { n: "NUMERIC" },
    values: { n: "${MSG}" },
  }, async (sink) => {
    await sink.write([createEvent("12"), createEvent("high")]);
    const rows = sink.db.prepare("SELECT n FROM loose ORDER BY rowid").all() as Array<
      { n: unknown }
    >;
    assert.deepEqual(rows.map((r) => r.n), [12, "high"]);
  });
});

sinkConformance("sqlite", async () => {
  const dir = await Deno.makeTempDir();
  return {
    sink: sqliteSink({ database: `${dir}/c.db` }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("sqliteSink creates a database with 16 KiB pages, leaves an existing file's page size, and refuses a bad one", async () => {
  const dir = await Deno.makeTempDir();
  const pageSize = (file: string) => {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      return Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
    } finally {
      db.close();
    }
  };
  try {
    const fresh = sqliteSink({ database: `${dir}/new.db`, checkpoint: "inline" });
    await fresh.open(context());
    await fresh.write(events(10));
    await fresh.close();
    assert.equal(pageSize(`${dir}/new.db`), 16_384);
    const old = new DatabaseSync(`${dir}/old.db`);
    old.exec("PRAGMA page_size = 4096; CREATE TABLE t (x)");
    old.close();
    const existing = sqliteSink({ database: `${dir}/old.db` });
    await existing.open(context());
    await existing.write(events(10));
    await existing.close();
    assert.equal(pageSize(`${dir}/old.db`), 4096);
    assert.throws(
      () => sqliteSink({ database: "x.db", pageSize: 3000 }),
      /"pageSize" must be a power of two/,
    );
    assert.throws(() => sqliteSink({ database: "x.db", pageSize: 131_072 }), /"pageSize"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqliteSink with checkpoint 'inline' lets SQLite checkpoint its WAL at walCheckpointMb, counted in pages of the file's own size, and flushes the WAL in the background with synchronous NORMAL", async () => {
  const dir = await Deno.makeTempDir();
  const autocheckpoint = (sink: SqliteSink) =>
    Number(
      (sink.db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
        .wal_autocheckpoint,
    );
  try {
    // 8 MiB of 16 KiB pages by default.
    const fresh = sqliteSink({ database: `${dir}/new.db`, checkpoint: "inline" });
    const ctx = context();
    await fresh.open(ctx);
    assert.equal(autocheckpoint(fresh), 512);
    for (let b = 0; b < 5; b++) await fresh.write(events(200, "b", b * 200));
    // Close waits for a flush in flight and closes the WAL's handle (the test's sanitizer checks).
    await fresh.close();
    assert.ok((ctx.stats.counters.wal_flushes ?? 0) >= 1, JSON.stringify(ctx.stats.counters));
    // An existing file keeps 4 KiB pages: 2 MiB is 512 of them.
    const old = new DatabaseSync(`${dir}/old.db`);
    old.exec("PRAGMA page_size = 4096; CREATE TABLE t (x)");
    old.close();
    const existing = sqliteSink({
      database: `${dir}/old.db`,
      walCheckpointMb: 2,
      checkpoint: "inline",
    });
    await existing.open(context());
    assert.equal(autocheckpoint(existing), 512);
    await existing.close();
    // Without WAL there is nothing to flush.
    const rollback = sqliteSink({ database: `${dir}/rollback.db`, journalMode: "DELETE" });
    const rctx = context();
    await rollback.open(rctx);
    await rollback.write(events(10));
    await rollback.close();
    assert.equal(rctx.stats.counters.wal_flushes, undefined);
    // FULL syncs every commit itself; OFF asked for no syncs.
    for (const synchronous of ["FULL", "OFF"] as const) {
      const own = sqliteSink({ database: `${dir}/${synchronous}.db`, synchronous });
      const octx = context();
      await own.open(octx);
      await own.write(events(10));
      await own.close();
      assert.equal(octx.stats.counters.wal_flushes, undefined, synchronous);
    }
    assert.throws(() => sqliteSink({ database: "x.db", walCheckpointMb: 0 }), /"walCheckpointMb"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqliteSink checkpoints its WAL on a thread of its own by default, keeps the WAL bounded during a long burst, and loses nothing", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/burst.db`;
  try {
    // 256 KiB chunks (16 pages of 16 KiB): a background checkpoint every few commits, and the
    // writer's own catch-up (so the WAL starts over) once the WAL holds 2 MiB.
    const sink = sqliteSink({ database: path, walCheckpointMb: 0.25 });
    const ctx = context();
    await sink.open(ctx);
    assert.equal(
      (sink.db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
        .wal_autocheckpoint,
      0,
      "SQLite no longer checkpoints in the commits",
    );
    const body = "x".repeat(1000);
    let written = 0;
    let largestWal = 0;
    for (let b = 0; b < 60; b++) {
      const batch = events(250, "burst", b * 250);
      for (const e of batch) e.message += body;
      written += 250 * 1000;
      await sink.write(batch);
      largestWal = Math.max(largestWal, (await Deno.stat(`${path}-wal`)).size);
    }
    await sink.close();
    const c = ctx.stats.counters;
    assert.ok((c.checkpoints ?? 0) >= 1, `background checkpoints ran: ${JSON.stringify(c)}`);
    assert.ok((c.checkpoints_inline ?? 0) >= 1, `the writer caught up: ${JSON.stringify(c)}`);
    assert.equal(c.inserted, 15_000);
    // 15 MB went through the WAL; the file was started over instead of growing with it.
    assert.ok(largestWal < written / 2, `largest WAL ${largestWal} of ${written} bytes written`);
    // At most the cap (2 MiB) and one transaction past it, however slow the checkpoint thread:
    // at the cap the writer waits for a checkpoint in flight, then catches up.
    assert.ok(largestWal < 4 * 1024 * 1024, `largest WAL ${largestWal} bytes`);
    // The last connection closed checkpointed everything and removed the WAL.
    await assert.rejects(Deno.stat(`${path}-wal`), Deno.errors.NotFound);
    const db = new DatabaseSync(path);
    try {
      assert.equal(count(db, "events"), 15_000);
      assert.equal(
        (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string })
          .integrity_check,
        "ok",
      );
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqliteSink checks its checkpoint option, and checkpoints in the commits where a thread would not help", async () => {
  assert.throws(
    () => sqliteSink({ database: "x.db", checkpoint: "later" as "inline" }),
    /"checkpoint" must be "background" or "inline", got "later"/,
  );
  const dir = await Deno.makeTempDir();
  try {
    // OFF never waits for the disk; a rollback journal has no WAL; :memory: has no file.
    for (
      const options of [
        { database: `${dir}/off.db`, synchronous: "OFF" as const },
        { database: `${dir}/delete.db`, journalMode: "DELETE" as const },
        { database: ":memory:" },
      ]
    ) {
      const sink = sqliteSink({ ...options, walCheckpointMb: 0.0625 });
      const ctx = context();
      await sink.open(ctx);
      for (let b = 0; b < 5; b++) await sink.write(events(200, "b", b * 200));
      await sink.close();
      assert.equal(ctx.stats.counters.checkpoints, undefined, options.database);
      assert.equal(ctx.stats.counters.inserted, 1000, options.database);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
