import assert from "node:assert/strict";
import { runWithDeadline, waitFor } from "../_peers.ts";
import {
  ComponentStats,
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type LogEvent,
  memoryState,
  type Sink,
  type SinkContext,
} from "../../mod.ts";
import { jsonLine, jsonlSink, type JsonlSinkOptions } from "../../sinks/jsonl.ts";
import { manualSource } from "../fixtures/components.ts";
import { sinkConformance } from "../conformance/suites.ts";

const quiet = createLogger("silent");

function context(name = "files"): SinkContext & { stats: ComponentStats } {
  return {
    name,
    stats: new ComponentStats("sink", name, "jsonl"),
    state: memoryState(),
    log: quiet,
    signal: new AbortController().signal,
  };
}

async function withSink(
  options: Omit<JsonlSinkOptions, "dir">,
  body: (sink: Sink, ctx: ReturnType<typeof context>, dir: string, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const dir = `${root}/base`;
  const sink = jsonlSink({ dir, ...options });
  const ctx = context();
  await sink.open(ctx);
  try {
    await body(sink, ctx, dir, root);
  } finally {
    await sink.close();
    await Deno.remove(root, { recursive: true });
  }
}

/** Every file under `dir`, as paths relative to it. */
async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) out.push(...await walk(`${dir}/${entry.name}`, rel + "/"));
    else out.push(rel);
  }
  return out.sort();
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

Deno.test("jsonlSink() writes one file per host with the raw message as the line", async () => {
  await withSink({ path: "logs/by_vm/${HOST}.jsonl" }, async (sink, ctx, dir) => {
    const batch: LogEvent[] = [];
    for (let i = 0; i < 30; i++) batch.push(createEvent(`{"n":${i}}`, { host: `vm${i % 3}` }));
    await sink.write(batch);
    await sink.write([createEvent('{"n":30}', { host: "vm0" })]);
    assert.deepEqual(await walk(dir), [
      "logs/by_vm/vm0.jsonl",
      "logs/by_vm/vm1.jsonl",
      "logs/by_vm/vm2.jsonl",
    ]);
    const vm0 = lines(await Deno.readTextFile(`${dir}/logs/by_vm/vm0.jsonl`));
    assert.equal(vm0.length, 11);
    assert.equal(vm0[0], '{"n":0}');
    assert.equal(vm0[10], '{"n":30}');
    assert.equal(ctx.stats.counters.files_opened, 3);
  });
});

Deno.test("jsonlSink() keeps hostile host names inside the base directory", async () => {
  await withSink({ path: "by_vm/${HOST}.jsonl" }, async (sink, _ctx, dir, root) => {
    const hosts = [
      "../../etc",
      "a/b",
      "",
      ".hidden",
      "..",
      "x\0y",
      "/etc/passwd",
      "é".repeat(5000),
    ];
    await sink.write(hosts.map((host, i) => createEvent(`line ${i}`, { host })));
    const files = await walk(dir);
    assert.equal(files.length, hosts.length); // every host got a file of its own
    for (const file of files) {
      const [top, name, ...rest] = file.split("/");
      assert.equal(top, "by_vm");
      assert.equal(rest.length, 0);
      assert.ok(!name!.startsWith(".") && !name!.includes(".."), name);
      assert.ok(new TextEncoder().encode(name).length <= 210);
    }
    // Nothing was written beside the base directory.
    assert.deepEqual(await walk(root).then((all) => all.filter((f) => !f.startsWith("base/"))), []);
    const all = (await Promise.all(files.map((f) => Deno.readTextFile(`${dir}/${f}`)))).join("");
    assert.deepEqual(lines(all).sort(), hosts.map((_, i) => `line ${i}`).sort());
  });
});

Deno.test("jsonlSink() writes daily files from the event's date", async () => {
  await withSink({ path: "daily/${YEAR}-${MONTH}-${DAY}.jsonl" }, async (sink, _ctx, dir) => {
    const at = (d: number) =>
      createEvent(`day ${d}`, { timestamp: Date.UTC(2026, 10, d, 12), tzOffset: 0 });
    await sink.write([at(22), at(23), at(23)]);
    assert.deepEqual(await walk(dir), ["daily/2026-11-22.jsonl", "daily/2026-11-23.jsonl"]);
    assert.equal(await Deno.readTextFile(`${dir}/daily/2026-11-23.jsonl`), "day 23\nday 23\n");
  });
});

