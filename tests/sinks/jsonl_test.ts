import assert from "node:assert/strict";
import { runWithDeadline, waitFor } from "../_peers.ts";
import { createEvent, definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { jsonLine, jsonlSink } from "../../sinks/jsonl.ts";
import { manualSource } from "../fixtures/components.ts";
import { sinkConformance } from "../conformance/suites.ts";
import { context, lines, quiet, walk, withSink } from "./_jsonl_sink_helpers.ts";

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
