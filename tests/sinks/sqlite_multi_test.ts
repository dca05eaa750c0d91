// The SQLite sink stores runs of 32 rows of one table in one statement (sinks/_sqlite_multi.ts).
// These batches are long enough to take that path and put every kind of row inside it.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createEvent, type LogEvent } from "../../mod.ts";
import { MULTI_ROWS } from "../../sinks/_sqlite_multi.ts";
import { sqliteSink } from "../../sinks/sqlite.ts";
import { context, count, deadLetters, events, withSink } from "./_sqlite_sink_helpers.ts";

function scores(ids: number[], n: (i: number) => unknown, prefix = "r"): LogEvent[] {
  return ids.map((i) =>
    createEvent(`row ${i}`, { id: `${prefix}:${i}`, fields: { json: { n: n(i), label: `l${i}` } } })
  );
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

Deno.test("sqliteSink() stores long batches once each, counting duplicates inside and across batches", async () => {
  await withSink({}, async (sink, ctx) => {
    await sink.write(events(100));
    // Overlaps the first batch, and repeats ids inside itself.
    const again = [...events(40, "src", 80), ...events(40, "src", 90)];
    await sink.write(again);
    assert.equal(count(sink.db, "events"), 130);
    assert.equal(ctx.stats.counters.inserted, 130);
    assert.equal(ctx.stats.counters.duplicates, 50);
    const ids = sink.db.prepare("SELECT id FROM events ORDER BY rowid").all() as Array<
      { id: string }
    >;
    assert.deepEqual(ids.map((r) => r.id), range(0, 130).map((i) => `src:${i}`));
  });
});

Deno.test("sqliteSink() stores events without ids inside a long batch, none taken for duplicates", async () => {
  await withSink({}, async (sink, ctx) => {
    const batch = events(2 * MULTI_ROWS);
    for (const i of [3, 40]) batch[i] = createEvent("no id");
    await sink.write(batch);
    await sink.write([createEvent("no id"), ...events(MULTI_ROWS, "src", 100)]);
    assert.equal(count(sink.db, "events"), 2 * MULTI_ROWS + 1 + MULTI_ROWS);
    assert.equal(ctx.stats.counters.duplicates ?? 0, 0);
  });
});

Deno.test("sqliteSink() dead-letters refused rows inside a run of one table and stores the rest once", async () => {
  await withSink({
    table: "scores",
    columns: { n: "INTEGER NOT NULL", label: "TEXT" },
    values: { n: "${json.n}", label: "${json.label}" },
  }, async (sink, ctx) => {
    // NOT NULL at 5 (ignored by a multi-row OR IGNORE), a STRICT type error at 20 (stops it
    // half-way, the rows before kept), both again in the second run of 32.
    const bad = new Map<number, unknown>([[5, undefined], [20, "high"], [40, "x"], [
      41,
      undefined,
    ]]);
    const batch = scores(range(0, 100), (i) => bad.has(i) ? bad.get(i) : String(i));
    await sink.write(batch);
    assert.equal(count(sink.db, "scores"), 96);
    assert.deepEqual(deadLetters(sink.db).map((d) => d.event_id), ["r:5", "r:20", "r:40", "r:41"]);
    assert.equal(ctx.stats.counters.inserted, 96);
    assert.equal(ctx.stats.counters.dead_lettered, 4);
    assert.equal(ctx.stats.counters.duplicates ?? 0, 0);
    // A replay stores nothing twice and dead-letters nothing twice.
    await sink.write(batch);
    assert.equal(count(sink.db, "scores"), 96);
    assert.equal(deadLetters(sink.db).length, 4);
    assert.equal(ctx.stats.counters.inserted, 96);
    assert.equal(ctx.stats.counters.duplicates, 100);
    const stored = sink.db.prepare("SELECT id FROM scores ORDER BY rowid").all() as Array<
      { id: string }
    >;
    assert.deepEqual(
      stored.map((r) => r.id),
      range(0, 100).filter((i) => !bad.has(i)).map((i) => `r:${i}`),
    );
  });
});

Deno.test("sqliteSink() without ids: a refused row inside a run leaves no other row stored twice", async () => {
  await withSink({
    table: "scores",
    dedup: false,
    columns: { n: "INTEGER NOT NULL", label: "TEXT" },
    values: { n: "${json.n}", label: "${json.label}" },
  }, async (sink, ctx) => {
    const batch = scores(
      range(0, 2 * MULTI_ROWS),
      (i) => i === 10 ? "ten" : i === 50 ? undefined : i,
    );
    await sink.write(batch);
    const labels = sink.db.prepare("SELECT label FROM scores ORDER BY rowid").all() as Array<
      { label: string }
    >;
    assert.deepEqual(
      labels.map((r) => r.label),
      range(0, 2 * MULTI_ROWS).filter((i) => i !== 10 && i !== 50).map((i) => `l${i}`),
    );
    assert.equal(ctx.stats.counters.inserted, 2 * MULTI_ROWS - 2);
    assert.equal(deadLetters(sink.db).length, 2);
  });
});

Deno.test("sqliteSink() stores events without ids once when a refused row shares their run", async () => {
  await withSink({
    table: "scores",
    columns: { n: "TEXT NOT NULL", label: "TEXT" },
    values: { n: "${json.n}", label: "${json.label}" },
  }, async (sink, ctx) => {
    const batch = range(0, 2 * MULTI_ROWS).map((i) =>
      createEvent(`row ${i}`, {
        fields: { json: { n: i === 7 ? undefined : String(i), label: `l${i}` } },
      })
    );
    await sink.write(batch);
    const labels = sink.db.prepare("SELECT label FROM scores ORDER BY rowid").all() as Array<
      { label: string }
    >;
    assert.deepEqual(
      labels.map((r) => r.label),
      range(0, 2 * MULTI_ROWS).filter((i) => i !== 7).map((i) => `l${i}`),
    );
    assert.equal(ctx.stats.counters.inserted, 2 * MULTI_ROWS - 1);
    assert.equal(deadLetters(sink.db).length, 1);
  });
});

Deno.test("sqliteSink() stores a batch mixing tables once each, in each table's order", async () => {
  await withSink({
    table: "${json.kind}_events",
    columns: { n: "TEXT NOT NULL" },
    values: { n: "${json.n}" },
  }, async (sink, ctx) => {
    const kinds = ["auth", "fw", "auth", "system", "a b"];
    const batch = range(0, 200).map((i) =>
      createEvent(`row ${i}`, {
        id: `m:${i}`,
        fields: { json: { kind: kinds[i % kinds.length], n: i === 62 ? undefined : String(i) } },
      })
    );
    await sink.write([...batch, batch[10]!, batch[11]!]);
    const stored = (table: string) =>
      (sink.db.prepare(`SELECT n FROM "${table}" ORDER BY rowid`).all() as Array<{ n: string }>)
        .map((r) => Number(r.n));
    const expect = (kind: string) =>
      range(0, 200).filter((i) => kinds[i % kinds.length] === kind && i !== 62);
    assert.deepEqual(stored("auth_events"), expect("auth"));
    assert.deepEqual(stored("fw_events"), expect("fw"));
    assert.deepEqual(stored("system_events"), expect("system"));
    // 40 rows for a table whose name is refused, and the NOT NULL row (62, an auth row).
    assert.equal(deadLetters(sink.db).length, 41);
    assert.equal(ctx.stats.counters.inserted, 200 - 41);
    assert.equal(ctx.stats.counters.duplicates, 2);
  });
});

Deno.test("sqliteSink() dead-letters rows of the wrong type inside a long batch of a typed table", async () => {
  await withSink({
    table: "scores",
    columns: { n: "INTEGER NOT NULL", label: "TEXT" },
    values: { n: "${json.n}", label: "${json.label}" },
  }, async (sink, ctx) => {
    const bad = new Set([5, 20, 40]);
    const batch = scores(range(0, 100), (i) => bad.has(i) ? "high" : i);
    await sink.write(batch);
    await sink.write(batch);
    assert.equal(count(sink.db, "scores"), 97);
    assert.deepEqual(deadLetters(sink.db).map((d) => d.event_id), ["r:5", "r:20", "r:40"]);
    assert.equal(ctx.stats.counters.inserted, 97);
    assert.equal(ctx.stats.counters.duplicates, 100);
  });
});

/** An `events` table with a UNIQUE id and `schema` (more tables, a trigger) made first, and a sink on it. */
async function withTriggeredEvents(
  schema: string[],
  body: (sink: ReturnType<typeof sqliteSink>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.db`;
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE events (id TEXT, host TEXT, message TEXT)`);
    db.exec(`CREATE UNIQUE INDEX events_id ON events (id)`);
    for (const sql of schema) db.exec(sql);
    db.close();
    const sink = sqliteSink({
      database: path,
      table: "events",
      columns: { host: "TEXT", message: "TEXT" },
      values: { host: "${HOST}", message: "${MESSAGE}" },
      strict: false,
    });
    await sink.open(context());
    try {
      await body(sink);
    } finally {
      await sink.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sqliteSink() keeps a table's triggers firing once per row in long batches", async () => {
  await withTriggeredEvents([
    `CREATE TABLE seen (host TEXT PRIMARY KEY, n INTEGER NOT NULL)`,
    `CREATE TRIGGER events_seen AFTER INSERT ON events BEGIN
      INSERT INTO seen (host, n) VALUES (NEW.host, 1) ON CONFLICT (host) DO UPDATE SET n = n + 1;
    END`,
  ], async (sink) => {
    await sink.write(events(3 * MULTI_ROWS));
    await sink.write(events(3 * MULTI_ROWS));
    const seen = sink.db.prepare("SELECT host, n FROM seen ORDER BY host").all() as Array<
      { host: string; n: number }
    >;
    assert.deepEqual(seen.map((r) => [r.host, r.n]), [["vm0", 32], ["vm1", 32], ["vm2", 32]]);
  });
});

Deno.test("sqliteSink() refuses a row whose table's trigger fails, in long batches as one by one", async () => {
  await withTriggeredEvents([
    `CREATE TABLE audit (host TEXT NOT NULL)`,
    `CREATE TRIGGER events_audit AFTER INSERT ON events BEGIN
      INSERT INTO audit (host) VALUES (NEW.host);
    END`,
  ], async (sink) => {
    // A row without a host fails the trigger's audit row. One row per statement refuses the
    // event (dead-lettered); an outer OR IGNORE would skip the audit row and store the event.
    const batch = events(3 * MULTI_ROWS);
    batch[40] = createEvent("no host", { id: "src:40" });
    await sink.write(batch);
    await sink.write(batch);
    assert.equal(count(sink.db, "events"), 3 * MULTI_ROWS - 1);
    assert.equal(count(sink.db, "audit"), 3 * MULTI_ROWS - 1);
    assert.deepEqual(deadLetters(sink.db).map((d) => d.event_id), ["src:40"]);
  });
});
