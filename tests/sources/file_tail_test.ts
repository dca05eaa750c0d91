import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { fileTailSource, type FileTailSourceOptions } from "../../sources/file_tail.ts";

const encoder = new TextEncoder();

interface Collector extends Sink {
  events: LogEvent[];
}

function collector(delayMs = 0): Collector {
  const events: LogEvent[] = [];
  return {
    kind: "collect",
    events,
    open: () => Promise.resolve(),
    async write(batch) {
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      events.push(...batch);
    },
    close: () => Promise.resolve(),
  };
}

async function run(options: FileTailSourceOptions, stateDir: string, sink = collector()) {
  const engine = new Engine(
    definePipeline({
      sources: { tail: fileTailSource({ host: "h", pollMs: 50, ...options }) },
      paths: [{ from: ["tail"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("warn") },
  );
  await engine.start();
  return { engine, sink, stats: engine.stats.get("tail")! };
}

async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function append(path: string, text: string | Uint8Array): Promise<void> {
  const f = await Deno.open(path, { append: true, create: true });
  try {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    let done = 0;
    while (done < bytes.length) done += await f.write(bytes.subarray(done));
  } finally {
    f.close();
  }
}

function offsetOf(id: string | undefined): number {
  return Number(id?.slice(id.lastIndexOf(":") + 1));
}

function lines(from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i++) text += `line ${i} ${"x".repeat(i % 37)}\n`;
  return text;
}

function seqOf(e: LogEvent): number {
  return Number(e.message.split(" ")[1]);
}

/** Asserts that lines `0 … n-1` each arrived exactly once. */
function assertExactlyOnce(events: LogEvent[], n: number): void {
  const seen = new Uint8Array(n);
  const twice: number[] = [];
  for (const e of events) {
    const i = seqOf(e);
    assert.ok(i >= 0 && i < n, `unexpected line ${JSON.stringify(e.message)}`);
    assert.equal(e.message, `line ${i} ${"x".repeat(i % 37)}`);
    if (seen[i]) twice.push(i);
    seen[i] = 1;
  }
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen[i]) missing.push(i);
  assert.deepEqual({ missing: missing.slice(0, 10), twice: twice.slice(0, 10) }, {
    missing: [],
    twice: [],
  });
  assert.equal(events.length, n);
}

Deno.test("fileTailSource() rejects bad options with a message naming them", () => {
  assert.throws(() => fileTailSource({ path: "" }), /fileTailSource: "path" must be/);
  assert.throws(
    () => fileTailSource({ path: "/x", startAt: "middle" as "end" }),
    /"startAt" must be "beginning" or "end", got "middle"/,
  );
  assert.throws(() => fileTailSource({ path: "/x", maxLineBytes: 0 }), RangeError);
  assert.throws(() => fileTailSource({ path: "/x", pollMs: 1.5 }), /"pollMs"/);
});

Deno.test("fileTailSource() follows appends and holds a partial last line until its newline", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  await append(path, "one\ntwo\n");
  const { engine, sink } = await run({ path }, `${dir}/state`);
  try {
    await until("two lines", () => sink.events.length === 2);
    await append(path, "thr");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(sink.events.length, 2, "a line without its newline must wait");
    await append(path, "ee\r\nfour\n");
    await until("four lines", () => sink.events.length === 4);
    assert.deepEqual(sink.events.map((e) => e.message), ["one", "two", "three", "four"]);
    assert.deepEqual(sink.events.map((e) => offsetOf(e.id)), [0, 4, 8, 15]);
    const e = sink.events[0]!;
    assert.equal(e.host, "h");
    assert.equal(e.fields.file, path);
    assert.equal(e.source, "tail");
    const st = await Deno.stat(path);
    assert.match(e.id!, new RegExp(`^h:${st.dev}:${st.ino}:[0-9a-f]{12}:000000000000$`));
  } finally {
    await engine.stop();
  }
});

Deno.test("fileTailSource() starts existing files at their end when asked, and new files at their beginning", async () => {
  const dir = await Deno.makeTempDir();
  await append(`${dir}/a.log`, "old 1\nold 2\npartial");
  const { engine, sink } = await run({ path: `${dir}/*.log`, startAt: "end" }, `${dir}/state`);
  try {
    await new Promise((resolve) => setTimeout(resolve, 150));
    await append(`${dir}/a.log`, " end\nnew a\n");
    await append(`${dir}/b.log`, "first b\n");
    await until("three lines", () => sink.events.length === 3);
    assert.deepEqual(sink.events.map((e) => e.message).sort(), ["first b", "new a", "partial end"]);
  } finally {
    await engine.stop();
  }
});

Deno.test("fileTailSource() resumes from its checkpoint after a restart, with the same ids", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  await append(path, lines(0, 1000));
  const first = await run({ path }, `${dir}/state`);
  await until("1000 lines", () => first.sink.events.length === 1000);
  await first.engine.stop();
  await append(path, lines(1000, 1500));
  const second = await run({ path }, `${dir}/state`);
  try {
    await until("500 more lines", () => second.sink.events.length === 500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertExactlyOnce([...first.sink.events, ...second.sink.events], 1500);
    const prefix = (id: string) => id.slice(0, id.lastIndexOf(":"));
    assert.equal(prefix(second.sink.events[0]!.id!), prefix(first.sink.events[0]!.id!));
  } finally {
    await second.engine.stop();
  }
});

Deno.test("fileTailSource() cuts a 10 MiB line, counts it and goes on", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  const big = "y".repeat(10 * 1024 * 1024);
  await append(path, `before\n${big}\nafter\n${"z".repeat(100)}\nlast\n`);
  const { engine, sink, stats } = await run({ path, maxLineBytes: 1000 }, `${dir}/state`);
  try {
    await until("five lines", () => sink.events.length === 5);
    const [before, cut, after, cut2, last] = sink.events;
    assert.equal(before!.message, "before");
    assert.equal(cut!.message, "y".repeat(1000));
    assert.equal(cut!.fields.sluice_truncated, true);
    assert.equal(after!.message, "after");
    assert.equal(after!.fields.sluice_truncated, undefined);
    assert.equal(cut2!.message, "z".repeat(100));
    assert.equal(last!.message, "last");
    assert.deepEqual(sink.events.map((e) => offsetOf(e.id)), [
      0,
      7,
      7 + big.length + 1,
      7 + big.length + 7,
      7 + big.length + 7 + 101,
    ]);
    assert.equal(stats.counters.truncated_lines, 1);
  } finally {
    await engine.stop();
  }
});

