import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import { cloneEvent, createEvent, type LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import { runWithDeadline, waitFor } from "../_peers.ts";
import type { Sink } from "../../core/types.ts";
import {
  confirmObject,
  globMatcher,
  localObject,
  type ObjectActivity,
  type ObjectInfo,
  objectListing,
  objectsSource,
  type ObjectsSourceOptions,
  rejectObject,
  syncedObjectsSource,
} from "../../sources/objects.ts";

const silent = createLogger("silent");
const HOUR = 3_600_000;

/** A sink that keeps what it gets and, when told, confirms or rejects objects as a real object sink would. */
function collectSink(
  decide: (info: Readonly<ObjectInfo>) => "confirm" | "reject" | "none" = () => "none",
) {
  const events: LogEvent[] = [];
  const sink: Sink = {
    kind: "collect",
    open: () => Promise.resolve(),
    async write(batch) {
      for (const event of batch) {
        events.push(event);
        const info = localObject(event);
        if (!info) continue;
        const what = decide(info);
        if (what === "confirm") {
          const st = await Deno.stat(info.abs);
          confirmObject(event, {
            remote: info.path,
            size: st.size,
            mtime: st.mtime?.getTime() ?? 0,
            sha256: "x",
          });
        } else if (what === "reject") rejectObject(event, "test says no");
      }
    },
    close: () => Promise.resolve(),
  };
  return { sink, events };
}

async function runOnce(
  options: ObjectsSourceOptions,
  decide?: Parameters<typeof collectSink>[0],
  logger = silent,
) {
  const source = objectsSource({ once: true, settle: 0, host: "vm1", ...options });
  const { sink, events } = collectSink(decide);
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger,
  });
  await engine.start();
  await source.done;
  await engine.stop();
  const found = engine.stats.components.find((c) => c.type === "source");
  const stats = found?.toJSON() ?? {};
  return { events, stats };
}

function paths(events: LogEvent[]): string[] {
  return events.filter((e) => localObject(e)).map((e) => (localObject(e) as ObjectInfo).path)
    .sort();
}

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [rel, text] of Object.entries(files)) {
    const i = rel.lastIndexOf("/");
    if (i > 0) await Deno.mkdir(`${dir}/${rel.slice(0, i)}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${rel}`, text);
  }
  return dir;
}

async function age(path: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await Deno.utime(path, t, t);
}