Deno.test("jsonlSink() writes whole events as JSON with jsonLine", async () => {
  await withSink({ path: "all.jsonl", line: jsonLine }, async (sink, _ctx, dir) => {
    const e = createEvent("multi\nline", {
      host: "vm1",
      id: "s:1",
      timestamp: Date.UTC(2026, 0, 2),
      tzOffset: 0,
      fields: { json: { rule: "R" } },
    });
    const odd = createEvent("big", { fields: { n: 10n } });
    await sink.write([e, odd]);
    const out = lines(await Deno.readTextFile(`${dir}/all.jsonl`));
    assert.equal(out.length, 2);
    assert.deepEqual(JSON.parse(out[0]!), {
      ISODATE: "2026-01-02T00:00:00+00:00",
      HOST: "vm1",
      ID: "s:1",
      MESSAGE: "multi\nline",
      json: { rule: "R" },
    });
    assert.equal(JSON.parse(out[1]!).MESSAGE, "big");
  });
});

Deno.test("jsonlSink() keeps at most maxOpenFiles open and appends after reopening", async () => {
  await withSink({ path: "${HOST}.log", maxOpenFiles: 2 }, async (sink, ctx, dir) => {
    for (let round = 0; round < 3; round++) {
      await sink.write(
        ["a", "b", "c", "d"].map((host) => createEvent(`${host}${round}`, { host })),
      );
      assert.equal(ctx.stats.gauges.open_files, 2);
    }
    assert.equal(await Deno.readTextFile(`${dir}/a.log`), "a0\na1\na2\n");
    assert.equal(await Deno.readTextFile(`${dir}/d.log`), "d0\nd1\nd2\n");
    // Round-robin over four files with room for two: every write had to reopen its file.
    assert.equal(ctx.stats.counters.files_opened, 12);
  });
});

Deno.test("jsonlSink() rotates a file before it grows past maxFileBytes", async () => {
  await withSink(
    { path: "app.log", maxFileBytes: 100, maxRotatedFiles: 2 },
    async (sink, ctx, dir) => {
      // 10 writes of 40 bytes: 2 per file before rotation, so 5 files; only 2 rotated ones stay.
      for (let i = 0; i < 10; i++) {
        await sink.write([createEvent(`${String(i).padStart(2, "0")} ${"x".repeat(36)}`)]);
      }
      assert.deepEqual(await walk(dir), ["app.log", "app.log.1", "app.log.2"]);
      const text = async (f: string) => lines(await Deno.readTextFile(`${dir}/${f}`));
      assert.deepEqual((await text("app.log")).map((l) => l.slice(0, 2)), ["08", "09"]);
      assert.deepEqual((await text("app.log.1")).map((l) => l.slice(0, 2)), ["06", "07"]);
      assert.deepEqual((await text("app.log.2")).map((l) => l.slice(0, 2)), ["04", "05"]);
      assert.equal(ctx.stats.counters.rotations, 4);
    },
  );
});

Deno.test("jsonlSink() syncs on an interval and stops its timer on close", async () => {
  await withSink(
    { path: "i.log", fsync: "interval", fsyncIntervalMs: 5 },
    async (sink, ctx, dir) => {
      await sink.write([createEvent("one")]);
      await new Promise((r) => setTimeout(r, 30));
      await sink.write([createEvent("two")]);
      assert.equal(await Deno.readTextFile(`${dir}/i.log`), "one\ntwo\n");
      assert.equal(ctx.stats.counters.fsync_errors, undefined);
    },
  );
});

Deno.test("jsonlSink() sends events whose path function gives nothing to _invalid_path.jsonl", async () => {
  await withSink({ path: (e) => e.host ?? "" }, async (sink, ctx, dir) => {
    await sink.write([createEvent("kept", { host: "h/../x" }), createEvent("lost path")]);
    assert.deepEqual(await walk(dir), ["_invalid_path.jsonl", "h/__/x"]);
    assert.equal(ctx.stats.counters.invalid_path, 1);
  });
});