Deno.test("fileTailSource() holds a cut line until its newline arrives and resumes after it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  await append(path, `a\n${"q".repeat(5000)}`);
  const first = await run({ path, maxLineBytes: 100, readBytes: 1024 }, `${dir}/state`);
  await until("one line", () => first.sink.events.length === 1);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.equal(first.sink.events.length, 1, "the cut line waits for its end");
  await first.engine.stop();
  await append(path, `${"q".repeat(3000)}\nb\n`);
  const second = await run({ path, maxLineBytes: 100, readBytes: 1024 }, `${dir}/state`);
  try {
    await until("two lines", () => second.sink.events.length === 2);
    const [cut, b] = second.sink.events;
    assert.equal(cut!.message, "q".repeat(100));
    assert.equal(offsetOf(cut!.id), 2);
    assert.equal(b!.message, "b");
    assert.equal(offsetOf(b!.id), 2 + 8001);
  } finally {
    await second.engine.stop();
  }
});

Deno.test("fileTailSource() keeps random binary as replacement characters and flags it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bin.log`;
  let seed = 42;
  const bytes = new Uint8Array(300_000);
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bytes[i] = seed >>> 24;
  }
  bytes[bytes.length - 1] = 10;
  await append(path, bytes);
  const { engine, sink, stats } = await run({ path, readBytes: 4096 }, `${dir}/state`);
  try {
    const expected: string[] = [];
    const flagged: boolean[] = [];
    let from = 0;
    for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, from)) {
      const raw = bytes.subarray(from, nl);
      let text = new TextDecoder().decode(raw);
      if (text.endsWith("\r")) text = text.slice(0, -1);
      expected.push(text);
      let valid = true;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(raw);
      } catch {
        valid = false;
      }
      flagged.push(!valid);
      from = nl + 1;
    }
    await until(`${expected.length} lines`, () => sink.events.length === expected.length);
    assert.deepEqual(sink.events.map((e) => e.message), expected);
    assert.deepEqual(sink.events.map((e) => e.fields.sluice_invalid_utf8 === true), flagged);
    assert.ok(flagged.some((f) => f));
    assert.equal(stats.counters.invalid_utf8_lines, flagged.filter((f) => f).length);
  } finally {
    await engine.stop();
  }
});

