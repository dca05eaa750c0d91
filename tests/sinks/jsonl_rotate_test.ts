import assert from "node:assert/strict";
import { createEvent, type LogEvent, memoryState } from "../../mod.ts";
import { jsonLine, jsonlSink } from "../../sinks/jsonl.ts";
import { context, lines, walk } from "./_jsonl_sink_helpers.ts";

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
