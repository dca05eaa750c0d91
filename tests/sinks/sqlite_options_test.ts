import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createEvent } from "../../mod.ts";
import { type SqliteSink, sqliteSink } from "../../sinks/sqlite.ts";
import { sinkConformance } from "../conformance/suites.ts";
import { context, count, events, withSink } from "./_sqlite_sink_helpers.ts";

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