Deno.test("fileTailSource() follows a glob, picks up new files and tells empty files apart", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/a`);
  await Deno.mkdir(`${dir}/b`);
  await Deno.writeTextFile(`${dir}/a/x.jsonl`, "");
  await Deno.writeTextFile(`${dir}/b/x.jsonl`, "");
  await Deno.writeTextFile(`${dir}/a/skip.txt`, "no\n");
  const { engine, sink, stats } = await run(
    { path: `${dir}/*/*.jsonl`, rotateWaitMs: 300 },
    `${dir}/state`,
  );
  try {
    await until("two files", () => stats.gauges.files === 2);
    await append(`${dir}/a/x.jsonl`, "same\n");
    await append(`${dir}/b/x.jsonl`, "same\n");
    await Deno.mkdir(`${dir}/c`);
    await append(`${dir}/c/new.jsonl`, "same\n");
    await until("three lines", () => sink.events.length === 3);
    const ids = new Set(sink.events.map((e) => e.id));
    assert.equal(ids.size, 3, "identical lines in different files get different ids");
    assert.deepEqual(sink.events.map((e) => e.fields.file).sort(), [
      `${dir}/a/x.jsonl`,
      `${dir}/b/x.jsonl`,
      `${dir}/c/new.jsonl`,
    ]);
  } finally {
    await engine.stop();
  }
  const state = JSON.parse(await Deno.readTextFile(`${dir}/state/source.tail.json`));
  assert.equal(state.files.length, 3, "one checkpoint per file");
  for (const key of state.files) assert.equal(state[key].offset, 5);
});

Deno.test("fileTailSource() finishes a file renamed away before it reads the new one", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  const { engine, sink, stats } = await run({ path, rotateWaitMs: 300 }, `${dir}/state`);
  try {
    let writer = await Deno.open(path, { append: true, create: true });
    let n = 0;
    const write = async (count: number) => {
      await writer.write(encoder.encode(lines(n, n + count)));
      n += count;
    };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        await write(500);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Deno.rename(path, `${path}.${round}`);
      await write(300); // the writer has not reopened yet
      writer.close();
      writer = await Deno.open(path, { append: true, create: true });
      await write(10);
    }
    writer.close();
    await until(`${n} lines`, () => sink.events.length >= n);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertExactlyOnce(sink.events, n);
    const seqs = sink.events.map(seqOf);
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), "old files are finished first");
    await until("three rotated files finished", () => stats.counters.rotations === 3, 5000);
  } finally {
    await engine.stop();
  }
});

Deno.test("fileTailSource() loses and repeats no line of 100,000 across rename, copytruncate and truncation", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  const total = 100_000;
  const { engine, sink, stats } = await run(
    { path: `${path}*`, rotateWaitMs: 200, readBytes: 65536 },
    `${dir}/state`,
  );
  try {
    let writer = await Deno.open(path, { append: true, create: true });
    let n = 0;
    const write = async (count: number) => {
      await writer.write(encoder.encode(lines(n, n + count)));
      n += count;
    };
    const truncations = () => stats.counters.truncations ?? 0;
    while (n < total) {
      await write(250);
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (n === 20_000 || n === 70_000) {
        // rotation by rename, the writer reopening a little later
        await Deno.rename(path, `${path}.${n}`);
        await write(250);
        writer.close();
        writer = await Deno.open(path, { append: true, create: true });
      } else if (n === 40_000 || n === 85_000) {
        // copytruncate: the copy holds what was not read yet
        const before = truncations();
        await Deno.copyFile(path, `${path}.copy${n}`);
        await Deno.truncate(path, 0);
        await until("the truncation", () => truncations() > before);
      } else if (n === 55_000) {
        // plain truncation once everything written was read
        await until("catching up", () => sink.events.length >= n);
        const before = truncations();
        await Deno.truncate(path, 0);
        await until("the truncation", () => truncations() > before);
      }
    }
    writer.close();
    await until(`${total} lines`, () => sink.events.length >= total, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertExactlyOnce(sink.events, total);
    assert.equal(new Set(sink.events.map((e) => e.id)).size, total);
    assert.equal(truncations(), 3);
  } finally {
    await engine.stop();
  }
});

Deno.test("fileTailSource() reads a file again that was truncated and refilled while it was stopped", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  await append(path, "first 1\nfirst 2\n");
  const first = await run({ path }, `${dir}/state`);
  await until("two lines", () => first.sink.events.length === 2);
  await first.engine.stop();
  await Deno.writeTextFile(path, "second 1 is longer than what was there\nsecond 2\n");
  const second = await run({ path }, `${dir}/state`);
  try {
    await until("two lines", () => second.sink.events.length === 2);
    assert.deepEqual(second.sink.events.map((e) => e.message), [
      "second 1 is longer than what was there",
      "second 2",
    ]);
    const ids = new Set([...first.sink.events, ...second.sink.events].map((e) => e.id));
    assert.equal(ids.size, 4, "the new content gets new ids");
    assert.equal(second.stats.counters.truncations, 1);
  } finally {
    await second.engine.stop();
  }
});

Deno.test("fileTailSource() finishes a file rotated while it was stopped", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/app.log`;
  await append(path, lines(0, 100));
  const first = await run({ path }, `${dir}/state`);
  await until("100 lines", () => first.sink.events.length === 100);
  await first.engine.stop();
  await append(path, lines(100, 150));
  await Deno.rename(path, `${path}.1`);
  await append(path, lines(150, 200));
  const second = await run({ path, rotateWaitMs: 100 }, `${dir}/state`);
  try {
    await until("100 more lines", () => second.sink.events.length === 100);
    assertExactlyOnce([...first.sink.events, ...second.sink.events], 200);
    assert.deepEqual(second.sink.events.map(seqOf).slice(0, 3), [100, 101, 102]);
    await until("the rotated file's checkpoint to go", () => {
      const state = JSON.parse(Deno.readTextFileSync(`${dir}/state/source.tail.json`));
      return state.files.length === 1;
    }, 5000);
  } finally {
    await second.engine.stop();
  }
});

Deno.test("fileTailSource() survives kill -9 of its process: nothing lost, replays keep their ids", async () => {
  const dir = await Deno.makeTempDir();
  const total = 100_000;
  await append(`${dir}/app.log`, lines(0, total));
  const child = new URL("../fixtures/file_tail/tail_child.ts", import.meta.url).pathname;
  const spawn = (delayMs: number) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, dir, String(delayMs)],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  const outLines = () => {
    let text = "";
    try {
      text = Deno.readTextFileSync(`${dir}/out.tsv`);
    } catch {
      return [];
    }
    const all = text.split("\n");
    all.pop(); // an unfinished line of a killed writer is not acknowledged
    return all;
  };
  const checkpoint = () => {
    try {
      const state = JSON.parse(Deno.readTextFileSync(`${dir}/state/source.tail.json`));
      return state[state.files[0]]?.offset ?? 0;
    } catch {
      return 0;
    }
  };
  const first = spawn(10);
  try {
    await until("a checkpoint", () => checkpoint() > 0 && outLines().length > 20_000, 30_000);
  } finally {
    first.kill("SIGKILL");
    await first.status;
  }
  const saved = checkpoint();
  const before = outLines().length;
  assert.ok(before < total, "killed in the middle of the file");
  const second = spawn(0);
  const lastLine = `line ${total - 1} ${"x".repeat((total - 1) % 37)}`;
  try {
    await until(
      "the last line",
      () => outLines().at(-1)?.endsWith(`\t${lastLine}`) ?? false,
      30_000,
    );
  } finally {
    second.kill("SIGKILL");
    await second.status;
  }
  const rows = outLines().map((l) => l.split("\t") as [string, string]);
  const idsByLine = new Map<string, Set<string>>();
  for (const [id, message] of rows) {
    let ids = idsByLine.get(message);
    if (!ids) idsByLine.set(message, ids = new Set());
    ids.add(id);
  }
  assert.equal(idsByLine.size, total, "every line arrived");
  for (const [message, ids] of idsByLine) assert.equal(ids.size, 1, `one id for ${message}`);
  // The second run starts exactly at the checkpoint the first one saved: what it
  // reads twice is what the first run wrote but had not yet acknowledged.
  assert.equal(offsetOf(rows[before]![0]), saved, "the restart begins at the checkpoint");
  const firstRun = rows.slice(0, before).map(([id]) => offsetOf(id));
  const replayed = rows.slice(before).filter(([id]) => offsetOf(id) <= firstRun.at(-1)!);
  assert.equal(replayed.length, firstRun.filter((o) => o >= saved).length);
  assert.equal(rows.length, total + replayed.length);
});