Deno.test("jsonlSink() rejects a path whose literal text leaves the base directory", () => {
  assert.throws(
    () => jsonlSink({ dir: "/tmp/x", path: "../elsewhere/${HOST}.log" }),
    /must stay under "dir"/,
  );
  assert.throws(() => jsonlSink({ dir: "/tmp/x", path: "/etc/${HOST}" }), /must stay under "dir"/);
  assert.throws(() => jsonlSink({ dir: "" }), /"dir"/);
  assert.throws(() => jsonlSink({ dir: "/tmp/x", fsync: "always" as "batch" }), /"fsync"/);
  assert.throws(() => jsonlSink({ dir: "/tmp/x", maxOpenFiles: 0 }), RangeError);
});

async function mountTmpfs(dir: string, size: string): Promise<boolean> {
  try {
    const out = await runWithDeadline(
      "mount",
      ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      {
        timeoutMs: 30_000,
        what: "mount -t tmpfs",
      },
    );
    return out.code === 0;
  } catch {
    return false;
  }
}

async function umount(dir: string): Promise<void> {
  await runWithDeadline("umount", [dir], { timeoutMs: 30_000, what: `umount ${dir}` });
}

Deno.test("jsonlSink() reports a full disk, retries, and stores every line once", async () => {
  const root = await Deno.makeTempDir();
  if (!(await mountTmpfs(root, "64k"))) {
    console.log("jsonl_test: cannot mount a tmpfs here (not root?); skipping the full-disk test");
    await Deno.remove(root);
    return;
  }
  try {
    // Leave a few KB free.
    const filler = `${root}/filler`;
    await Deno.writeFile(filler, new Uint8Array(56 * 1024)).catch(() => {});
    const sink = jsonlSink({ dir: `${root}/logs`, path: "${HOST}.log" });
    const direct = context();
    await sink.open(direct);
    const line = (i: number) => `${String(i).padStart(5, "0")} ${"y".repeat(94)}`; // 100 bytes + \n
    const batch = Array.from(
      { length: 200 },
      (_, i) => createEvent(line(i), { host: `h${i % 2}` }),
    );
    await assert.rejects(
      sink.write(batch),
      /jsonlSink: writing ".*h\d\.log" failed: No space left/,
    );
    await sink.close();
    const sizeAfterDirect = async (h: number) =>
      await Deno.stat(`${root}/logs/h${h}.log`).then((s) => s.size, () => 0);
    const before = [await sizeAfterDirect(0), await sizeAfterDirect(1)];

    // Through the engine: the failed write is retried until space comes back, then acknowledged.
    const source = manualSource("m");
    const sink2 = jsonlSink({ dir: `${root}/logs`, path: "${HOST}.log" });
    const engine = new Engine(
      definePipeline({
        paths: [{ from: [source], to: [sink2] }],
        retry: { initialMs: 5, maxMs: 20 },
      }),
      { logger: quiet, drainTimeoutMs: 5000 },
    );
    await engine.start();
    try {
      let acked = false;
      await source.emit(batch, () => (acked = true));
      const stats = engine.stats.get("jsonl#0")!;
      await waitFor("3 failed writes to the full disk", () => stats.errors >= 3, 20_000, 5);
      assert.equal(acked, false);
      await Deno.remove(filler);
      await waitFor("the ack once the disk has room", () => acked, 20_000, 5);
      assert.ok(stats.counters.retries! >= 3);
    } finally {
      await engine.stop();
    }
    for (const h of [0, 1]) {
      // The direct attempt left a prefix (it was never retried); after it, the engine's retried
      // attempts wrote every line of the batch exactly once, in order.
      const text = new TextDecoder().decode(
        (await Deno.readFile(`${root}/logs/h${h}.log`)).subarray(before[h]),
      );
      const mine = batch.filter((_, i) => i % 2 === h).map((e) => e.message + "\n").join("");
      assert.equal(text, mine);
    }
  } finally {
    await umount(root);
    await Deno.remove(root, { recursive: true });
  }
});