Deno.test("objectsSource() emits one event per file with path, size, mtime, kind and host", async () => {
  const dir = await tree({ "a.bin": "aaaa", "sub/deep/b.bin": "bb", "sub/c.bin": "" });
  try {
    const { events } = await runOnce({ dir, kind: "quarantine" });
    assert.deepEqual(paths(events), ["a.bin", "sub/c.bin", "sub/deep/b.bin"]);
    const b = events.find((e) => localObject(e)?.path === "sub/deep/b.bin") as LogEvent;
    const object = b.fields.object as ObjectInfo;
    assert.equal(object.size, 2);
    assert.equal(object.kind, "quarantine");
    assert.equal(object.abs, `${await Deno.realPath(dir)}/sub/deep/b.bin`);
    assert.equal(object.mtime, (await Deno.stat(`${dir}/sub/deep/b.bin`)).mtime?.getTime());
    assert.equal(b.host, "vm1");
    assert.match(b.id as string, /sub\/deep\/b\.bin:\d+:2$/);
    // the files stay: copy is the default
    assert.equal(await Deno.readTextFile(`${dir}/a.bin`), "aaaa");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() names the kind after the directory by default", async () => {
  const base = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${base}/dumps`);
    await Deno.writeTextFile(`${base}/dumps/x.dmp`, "x");
    const { events } = await runOnce({ dir: `${base}/dumps/` });
    assert.equal(localObject(events[0] as LogEvent)?.kind, "dumps");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("objectsSource() leaves files within settle, older than maxAge or newer than minAge", async () => {
  const dir = await tree({ "fresh.bin": "f", "hour.bin": "h", "old.bin": "o" });
  try {
    await age(`${dir}/hour.bin`, HOUR);
    await age(`${dir}/old.bin`, 8 * 24 * HOUR);
    const settled = await runOnce({ dir, settle: "10s", maxAge: "7d" });
    assert.deepEqual(paths(settled.events), ["hour.bin"]);
    assert.equal(settled.stats.unsettled, 1);
    assert.equal(settled.stats.too_old, 1);
    assert.deepEqual(paths((await runOnce({ dir, minAge: "2h" })).events), ["old.bin"]);
    assert.deepEqual(paths((await runOnce({ dir, minAge: 30 * 60_000, maxAge: "1d" })).events), [
      "hour.bin",
    ]);
    assert.deepEqual(paths((await runOnce({ dir })).events), ["fresh.bin", "hour.bin", "old.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() keeps to include globs and drops exclude globs", async () => {
  const dir = await tree({
    "a.bin": "1",
    "a.tmp": "2",
    "sub/b.bin": "3",
    "tmp/c.bin": "4",
    "tmp/deep/d.bin": "5",
  });
  try {
    const { events } = await runOnce({ dir, include: ["*.bin"], exclude: ["tmp/**"] });
    assert.deepEqual(paths(events), ["a.bin", "sub/b.bin"]);
    const only = await runOnce({ dir, include: ["sub/*", "{a,x}.tmp"] });
    assert.deepEqual(paths(only.events), ["a.tmp", "sub/b.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() follows symbolic links only while they stay inside the directory", async () => {
  const outside = await tree({ "secret.txt": "s", "dir/x.txt": "x" });
  const dir = await tree({ "real/a.bin": "a" });
  try {
    await Deno.symlink(`${dir}/real/a.bin`, `${dir}/link.bin`);
    await Deno.symlink(`${dir}/real`, `${dir}/linkdir`);
    await Deno.symlink(`${outside}/secret.txt`, `${dir}/escape.txt`);
    await Deno.symlink(`${outside}/dir`, `${dir}/escapedir`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    await Deno.symlink(dir, `${dir}/real/loop`);
    const { events, stats } = await runOnce({ dir });
    assert.deepEqual(paths(events), ["link.bin", "linkdir/a.bin", "real/a.bin"]);
    assert.equal(stats.symlinks_outside, 2);
    const link = events.find((e) => localObject(e)?.path === "link.bin") as LogEvent;
    assert.equal(localObject(link)?.abs, `${await Deno.realPath(dir)}/real/a.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

/**
 * Makes `caf\xe9.bin` (Latin-1, not UTF-8) in `dir`: no Deno API takes such a name, so a
 * fixed shell script with the directory as its argument does.
 */
async function makeLatin1Name(dir: string): Promise<void> {
  const r = await runWithDeadline("sh", [
    "-c",
    `cd "$1" && printf x > "$(printf 'caf\\351.bin')"`,
    "sh",
    dir,
  ], {
    timeoutMs: 10_000,
    what: "sh making a Latin-1 file name",
  });
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("objectsSource() warns about and counts a file whose name is not UTF-8 (issue 20 item 8)", async () => {
  const dir = await tree({ "a.bin": "a" });
  try {
    await makeLatin1Name(dir);
    await Deno.mkdir(`${dir}/sub`);
    await makeLatin1Name(`${dir}/sub`);
    const lines: string[] = [];
    const { events, stats } = await runOnce(
      { dir, mode: "move" },
      () => "confirm",
      createLogger("warn", (line) => lines.push(line)),
    );
    assert.deepEqual(paths(events), ["a.bin"]);
    assert.equal(stats.bad_names, 2);
    assert.equal(stats.errors, 2);
    const warned = lines.filter((l) => l.includes("not valid UTF-8"));
    assert.equal(warned.length, 2, lines.join("\n"));
    assert.ok(warned.some((l) => l.includes('"caf\\ufffd.bin"')), warned.join("\n"));
    assert.ok(warned.some((l) => l.includes('"sub/caf\\ufffd.bin"')), warned.join("\n"));
    // It stays where it is: nothing can open it, and nothing deletes it.
    assert.equal([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("caf")).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("objectsSource() warns about a symbolic link out of the directory (issue 20 item 10)", async () => {
  const outside = await tree({ "secret.txt": "s" });
  const dir = await tree({ "a.bin": "a" });
  try {
    await Deno.symlink(`${outside}/secret.txt`, `${dir}/escape.txt`);
    const lines: string[] = [];
    const { stats } = await runOnce({ dir }, undefined, createLogger("warn", (l) => lines.push(l)));
    assert.equal(stats.symlinks_outside, 1);
    assert.ok(
      lines.some((l) => l.includes('"escape.txt"') && l.includes("out of the directory")),
      lines.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

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

Deno.test("objectsSource() refuses bad options with the option's name", () => {
  assert.throws(() => objectsSource({ dir: "" }), /"dir"/);
  assert.throws(() => objectsSource({ dir: "/x", interval: "soon" }), /"interval" must be like/);
  assert.throws(() => objectsSource({ dir: "/x", maxAge: -1 }), /"maxAge"/);
  assert.throws(
    () => objectsSource({ dir: "/x", mode: "delete" as "move" }),
    /"mode" must be "copy" or "move"/,
  );
  assert.throws(() => objectsSource({ dir: "/x", batchSize: 0 }), /"batchSize"/);
  assert.throws(() => objectsSource({ dir: "/x", include: ["{a,b"] }), /unclosed/);
});

Deno.test("objectsSource() reports a missing directory and finishes", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.remove(dir);
  const { events, stats } = await runOnce({ dir });
  assert.equal(events.length, 0);
  assert.equal(stats.errors, 1);
});

Deno.test("globMatcher() matches like a shell glob", () => {
  assert.ok(globMatcher("*.bin")("x.bin"));
  assert.ok(globMatcher("*.bin")("deep/x.bin"));
  assert.ok(!globMatcher("/*.bin")("deep/x.bin"));
  assert.ok(globMatcher("a/**/z")("a/z"));
  assert.ok(globMatcher("a/**/z")("a/b/c/z"));
  assert.ok(globMatcher("file?.[0-9]")("file1.7"));
  assert.ok(!globMatcher("file?.[!0-9]")("file1.7"));
  assert.ok(globMatcher("*.{dmp,raw}")("mem.raw"));
  assert.ok(!globMatcher("a.b")("axb"));
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
