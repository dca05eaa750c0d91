import assert from "node:assert/strict";
import {
  ComponentStats,
  createEvent,
  createLogger,
  fileState,
  type LogEvent,
  type SinkContext,
  type StateStore,
} from "../../mod.ts";
import { jsonLine, jsonlSink, type JsonlSinkOptions } from "../../sinks/jsonl.ts";

const quiet = createLogger("silent");

function context(state: StateStore): SinkContext & { stats: ComponentStats } {
  return {
    name: "all",
    stats: new ComponentStats("sink", "all", "jsonl"),
    state,
    log: quiet,
    signal: new AbortController().signal,
  };
}

/** A file-tail event as a VM's tail emits it: its id grows with the offset. */
function tailed(n: number, host = "vm1", file = "a1b2:ffee"): LogEvent {
  return createEvent(`{"n":${n}}`, {
    host,
    id: `${host}:${file}:${String(n * 100).padStart(12, "0")}`,
  });
}

function range(from: number, to: number, host?: string): LogEvent[] {
  const out: LogEvent[] = [];
  for (let n = from; n < to; n++) out.push(tailed(n, host));
  return out;
}

/** The ids in a JSONL file, in order. */
async function ids(path: string): Promise<string[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).ID as string);
}

function assertOnce(list: string[], expected: number): void {
  assert.equal(new Set(list).size, list.length, "a duplicate id");
  assert.equal(list.length, expected);
}

/** Opens a sink on `dir` with a state read from `stateDir` as a restarted process would. */
async function openSink(dir: string, stateDir: string, options: Partial<JsonlSinkOptions> = {}) {
  const state = await fileState(stateDir, "all", 60_000);
  const ctx = context(state);
  const sink = jsonlSink({ dir, path: "all.jsonl", line: jsonLine, ...options });
  await sink.open(ctx);
  return { sink, ctx, state };
}