sinkConformance("jsonl", async () => {
  const dir = await Deno.makeTempDir();
  return {
    sink: jsonlSink({ dir, path: "by_vm/${HOST}.jsonl", line: jsonLine }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("jsonlSink: sinks sharing an event write the same line, and a changed copy writes its own", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = jsonlSink({ dir, path: "a.jsonl", line: jsonLine });
    const b = jsonlSink({ dir, path: "b.jsonl", line: jsonLine });
    for (const s of [a, b]) await s.open(context());
    const event = createEvent("first", { host: "vm1" });
    await a.write([event]);
    const copy = { ...event, message: "second" };
    await b.write([event, copy]);
    for (const s of [a, b]) await s.close();
    const lines = (f: string) =>
      Deno.readTextFileSync(`${dir}/${f}`).trimEnd().split("\n").map((l) => JSON.parse(l).MESSAGE);
    assert.deepEqual(lines("a.jsonl"), ["first"]);
    assert.deepEqual(lines("b.jsonl"), ["first", "second"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jsonlSink: lines shared through jsonLine stay intact across many events, multi-byte text and long lines, however the sinks batch them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = jsonlSink({ dir, path: "a.jsonl", line: jsonLine });
    const b = jsonlSink({ dir, path: "b.jsonl", line: jsonLine });
    for (const s of [a, b]) await s.open(context());
    // Short ASCII, multi-byte (2, 3 and 4 bytes a character) and lines far over a few KiB,
    // enough of them to fill many of the buffers the encoded lines are kept in.
    const texts = [
      "alert",
      "héllo wörld",
      "日本語のログ",
      "emoji 🚨🔥",
      "x".repeat(9000),
      "ü".repeat(5000),
    ];
    const events = Array.from(
      { length: 3000 },
      (_, i) => createEvent(`${i} ${texts[i % texts.length]}`, { fields: { n: i } }),
    );
    // a writes them in batches of 7, b in batches of 500, after a: b reuses what a encoded.
    for (let i = 0; i < events.length; i += 7) await a.write(events.slice(i, i + 7));
    for (let i = 0; i < events.length; i += 500) await b.write(events.slice(i, i + 500));
    for (const s of [a, b]) await s.close();
    for (const f of ["a.jsonl", "b.jsonl"]) {
      const got = Deno.readTextFileSync(`${dir}/${f}`).trimEnd().split("\n").map((l) =>
        JSON.parse(l)
      );
      assert.equal(got.length, events.length, f);
      got.forEach((line, i) => {
        assert.equal(line.MESSAGE, `${i} ${texts[i % texts.length]}`, `${f} line ${i}`);
        assert.equal(line.n, i);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const DAY_MS = 86_400_000;

/** A replayable event: its id grows with n, as a file tail's offsets do. */
function tailed(n: number, host = "vm1"): LogEvent {
  return createEvent(`{"n":${n}}`, { host, id: `${host}:f1:${String(n).padStart(12, "0")}` });
}

/** The ids of every line of every file under `dir` whose name starts with `stem`. */
async function idsUnder(dir: string, stem: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await walk(dir)) {
    if (!name.startsWith(stem)) continue;
    out.push(...lines(await Deno.readTextFile(`${dir}/${name}`)).map((l) => JSON.parse(l).ID));
  }
  return out;
}

Deno.test("jsonlSink() rotateDaily renames at the first write of a new UTC day under continuous writes: nothing lost, nothing twice", async () => {
  const midnight = Date.UTC(2026, 11, 6);
  let now = midnight - 5_000;
  const root = await Deno.makeTempDir();
  const state = memoryState();
  const open = async () => {
    const sink = jsonlSink({
      dir: root,
      path: "all_events.jsonl",
      line: jsonLine,
      rotateDaily: true,
      now: () => now,
    });
    const ctx = { ...context(), state };
    await sink.open(ctx);
    return { sink, ctx };
  };
  try {
    let { sink, ctx } = await open();
    let n = 0;
    // 100 batches, 100 ms of clock apart, across midnight; every fifth one is sent twice.
    for (let b = 0; b < 100; b++) {
      const batch = [];
      for (let i = 0; i < 50; i++) batch.push(tailed(n++));
      await sink.write(batch);
      if (b % 5 === 0) await sink.write(batch);
      now += 100;
    }
    assert.equal(ctx.stats.counters.rotations, 1);
    // A crash (no close) right after the next day's rotation, then a replay of the last 500.
    now = midnight + DAY_MS + 1_000;
    await sink.write([tailed(n++)]);
    assert.equal(ctx.stats.counters.rotations, 2);
    // The restarted sink reads the live file's day from its mtime: as the clock made it.
    await Deno.utime(`${root}/all_events.jsonl`, new Date(now), new Date(now));
    ({ sink, ctx } = await open());
    const replay = [];
    for (let i = n - 500; i < n + 100; i++) replay.push(tailed(i));
    n += 100;
    await sink.write(replay);
    await sink.close();
    assert.deepEqual(await walk(root), [
      "all_events-2026-12-05.jsonl",
      "all_events-2026-12-06.jsonl",
      "all_events.jsonl",
    ]);
    const all = await idsUnder(root, "all_events");
    assert.equal(new Set(all).size, all.length, "a line written twice");
    assert.equal(all.length, n);
    // The dated files hold the lines written on their day, in order.
    const before = lines(await Deno.readTextFile(`${root}/all_events-2026-12-05.jsonl`));
    assert.equal(before.length, 50 * 50);
    assert.equal(JSON.parse(before.at(-1) as string).ID, tailed(2499).id);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("jsonlSink() rotateDaily also dates quiet files, open or left by an earlier process, and releases past days' files of a dated path", async () => {
  const root = await Deno.makeTempDir();
  try {
    // A host gone silent since an earlier run: its file is two days old.
    await Deno.mkdir(`${root}/by_vm`);
    await Deno.writeTextFile(`${root}/by_vm/gone.jsonl`, '{"n":0}\n');
    const old = new Date(Date.now() - 2 * DAY_MS);
    await Deno.utime(`${root}/by_vm/gone.jsonl`, old, old);
    let now = Date.now();
    const sink = jsonlSink({
      dir: root,
      path: "by_vm/${HOST}.jsonl",
      rotateDaily: true,
      now: () => now,
    });
    await sink.open(context());
    await sink.write([createEvent("a", { host: "vm1" }), createEvent("b", { host: "vm2" })]);
    const gone = `by_vm/gone-${old.toISOString().slice(0, 10)}.jsonl`;
    assert.deepEqual(await walk(root), [gone, "by_vm/vm1.jsonl", "by_vm/vm2.jsonl"]);
    // Tomorrow only vm1 writes: vm2's open file is dated too.
    now += DAY_MS;
    await sink.write([createEvent("c", { host: "vm1" })]);
    await sink.close();
    const today = new Date(now - DAY_MS).toISOString().slice(0, 10);
    assert.deepEqual(await walk(root), [
      gone,
      `by_vm/vm1-${today}.jsonl`,
      "by_vm/vm1.jsonl",
      `by_vm/vm2-${today}.jsonl`,
    ]);
    assert.equal(await Deno.readTextFile(`${root}/by_vm/vm1.jsonl`), "c\n");

    // A dated path is not renamed, but yesterday's file is closed (its lock released).
    let clock = Date.now();
    const daily = jsonlSink({
      dir: root,
      path: "daily/${R_YEAR}-${R_MONTH}-${R_DAY}.jsonl",
      now: () => clock,
    });
    await daily.open(context());
    await daily.write([createEvent("x\n")]);
    const [first] = (await walk(root)).filter((p) => p.startsWith("daily/"));
    const probe = await Deno.open(`${root}/${first}`, { read: true });
    try {
      assert.equal(await probe.tryLock(true), false, "the sink holds its open file");
      clock += DAY_MS;
      await daily.write([]);
      await daily.write([createEvent("y\n", { receivedAt: clock })]);
      assert.equal(await probe.tryLock(true), true, "a past day's file is released");
    } finally {
      probe.close();
      await daily.close();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
