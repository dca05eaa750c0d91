import assert from "node:assert/strict";
import {
  AckSequencer,
  type AckTracker,
  ComponentStats,
  createEvent,
  createLogger,
  type LogEvent,
  type Sink,
  SinkQueue,
} from "../../mod.ts";

/** A sink whose writes take a while: it records how many overlap and what landed. */
function slowSink(options: { concurrency?: number; failFirstWriteOf?: string } = {}) {
  const state = { inFlight: 0, most: 0, landed: [] as string[], attempts: 0 };
  let failed = false;
  const sink: Sink = {
    kind: "slow",
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    open: () => Promise.resolve(),
    async write(batch: readonly LogEvent[]) {
      state.attempts++;
      state.inFlight++;
      state.most = Math.max(state.most, state.inFlight);
      try {
        await new Promise((r) => setTimeout(r, 15));
        if (!failed && batch.some((e) => e.message === options.failFirstWriteOf)) {
          failed = true;
          throw new Error("disk full, for now");
        }
        state.landed.push(...batch.map((e) => e.message));
      } finally {
        state.inFlight--;
      }
    },
    close: () => Promise.resolve(),
  };
  return { sink, state };
}

async function run(sink: Sink, concurrency: number | undefined) {
  const queue = new SinkQueue(
    sink,
    new ComponentStats("sink", "s", "slow"),
    createLogger("silent"),
    {
      capacity: 100,
      maxBatch: 10,
      retryInitialMs: 5,
      retryMaxMs: 5,
      ...(concurrency ? { concurrency } : {}),
    },
  );
  queue.start();
  const sequencer = new AckSequencer();
  const trackers: AckTracker[] = [];
  for (let b = 0; b < 5; b++) {
    const tracker = sequencer.track(undefined);
    tracker.expect();
    tracker.seal();
    trackers.push(tracker);
    await queue.enqueue(
      Array.from({ length: 10 }, (_, i) => createEvent(`e${b * 10 + i}`)),
      tracker,
    );
  }
  await queue.drain();
  await queue.stop();
  return trackers;
}

const all = Array.from({ length: 50 }, (_, i) => `e${i}`);

Deno.test("a sink writes one batch at a time unless it asks for more", async () => {
  const { sink, state } = slowSink();
  const trackers = await run(sink, undefined);
  assert.equal(state.most, 1);
  assert.deepEqual(state.landed, all);
  assert.ok(trackers.every((t) => t.done));
});

Deno.test("a sink with concurrency 2 has two batches in flight; every event lands once and is acknowledged", async () => {
  const { sink, state } = slowSink({ concurrency: 2 });
  const trackers = await run(sink, 2);
  assert.equal(state.most, 2);
  assert.deepEqual([...state.landed].sort(), [...all].sort());
  assert.equal(state.landed.length, 50);
  assert.ok(trackers.every((t) => t.done));
});

Deno.test("with two in flight, a failed batch is retried on its own while the next one lands", async () => {
  const { sink, state } = slowSink({ concurrency: 2, failFirstWriteOf: "e0" });
  const trackers = await run(sink, 2);
  assert.equal(state.attempts, 6, "five batches, one of them twice");
  assert.deepEqual([...state.landed].sort(), [...all].sort());
  assert.equal(state.landed.length, 50, "nothing written twice");
  // The second batch did not wait for the first one's retry.
  assert.ok(state.landed.indexOf("e10") < state.landed.indexOf("e0"), state.landed.join(" "));
  assert.ok(trackers.every((t) => t.done));
});
