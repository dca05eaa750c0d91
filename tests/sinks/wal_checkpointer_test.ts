import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { WalCheckpointer } from "../../sinks/_wal_checkpointer.ts";

function autocheckpoint(db: DatabaseSync): number {
  return (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number })
    .wal_autocheckpoint;
}

/** A fresh WAL database of 4 KiB pages with one table `t`, open as `db` for `body`; removed after. */
async function withWalDb(
  body: (db: DatabaseSync, path: string, dir: string) => void | Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/test.db`;
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT)");
    await body(db, path, dir);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("WalCheckpointer reads the WAL-index header, and has its own thread copy the WAL into the database once chunkPages frames wait", async () => {
  await withWalDb(async (db, path) => {
    const counted: Record<string, number> = {};
    const ckpt = WalCheckpointer.start(db, {
      database: path,
      pageSize: 4096,
      chunkPages: 16,
      capPages: 1_000_000,
      stats: { add: (name, n = 1) => void (counted[name] = (counted[name] ?? 0) + n) },
    });
    assert.ok(ckpt);
    assert.equal(autocheckpoint(db), 0);
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    // 40 KB per commit is ~10 pages: the second commit passes 16 pages waiting to be copied.
    for (let i = 0; i < 10; i++) {
      ckpt.beforeTransaction(db);
      db.exec("BEGIN");
      for (let j = 0; j < 10; j++) insert.run("x".repeat(4000));
      db.exec("COMMIT");
      ckpt.afterCommit();
      await new Promise((r) => setTimeout(r, 20));
    }
    await ckpt.stop(db);
    assert.ok((counted.checkpoints ?? 0) >= 1, JSON.stringify(counted));
    // The cap was never reached, so the writer never copied anything itself.
    assert.equal(counted.checkpoints_inline, undefined);
    // What the thread reported copied is in the database file: a reader that ignores the WAL
    // (immutable) sees at least the first checkpoint's rows.
    const reader = new DatabaseSync(`file:${path}?immutable=1`, { readOnly: true });
    try {
      const n = (reader.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
      assert.ok(n >= 10, `rows in the database file itself: ${n}`);
    } finally {
      reader.close();
    }
  });
});

Deno.test("WalCheckpointer refuses a header it does not know and leaves SQLite's own checkpoints on", async () => {
  await withWalDb((db, path, dir) => {
    // The header says 4096-byte pages: one that expects 16 KiB is reading something else.
    const options = { database: path, pageSize: 16_384, chunkPages: 16, capPages: 128 };
    assert.equal(WalCheckpointer.start(db, options), undefined);
    assert.equal(autocheckpoint(db), 1000);
    // No -shm beside the path at all.
    assert.equal(
      WalCheckpointer.start(db, { ...options, database: `${dir}/elsewhere.db`, pageSize: 4096 }),
      undefined,
    );
    assert.equal(autocheckpoint(db), 1000);
  });
});

Deno.test("WalCheckpointer is shared by the writers of one database file in a thread, and ends with the last of them", async () => {
  await withWalDb(async (a, path, dir) => {
    const b = new DatabaseSync(`${dir}/./test.db`);
    try {
      let checkpoints = 0;
      const options = {
        database: path,
        pageSize: 4096,
        chunkPages: 4,
        capPages: 1_000_000,
        stats: { add: (name: string) => void (name === "checkpoints" && checkpoints++) },
      };
      const first = WalCheckpointer.start(a, options);
      assert.ok(first);
      // Another spelling of the same file gets the same checkpointer, and loses its own checkpoints.
      assert.equal(WalCheckpointer.start(b, { ...options, database: `${dir}/./test.db` }), first);
      assert.equal(autocheckpoint(b), 0);
      await first.stop(a);
      // b still writes, and its commits still get checkpointed in the background.
      for (let i = 0; i < 5; i++) {
        b.exec("BEGIN");
        b.prepare("INSERT INTO t VALUES (?)").run("y".repeat(20_000));
        b.exec("COMMIT");
        first.afterCommit();
        await new Promise((r) => setTimeout(r, 20));
      }
      await first.stop(b);
      assert.ok(checkpoints >= 1, `checkpoints after the first writer stopped: ${checkpoints}`);
      // Once the last writer stopped, a new start() makes a new checkpointer.
      const again = WalCheckpointer.start(a, options);
      assert.ok(again && again !== first);
      await again.stop(a);
    } finally {
      b.close();
    }
  });
});

Deno.test("WalCheckpointer falls back to SQLite's own checkpoints when its thread cannot use the database, and the writer goes on", async () => {
  await withWalDb(async (db, path) => {
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    insert.run("first");
    let reason = "";
    const fellBack = Promise.withResolvers<void>();
    const ckpt = WalCheckpointer.start(db, {
      database: path,
      pageSize: 4096,
      chunkPages: 4,
      capPages: 1_000_000,
      onFallback: (why) => {
        reason = why;
        fellBack.resolve();
      },
    });
    assert.ok(ckpt);
    assert.equal(autocheckpoint(db), 0);
    // The writer keeps the database locked after its next write: the thread's connection
    // cannot even set itself up ("database is locked").
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    for (let i = 0; i < 5; i++) {
      db.exec("BEGIN");
      insert.run("z".repeat(20_000));
      db.exec("COMMIT");
      ckpt.afterCommit();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      fellBack.promise,
      new Promise((resolve) => (timer = setTimeout(resolve, 10_000))),
    ]);
    clearTimeout(timer);
    assert.equal(reason, "the checkpoint thread could not open: database is locked");
    // SQLite checkpoints by itself again, every chunkPages.
    assert.equal(autocheckpoint(db), 4);
    // The checkpointer has stepped aside: more commits ask nothing of it, and every row is there.
    for (let i = 0; i < 5; i++) {
      assert.equal(ckpt.beforeTransaction(db), undefined);
      db.exec("BEGIN");
      insert.run("w".repeat(20_000));
      db.exec("COMMIT");
      ckpt.afterCommit();
    }
    await ckpt.stop(db);
    assert.equal((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 11);
    assert.equal(
      (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      "ok",
    );
  });
});

Deno.test("WalCheckpointer starts on a reopened database whose WAL index has no page size yet, and checkpoints after its first commits", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/test.db`;
  const first = new DatabaseSync(path);
  first.exec("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT)");
  first.close();
  // A restart: the last connection closed, SQLite removed -wal and -shm; the new index says page 0.
  const db = new DatabaseSync(path);
  const reasons: string[] = [];
  let checkpoints = 0;
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.prepare("SELECT count(*) FROM t").get();
    const ckpt = WalCheckpointer.start(db, {
      database: path,
      pageSize: 4096,
      chunkPages: 16,
      capPages: 1_000_000,
      stats: { add: (name) => void (name === "checkpoints" && checkpoints++) },
      onFallback: (reason) => void reasons.push(reason),
    });
    assert.ok(ckpt, `started: ${reasons.join("; ")}`);
    assert.equal(autocheckpoint(db), 0);
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    for (let i = 0; i < 10; i++) {
      ckpt.beforeTransaction(db);
      db.exec("BEGIN");
      for (let j = 0; j < 10; j++) insert.run("x".repeat(4000));
      db.exec("COMMIT");
      ckpt.afterCommit();
      await new Promise((r) => setTimeout(r, 20));
    }
    await ckpt.stop(db);
    assert.ok(checkpoints >= 1, `checkpoints: ${checkpoints}`);
    assert.deepEqual(reasons, []);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
