import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createEvent } from "../../mod.ts";
import { sqliteSink, type SqliteSinkOptions } from "../../sinks/sqlite.ts";
import { context, count, deadLetters, events, withSink } from "./_sqlite_sink_helpers.ts";

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
