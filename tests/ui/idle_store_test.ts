import assert from "node:assert/strict";
import { openSqliteStore } from "../../store/sqlite.ts";
import type { SiemStore } from "../../store/types.ts";
import { idleStore } from "../../ui/_idle_store.ts";
import { trimMalloc } from "../../ui/_gc.ts";
import { seedSiem } from "./_seed.ts";

async function withSeeded(
  f: (open: () => Promise<SiemStore>, opened: () => number) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "sluice-idle-store-" });
  try {
    const database = `${dir}/siem.db`;
    await seedSiem(database, { now: Date.now() });
    let opens = 0;
    const open = () => {
      opens++;
      return openSqliteStore({ database });
    };
    await f(open, () => opens);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("idleStore() closes the store when released and opens it again on the next call", async () => {
  await withSeeded(async (open, opened) => {
    let uses = 0;
    const idle = idleStore(await open(), open, () => uses++);
    try {
      const before = await idle.store.alerts({ limit: 5 });
      assert.equal(before.rows.length, 5);
      assert.ok(uses >= 2, "a call reports its start and end");
      assert.equal(await idle.release(), true);
      assert.equal(idle.open, false);
      assert.equal(await idle.release(), false, "nothing left to close");
      const after = await idle.store.alerts({ limit: 5 });
      assert.deepEqual(after.rows.map((r) => r.seq), before.rows.map((r) => r.seq));
      assert.equal(idle.open, true);
      assert.equal(opened(), 2);
      assert.equal(idle.store.kind, "sqlite");
    } finally {
      await idle.store.close();
    }
    await assert.rejects(() => idle.store.alerts({ limit: 1 }), /closed/);
  });
});

Deno.test("idleStore() keeps the store open while a call or an export runs", async () => {
  await withSeeded(async (open, opened) => {
    const idle = idleStore(await open(), open);
    try {
      const pending = idle.store.overview();
      assert.equal(await idle.release(), false, "a call is running");
      await pending;
      const it = idle.store.exportAlerts({}, 10)[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);
      assert.equal(await idle.release(), false, "an export is running");
      let rows = (first.value as unknown[]).length;
      for (let r = await it.next(); !r.done; r = await it.next()) rows += r.value.length;
      assert.ok(rows > 10, `the export read on past its first page (${rows} rows)`);
      assert.equal(await idle.release(), true, "the export ended");
      assert.equal(opened(), 1);
      // The UI tables go through it too: a second call after a release opens once more.
      assert.equal(await idle.store.ui.countUsers(), 0);
      assert.equal(opened(), 2);
    } finally {
      await idle.store.close();
    }
  });
});

Deno.test("idleStore().ifOpen() runs on an open store only, neither opening it nor counting as use", async () => {
  await withSeeded(async (open, opened) => {
    let uses = 0;
    const idle = idleStore(await open(), open, () => uses++);
    try {
      const shrunk = await idle.ifOpen((s) => s.sql("PRAGMA shrink_memory"));
      assert.ok(shrunk !== undefined);
      assert.equal(uses, 0);
      assert.equal(await idle.release(), true);
      assert.equal(await idle.ifOpen((s) => s.sql("SELECT 1")), undefined);
      assert.equal(idle.open, false);
      assert.equal(opened(), 1);
    } finally {
      await idle.store.close();
    }
  });
});

Deno.test("trimMalloc() runs on glibc with FFI allowed", () => {
  const glibc = Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  assert.equal(trimMalloc(), glibc && !/musl/.test(Deno.build.target));
});
