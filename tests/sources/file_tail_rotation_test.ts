import assert from "node:assert/strict";
import {
  append,
  assertExactlyOnce,
  encoder,
  lines,
  offsetOf,
  run,
  seqOf,
  until,
} from "./_file_tail_helpers.ts";

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
