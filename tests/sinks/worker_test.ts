import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  AckSequencer,
  ComponentStats,
  createEvent,
  createLogger,
  type LogEvent,
  memoryState,
  SinkQueue,
} from "../../mod.ts";
import { workerSink } from "../../sinks/worker.ts";
import { sinkConformance } from "../conformance/suites.ts";

const SCHEMA = new URL("../../siem/schema.ts", import.meta.url);
const SQLITE = new URL("../../sinks/sqlite.ts", import.meta.url);

function context(lines: string[] = []) {
  const stats = new ComponentStats("sink", "db", "worker");
  const log = createLogger("info", (line) => void lines.push(line));
  return { name: "db", stats, state: memoryState(), log, signal: new AbortController().signal };
}

function alert(i: number): LogEvent {
  const json = {
    timestamp: "2026-11-23T09:48:00Z",
    host: "vm1",
    severity: "high",
    rule: "R",
    n: i,
  };
  return createEvent(JSON.stringify(json), {
    host: "vm1",
    id: `vm1:f:${i}`,
    fields: { json, category: "alerts" },
  });
}

function count(db: string, sql: string): number {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    return Number((conn.prepare(sql).get() as { n: number }).n);
  } finally {
    conn.close();
  }
}

Deno.test("workerSink runs siemSqliteSink on a worker: rows stored once, its counters and logs reach the main thread", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const ctx = context(lines);
  const sink = workerSink({
    module: SCHEMA,
    factory: "siemSqliteSink",
    options: { database: `${dir}/siem.db` },
    name: "db",
  });
  try {
    await sink.open(ctx);
    const batch = Array.from({ length: 1000 }, (_, i) => alert(i));
    await sink.write(batch);
    // A replay (the engine retrying after a crash) stores nothing twice.
    await sink.write(batch.slice(0, 10));
    await sink.close();
    assert.equal(count(`${dir}/siem.db`, "SELECT count(*) AS n FROM alerts"), 1000);
    assert.equal(ctx.stats.counters.inserted, 1000);
    assert.equal(ctx.stats.counters.duplicates, 10);
    assert.ok(lines.some((l) => l.includes("created table")), lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink: a field structured clone refuses is sent as JSON, and the row is stored", async () => {
  const dir = await Deno.makeTempDir();
  const sink = workerSink({
    module: SQLITE,
    factory: "sqliteSink",
    options: { database: `${dir}/x.db` },
  });
  try {
    await sink.open(context());
    const e = createEvent("odd", { id: "x:1", fields: { f: () => 1, n: 10n, ok: "yes" } });
    await sink.write([e]);
    await sink.close();
    const conn = new DatabaseSync(`${dir}/x.db`, { readOnly: true });
    const row = conn.prepare("SELECT message, fields FROM events").get() as Record<string, string>;
    conn.close();
    assert.equal(row.message, "odd");
    assert.deepEqual(JSON.parse(row.fields ?? ""), { n: "10", ok: "yes" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink names a factory that is not there, and an inner sink's failure, in its error", async () => {
  const missing = workerSink({ module: SCHEMA, factory: "noSuchSink" });
  await assert.rejects(missing.open(context()), /"noSuchSink" is not a function exported by/);
  const unopenable = workerSink({
    module: SQLITE,
    factory: "sqliteSink",
    options: { database: "/nonexistent/dir/x.db" },
  });
  await assert.rejects(
    unopenable.open(context()),
    /workerSink: opening sqliteSink: .*unable to open/i,
  );
  assert.throws(() => workerSink({ module: "", factory: "x" }), /"module" must be a module URL/);
});

Deno.test("workerSink: a write the inner sink refuses rejects, so the engine retries it", async () => {
  const dir = await Deno.makeTempDir();
  const sink = workerSink({
    module: SQLITE,
    factory: "sqliteSink",
    options: { database: `${dir}/x.db`, busyTimeoutMs: 0 },
  });
  try {
    await sink.open(context());
    // Another connection holds the write lock: the batch fails now and succeeds later.
    const other = new DatabaseSync(`${dir}/x.db`);
    other.exec("BEGIN IMMEDIATE");
    await assert.rejects(
      sink.write([createEvent("a", { id: "a" })]),
      /workerSink: write: .*locked/i,
    );
    other.exec("ROLLBACK");
    other.close();
    await sink.write([createEvent("a", { id: "a" })]);
    await sink.close();
    assert.equal(count(`${dir}/x.db`, "SELECT count(*) AS n FROM events"), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sinkConformance("worker", async () => {
  const dir = await Deno.makeTempDir();
  return {
    sink: workerSink({
      module: SQLITE,
      factory: "sqliteSink",
      options: { database: `${dir}/c.db` },
    }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("workerSink: two sinks on one thread write the same SQLite file at once without waiting for each other's lock", async () => {
  const dir = await Deno.makeTempDir();
  const database = `${dir}/siem.db`;
  const make = (factory: string, name: string) =>
    workerSink({
      module: factory === "vmsSink" ? new URL("../../siem/vms.ts", import.meta.url) : SCHEMA,
      factory,
      options: { database, busyTimeoutMs: 0 },
      thread: "sqlite-test",
      name,
    });
  const db = make("siemSqliteSink", "db");
  const vms = make("vmsSink", "vms");
  const dbCtx = context();
  const vmsCtx = context();
  try {
    await db.open(dbCtx);
    await vms.open(vmsCtx);
    const batches = Array.from(
      { length: 10 },
      (_, b) => Array.from({ length: 500 }, (_, i) => alert(b * 500 + i)),
    );
    // Sent together: with a busy timeout of 0 any lock wait would fail a write.
    await Promise.all(batches.flatMap((batch) => [db.write(batch), vms.write(batch)]));
    await db.close();
    await vms.close();
    assert.equal(count(database, "SELECT count(*) AS n FROM alerts"), 5000);
    assert.equal(count(database, "SELECT count(*) AS n FROM vms WHERE host = 'vm1'"), 1);
    assert.equal(dbCtx.stats.counters.inserted, 5000);
    assert.equal(dbCtx.stats.counters.busy_retries, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink: a worker that dies fails the write in flight, and the retry runs on a new worker", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const sink = workerSink({
    module: new URL("../fixtures/crash_once_sink.ts", import.meta.url),
    factory: "crashOnceSink",
    options: { marker: `${dir}/marker`, out: `${dir}/out.txt` },
  });
  try {
    await sink.open(context(lines));
    const batch = [createEvent("a"), createEvent("b")];
    await assert.rejects(sink.write(batch), /boom: the sink's thread fell over/);
    // The engine retries the same batch: it lands once, on a fresh worker.
    await sink.write(batch);
    await sink.close();
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "a\nb\n");
    assert.ok(lines.some((l) => l.includes("worker failed")), lines.join("\n"));
    assert.ok(lines.some((l) => l.includes("starting a new worker")), lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink renders sqliteSink rows on the main thread; a row SQLite refuses is dead-lettered with its values", async () => {
  const dir = await Deno.makeTempDir();
  const ctx = context();
  const sink = workerSink({
    module: SQLITE,
    factory: "sqliteSink",
    options: {
      database: `${dir}/x.db`,
      table: "counts",
      columns: { n: "INTEGER" },
      values: { n: "${MSG}" },
    },
  });
  try {
    await sink.open(ctx);
    // STRICT: "seven" is not an INTEGER; the other rows are stored.
    await sink.write([
      createEvent("7", { id: "a" }),
      createEvent("seven", { id: "b" }),
      createEvent("8", { id: "c" }),
    ]);
    await sink.close();
    assert.equal(count(`${dir}/x.db`, "SELECT count(*) AS n FROM counts"), 2);
    assert.equal(ctx.stats.counters.inserted, 2);
    assert.equal(ctx.stats.counters.dead_lettered, 1);
    const conn = new DatabaseSync(`${dir}/x.db`, { readOnly: true });
    const dead = conn.prepare("SELECT table_name, event_id, error, event FROM sluice_dead_letter")
      .get() as Record<string, string>;
    conn.close();
    assert.equal(dead.table_name, "counts");
    assert.equal(dead.event_id, "b");
    assert.match(dead.error ?? "", /INTEGER|datatype|cannot store/i);
    assert.deepEqual(JSON.parse(dead.event ?? ""), {
      table: "counts",
      values: { id: "b", n: "seven" },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink sends the next batch while the worker stores the last, and the worker writes them one after another, in order", async () => {
  const dir = await Deno.makeTempDir();
  const sink = workerSink({
    module: new URL("../fixtures/slow_log_sink.ts", import.meta.url),
    factory: "slowLogSink",
    options: { out: `${dir}/log.txt`, ms: 30 },
  });
  try {
    assert.equal(sink.concurrency, 2);
    await sink.open(context());
    // Both writes are in flight at once, as the engine's queue sends them.
    await Promise.all([sink.write([createEvent("a")]), sink.write([createEvent("b")])]);
    await sink.close();
    assert.equal(await Deno.readTextFile(`${dir}/log.txt`), "start a\nend a\nstart b\nend b\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink's queue takes a third batch while two are in flight, so the engine keeps working beside the worker", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/log.txt`;
  const sink = workerSink({
    module: new URL("../fixtures/slow_log_sink.ts", import.meta.url),
    factory: "slowLogSink",
    options: { out, ms: 300 },
    maxBatch: 10,
  });
  // The engine's queue for this sink, sized as the engine sizes it: from the sink's own numbers.
  const queue = new SinkQueue(
    sink,
    new ComponentStats("sink", "w", "worker"),
    createLogger("silent"),
    {
      capacity: sink.queueSize!,
      maxBatch: sink.maxBatch!,
      retryInitialMs: 5,
      retryMaxMs: 5,
      concurrency: sink.concurrency!,
    },
  );
  const sequencer = new AckSequencer();
  const batch = (b: number) => Array.from({ length: 10 }, (_, i) => createEvent(`b${b}e${i}`));
  const tracked = () => {
    const t = sequencer.track(undefined);
    t.expect();
    t.seal();
    return t;
  };
  try {
    assert.equal(sink.queueSize, 30);
    await sink.open(context());
    queue.start();
    await queue.enqueue(batch(1), tracked());
    await queue.enqueue(batch(2), tracked());
    // Both are in flight now; the third must be accepted before the first write ends.
    await queue.enqueue(batch(3), tracked());
    const log = await Deno.readTextFile(out).catch(() => "");
    assert.doesNotMatch(log, /end/, `the third batch waited for a write to finish: ${log}`);
    await queue.drain();
    await queue.stop();
    await sink.close();
    assert.equal(
      await Deno.readTextFile(out),
      "start b1e0\nend b1e0\nstart b2e0\nend b2e0\nstart b3e0\nend b3e0\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workerSink: two sinks on one thread never interleave their writes at an await (siem.db's alerts and vms)", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/log.txt`;
  const make = (name: string) =>
    workerSink({
      module: new URL("../fixtures/slow_log_sink.ts", import.meta.url),
      factory: "slowLogSink",
      options: { out, ms: 20 },
      thread: "interleave-test",
      name,
    });
  const a = make("a");
  const b = make("b");
  try {
    await a.open(context());
    await b.open(context());
    // Sent together, as the engine sends batches to both sinks: each write awaits inside, and
    // the other sink's write must wait for it (per-sink order alone let them interleave; two
    // SQLite connections then found each other's lock and slept).
    await Promise.all([
      a.write([createEvent("a1")]),
      b.write([createEvent("b1")]),
      a.write([createEvent("a2")]),
      b.write([createEvent("b2")]),
    ]);
    await a.close();
    await b.close();
    const lines = (await Deno.readTextFile(out)).trim().split("\n");
    assert.equal(lines.length, 8);
    for (let i = 0; i < lines.length; i += 2) {
      const name = lines[i]!.slice("start ".length);
      assert.deepEqual(
        [lines[i], lines[i + 1]],
        [`start ${name}`, `end ${name}`],
        lines.join(" | "),
      );
    }
    // Each sink's own writes stay in order.
    assert.ok(lines.indexOf("start a1") < lines.indexOf("start a2"));
    assert.ok(lines.indexOf("start b1") < lines.indexOf("start b2"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
