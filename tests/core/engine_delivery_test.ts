import assert from "node:assert/strict";
import { definePipeline, Engine, generatorSource, type LogEvent } from "../../mod.ts";
import { collectSink, flakySink, gatedSink, manualSource } from "../fixtures/components.ts";

import { events, quiet, run } from "./_engine_helpers.ts";

Deno.test("Engine: acks fire only after every sink wrote, in emission order", async () => {
  const src = manualSource();
  const slow = gatedSink();
  const fast = collectSink();
  const acks: number[] = [];
  await run({
    paths: [
      { from: [src], steps: [(e) => e.message.startsWith("slow")], to: [slow] },
      { from: [src], to: [fast] },
    ],
  }, async () => {
    await src.emit(events("slow 1"), () => acks.push(1));
    await src.emit(events("fast 2"), () => acks.push(2));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fast.events.length, 2, "the fast sink wrote both batches");
    assert.deepEqual(
      acks,
      [],
      "batch 2 is done but waits for batch 1, which waits for the slow sink",
    );
    slow.release();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(acks, [1, 2]);
  });
});

Deno.test("Engine retries a failing sink with back-off and loses nothing", async () => {
  const src = manualSource();
  const flaky = flakySink(3);
  let acked = 0;
  const engine = await run({
    paths: [{ from: [src], to: [flaky] }],
    retry: { initialMs: 5, maxMs: 20 },
  }, async () => {
    await src.emit(events("a", "b"), () => acked++);
    await src.emit(events("c"), () => acked++);
    while (acked < 2) await new Promise((r) => setTimeout(r, 10));
  });
  assert.deepEqual(flaky.events.map((e) => e.message), ["a", "b", "c"]);
  assert.equal(engine.stats.get("flaky#0")?.errors, 3);
});

Deno.test("Engine back-pressure keeps events in memory bounded while a fast source emits 1M events", async () => {
  let written = 0;
  let emitted = 0;
  let maxHeld = 0;
  const queueSize = 5000;
  const maxBatch = 500;
  const slow = {
    kind: "slow",
    queueSize,
    maxBatch,
    open: () => Promise.resolve(),
    async write(batch: readonly LogEvent[]) {
      await new Promise((r) => setTimeout(r, 0));
      written += batch.length;
    },
    close: () => Promise.resolve(),
  };
  const gen = generatorSource({ count: 1_000_000, batchSize: 1000, message: () => "x" });
  const engine = new Engine(definePipeline({ paths: [{ from: [gen], to: [slow] }] }), {
    logger: quiet,
  });
  const sourceStats = () => engine.stats.components.find((c) => c.type === "source");
  await engine.start();
  const timer = setInterval(() => {
    emitted = sourceStats()?.processed ?? 0;
    maxHeld = Math.max(maxHeld, emitted - written);
  }, 1);
  await engine.done;
  clearInterval(timer);
  await engine.stop();
  assert.equal(written, 1_000_000);
  // Held = the sink queue (capacity) plus one batch being emitted plus one being written.
  assert.ok(maxHeld <= queueSize + 1000 + maxBatch, `held ${maxHeld} events at most`);
  assert.ok(maxHeld > 0);
});

Deno.test("Engine: a step that throws does not stop the pipeline; its events count as unparsed", async () => {
  const src = manualSource();
  const out = collectSink();
  const dead = collectSink();
  await run({
    paths: [{
      from: [src],
      steps: [{
        kind: "boom",
        apply: (e) => {
          if (e.message === "bad") throw new Error("boom");
        },
      }],
      to: [out],
    }],
    deadLetter: dead,
  }, async () => {
    await src.emit(events("good", "bad"));
  });
  assert.deepEqual(out.events.map((e) => e.message), ["good"]);
  assert.deepEqual(dead.events.map((e) => e.message), ["bad"]);
});

Deno.test("Engine: stop() drains queued events before closing sinks", async () => {
  const src = manualSource();
  const slow = collectSink({ delayMs: 20, maxBatch: 10 });
  let acked = 0;
  const engine = new Engine(definePipeline({ paths: [{ from: [src], to: [slow] }] }), {
    logger: quiet,
  });
  await engine.start();
  for (let i = 0; i < 10; i++) {
    await src.emit(events(...Array.from({ length: 10 }, (_, j) => `${i}-${j}`)), () => acked++);
  }
  await engine.stop();
  assert.equal(slow.events.length, 100);
  assert.equal(acked, 10);
});

Deno.test("Engine names sources from the sources record and stamps event.source", async () => {
  const src = manualSource();
  const out = collectSink();
  await run({ sources: { net: src }, paths: [{ from: ["net"], to: [out] }] }, async () => {
    await src.emit(events("x"));
  });
  assert.equal(out.events[0]?.source, "net");
  assert.equal(src.ctx?.name, "net");
});

Deno.test("Engine.stop() returns after the drain timeout even when a sink never succeeds and a source is stuck in emit()", async () => {
  const failing = {
    kind: "down",
    queueSize: 10,
    maxBatch: 10,
    open: () => Promise.resolve(),
    write: () => Promise.reject(new Error("peer down")),
    close: () => Promise.resolve(),
  };
  let acked = 0;
  const src = manualSource();
  const engine = new Engine(
    definePipeline({
      paths: [{ from: [src], to: [failing] }],
      retry: { initialMs: 5, maxMs: 10 },
    }),
    { logger: quiet, drainTimeoutMs: 200 },
  );
  await engine.start();
  await src.emit(events(...Array.from({ length: 10 }, (_, i) => `${i}`)), () => acked++);
  // The queue is full: this emit waits for room that never comes.
  const stuck = src.emit(events("more"), () => acked++);
  await engine.stop();
  await stuck;
  assert.equal(acked, 0, "nothing was written, so nothing is acknowledged");
  assert.ok((engine.stats.get("down#0")?.errors ?? 0) > 0);
});
