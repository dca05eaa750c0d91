import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import { cloneEvent, createEvent, type LogEvent } from "../../core/event.ts";
import { definePipeline } from "../../core/pipeline.ts";
import { waitFor } from "../_peers.ts";
import type { Sink } from "../../core/types.ts";
import {
  confirmObject,
  localObject,
  type ObjectActivity,
  type ObjectInfo,
  objectListing,
  objectsSource,
  rejectObject,
  syncedObjectsSource,
} from "../../sources/objects.ts";

import { age, collectSink, HOUR, paths, runOnce, silent, tree } from "./_objects_helpers.ts";

Deno.test("objectsSource() in move mode deletes only files a sink confirmed and none rejected", async () => {
  const dir = await tree({ "ok.bin": "1", "unconfirmed.bin": "2", "rejected.bin": "3" });
  try {
    const { stats } = await runOnce(
      { dir, mode: "move" },
      (info) =>
        info.path === "ok.bin" ? "confirm" : info.path === "rejected.bin" ? "reject" : "none",
    );
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, ["rejected.bin", "unconfirmed.bin"]);
    assert.equal(stats.deleted, 1);
    assert.equal(stats.kept, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() in move mode keeps a file that changed after the sink read it", async () => {
  const dir = await tree({ "growing.bin": "1" });
  try {
    const source = objectsSource({ dir, once: true, settle: 0, mode: "move" });
    const sink: Sink = {
      kind: "confirm-then-change",
      open: () => Promise.resolve(),
      async write(batch) {
        for (const event of batch) {
          const info = localObject(event) as ObjectInfo;
          const st = await Deno.stat(info.abs);
          confirmObject(event, {
            remote: info.path,
            size: st.size,
            mtime: st.mtime?.getTime() ?? 0,
            sha256: "x",
          });
          await Deno.writeTextFile(info.abs, "more", { append: true });
        }
      },
      close: () => Promise.resolve(),
    };
    const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
      logger: silent,
    });
    await engine.start();
    await source.done;
    await engine.stop();
    assert.equal(await Deno.readTextFile(`${dir}/growing.bin`), "1more");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() in copy mode never deletes, even when a sink confirmed", async () => {
  const dir = await tree({ "a.bin": "1" });
  try {
    await runOnce({ dir }, () => "confirm");
    assert.equal(await Deno.readTextFile(`${dir}/a.bin`), "1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() deletes through a symbolic link the link, not its target", async () => {
  const dir = await tree({ "real/a.bin": "a" });
  try {
    await Deno.symlink(`${dir}/real/a.bin`, `${dir}/link.bin`);
    await runOnce({ dir, mode: "move", include: ["link.bin"] }, () => "confirm");
    assert.equal(await Deno.readTextFile(`${dir}/real/a.bin`), "a");
    await assert.rejects(Deno.lstat(`${dir}/link.bin`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() scans again every interval and picks up new files", async () => {
  const dir = await tree({ "first.bin": "1" });
  try {
    const source = objectsSource({ dir, settle: 0, interval: 20 });
    const { sink, events } = collectSink();
    const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
      logger: silent,
    });
    await engine.start();
    await waitFor("the first object", () => events.length > 0, 20_000, 5);
    await Deno.writeTextFile(`${dir}/second.bin`, "2");
    await waitFor("second.bin", () => paths(events).includes("second.bin"), 20_000, 5);
    await engine.stop();
    assert.equal(source.done, undefined);
    assert.ok(events.length >= 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() does not emit a file again while it is still in flight", async () => {
  const dir = await tree({ "slow.bin": "1" });
  try {
    const source = objectsSource({ dir, settle: 0, interval: 5 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let writes = 0;
    const sink: Sink = {
      kind: "slow",
      open: () => Promise.resolve(),
      async write() {
        writes++;
        await held;
      },
      close: () => Promise.resolve(),
    };
    const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
      logger: silent,
    });
    await engine.start();
    await new Promise((r) => setTimeout(r, 100));
    const scans = engine.stats.components.find((c) => c.type === "source")?.counters
      .scans as number;
    assert.ok(scans >= 3, `expected several scans, got ${scans}`);
    assert.equal(writes, 1);
    release();
    await engine.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() stops while a sink that keeps failing holds it back", async () => {
  const dir = await tree({ "a.bin": "1", "b.bin": "2", "c.bin": "3" });
  try {
    const source = objectsSource({ dir, settle: 0, batchSize: 1, mode: "move" });
    const failing: Sink = {
      kind: "failing",
      queueSize: 1,
      open: () => Promise.resolve(),
      write: () => Promise.reject(new Error("down")),
      close: () => Promise.resolve(),
    };
    const engine = new Engine(
      definePipeline({ paths: [{ from: [source], to: [failing] }], retry: { initialMs: 5 } }),
      { logger: silent, drainTimeoutMs: 20 },
    );
    await engine.start();
    await new Promise((r) => setTimeout(r, 50));
    await engine.stop();
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "a.bin",
      "b.bin",
      "c.bin",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() emits a listing of every local file when asked", async () => {
  const dir = await tree({ "new.bin": "1", "old.bin": "2", "skip.tmp": "3" });
  try {
    await age(`${dir}/old.bin`, 30 * 24 * HOUR);
    const { events } = await runOnce({ dir, listing: true, maxAge: "7d", exclude: ["*.tmp"] });
    assert.deepEqual(paths(events), ["new.bin"]);
    const listing = objectListing(events[events.length - 1] as LogEvent);
    assert.deepEqual(listing?.paths, ["new.bin", "old.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() events carry their local file only in this process", async () => {
  const forged = createEvent("x", { fields: { object: { path: "a", abs: "/etc/shadow" } } });
  assert.equal(localObject(forged), undefined);
  assert.equal(confirmObject(forged, { remote: "a", size: 1, mtime: 1, sha256: "" }), false);
  assert.equal(rejectObject(forged, "no"), false);
  assert.equal(objectListing(forged), undefined);
  const dir = await tree({ "a.bin": "1" });
  try {
    const { events } = await runOnce({ dir });
    const real = events[0] as LogEvent;
    assert.ok(localObject(real));
    assert.ok(localObject(cloneEvent(real)), "a clone for another path keeps it");
    assert.equal(localObject(JSON.parse(JSON.stringify(real))), undefined, "JSON drops it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("syncedObjectsSource() turns stored objects into log events", async () => {
  const listeners = new Set<(a: ObjectActivity) => void>();
  const publisher = {
    subscribe(listener: (a: ObjectActivity) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  const source = syncedObjectsSource(publisher);
  const { sink, events } = collectSink();
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: silent,
  });
  await engine.start();
  const object = {
    host: "vm1",
    kind: "quarantine",
    path: "a.bin",
    remote: "samples/vm1/quarantine/a.bin",
    size: 3,
    sha256: "ab".repeat(32),
    mtime: 1,
    uploaded_at: "2026-11-23T00:00:00.000Z",
    encrypted: false,
  };
  for (const l of listeners) l({ type: "progress", remote: "x", sent: 1, size: 2 });
  for (const l of listeners) l({ type: "uploaded", object, bytes: 3 });
  await engine.stop();
  assert.equal(listeners.size, 0);
  assert.equal(events.length, 1);
  const event = events[0] as LogEvent;
  assert.equal(event.host, "vm1");
  assert.deepEqual(event.fields.object, object);
  assert.equal(event.id, `${object.remote}:${object.sha256}`);
});
