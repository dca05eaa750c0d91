import assert from "node:assert/strict";
import { fileTailSource } from "../../sources/file_tail.ts";
import { append, assertExactlyOnce, lines, offsetOf, run, until } from "./_file_tail_helpers.ts";

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