Deno.test("jsonlSink() with jsonLine appends a replayed event once, across a clean restart", async () => {
  const root = await Deno.makeTempDir();
  try {
    const first = await openSink(`${root}/logs`, `${root}/state`);
    await first.sink.write(range(0, 100));
    await first.sink.close();
    const second = await openSink(`${root}/logs`, `${root}/state`);
    // The VM restarted from an older checkpoint: 50..99 come again, then new ones.
    await second.sink.write(range(50, 150));
    await second.sink.write(range(140, 160));
    assert.equal(second.ctx.stats.counters.duplicates, 50 + 10);
    await second.sink.close();
    assertOnce(await ids(`${root}/logs/all.jsonl`), 160);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("jsonlSink() dedup survives a crash between the lines and the saved marks, and cuts a torn line", async () => {
  const root = await Deno.makeTempDir();
  try {
    const first = await openSink(`${root}/logs`, `${root}/state`);
    await first.sink.write(range(0, 100));
    await first.state.flush(); // the marks of 0..99 reach the disk
    await first.sink.write(range(100, 200)); // these lines do, their marks do not: kill -9
    // The crash cut the last write in the middle of a line.
    await Deno.writeTextFile(`${root}/logs/all.jsonl`, '{"ISODATE":"2026', { append: true });
    const second = await openSink(`${root}/logs`, `${root}/state`);
    assert.equal(second.ctx.stats.counters.torn_lines_cut, 1);
    await second.sink.write(range(150, 250));
    await second.sink.close();
    assertOnce(await ids(`${root}/logs/all.jsonl`), 250);
    // No state at all (lost, or never saved): the file's last lines are read back.
    await Deno.remove(`${root}/state`, { recursive: true });
    const third = await openSink(`${root}/logs`, `${root}/state`);
    await third.sink.write(range(200, 260));
    await third.sink.close();
    assertOnce(await ids(`${root}/logs/all.jsonl`), 260);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("jsonlSink() drops a resend queued behind its original in the same batch, keeps other origins apart", async () => {
  const root = await Deno.makeTempDir();
  try {
    const { sink, ctx } = await openSink(`${root}/logs`, `${root}/state`);
    const batch = [...range(0, 10), ...range(5, 10), ...range(0, 10, "vm2")];
    // An event without an id (syslog) and one whose id has no sequence are always written.
    batch.push(createEvent("no id"), createEvent("odd id", { id: "x:y" }));
    await sink.write(batch);
    assert.equal(ctx.stats.counters.duplicates, 5);
    await sink.close();
    const text = await Deno.readTextFile(`${root}/logs/all.jsonl`);
    assert.equal(text.trimEnd().split("\n").length, 22);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("jsonlSink() dedup holds across a rotation and a crash right after it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const options = { maxFileBytes: 4000 };
    const first = await openSink(`${root}/logs`, `${root}/state`, options);
    await first.sink.write(range(0, 20));
    await first.state.flush();
    for (let n = 20; n < 60; n += 10) await first.sink.write(range(n, n + 10));
    assert.ok((first.ctx.stats.counters.rotations ?? 0) >= 1);
    const second = await openSink(`${root}/logs`, `${root}/state`, options);
    await second.sink.write(range(0, 70));
    await second.sink.close();
    const all: string[] = [];
    for (const suffix of [".5", ".4", ".3", ".2", ".1", ""]) {
      try {
        all.push(...await ids(`${root}/logs/all.jsonl${suffix}`));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
    assertOnce(all, 70);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("jsonlSink() caps distinct files per day: new hosts beyond the cap go to _other.jsonl, counted, warned once", async () => {
  const root = await Deno.makeTempDir();
  const warnings: string[] = [];
  try {
    const state = await fileState(`${root}/state`, "by_vm", 60_000);
    const ctx = {
      ...context(state),
      log: { ...quiet, warn: (m: string) => warnings.push(m) } as typeof quiet,
    };
    const sink = jsonlSink({
      dir: `${root}/logs`,
      path: "by_vm/${HOST}.jsonl",
      line: jsonLine,
      maxPathsPerDay: 3,
    });
    await sink.open(ctx);
    const hosts = ["a", "b", "c", "d", "e", "a", "\u202eevil\u202d"];
    await sink.write(hosts.map((host, i) => createEvent(`m${i}`, { host })));
    await sink.write([createEvent("again", { host: "f" }), createEvent("known", { host: "b" })]);
    await sink.close();
    const files = [...Deno.readDirSync(`${root}/logs/by_vm`)].map((e) => e.name).sort();
    assert.deepEqual(files, ["_other.jsonl", "a.jsonl", "b.jsonl", "c.jsonl"]);
    const other = (await Deno.readTextFile(`${root}/logs/by_vm/_other.jsonl`)).trimEnd().split(
      "\n",
    );
    assert.deepEqual(other.map((l) => JSON.parse(l).HOST), ["d", "e", "\u202eevil\u202d", "f"]);
    assert.equal(ctx.stats.counters.paths_capped, 4);
    assert.equal(warnings.filter((w) => w.includes("maxPathsPerDay")).length, 1);
    assert.equal((await Deno.readTextFile(`${root}/logs/by_vm/b.jsonl`)).split("\n").length, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("jsonlSink() refuses dedup with a line template that does not carry the id", () => {
  assert.throws(
    () => jsonlSink({ dir: "x", line: "${MSG}\n", dedup: true }),
    /"dedup" needs "line: jsonLine"/,
  );
});

Deno.test("jsonlSink() dedup reads a file back before the first event that goes to it, even mid-batch", async () => {
  const root = await Deno.makeTempDir();
  try {
    const at = (n: number, day: number) => {
      const e = tailed(n);
      e.timestamp = Date.UTC(2026, 10, day, 12);
      e.tzOffset = 0;
      return e;
    };
    const options = { path: "daily/${YEAR}-${MONTH}-${DAY}.jsonl" };
    const first = await openSink(`${root}/logs`, `${root}/state`, options);
    await first.sink.write(Array.from({ length: 100 }, (_, n) => at(n, 23)));
    await first.sink.close();
    await Deno.remove(`${root}/state`, { recursive: true }); // the saved marks are lost
    const second = await openSink(`${root}/logs`, `${root}/state`, options);
    // A new event for another day first, then a replayed one for the day already written.
    await second.sink.write([at(150, 24), at(50, 23), at(151, 24)]);
    await second.sink.close();
    assert.equal(second.ctx.stats.counters.duplicates, 1);
    assertOnce(await ids(`${root}/logs/daily/2026-11-23.jsonl`), 100);
    assertOnce(await ids(`${root}/logs/daily/2026-11-24.jsonl`), 2);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("JsonlMarks: the last origin's pattern is literal: ids whose origins differ only where a regex would match stay apart", async () => {
  const { JsonlMarks } = await import("../../sinks/_jsonl_dedup.ts");
  const marks = new JsonlMarks({ maxOrigins: 100, recoverBytes: 0 });
  const batch = marks.begin();
  const seq = (n: number) => String(n).padStart(12, "0");
  // `.` and `+` and `[a]` would match other text as a pattern; `-` and `\` too inside a class.
  const origin = "vm.1:a+b:[a]-\\:";
  assert.equal(marks.seen(`${origin}${seq(5)}`, batch), false);
  for (const other of ["vmx1:a+b:[a]-\\:", "vm.1:aab:[a]-\\:", "vm.1:a+b:a-\\:", "x" + origin]) {
    assert.equal(marks.seen(`${other}${seq(1)}`, batch), false, other);
  }
  marks.commit(batch);
  const next = marks.begin();
  assert.equal(marks.seen(`${origin}${seq(5)}`, next), true);
  assert.equal(marks.seen(`${origin}${seq(4)}`, next), true);
  assert.equal(marks.seen(`${origin}${seq(6)}`, next), false);
  // A tail that is not all lowercase hex, or too short, is not this origin's number.
  assert.equal(marks.seen(`${origin}00000000000G`, next), false);
  assert.equal(marks.seen(`${origin}0000000001\n`, next), false);
});
