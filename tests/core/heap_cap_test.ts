import assert from "node:assert/strict";
import { getHeapSpaceStatistics } from "node:v8";
import { ComponentStats, createLogger, memoryState } from "../../mod.ts";
import { heapCap } from "../../core/heap_cap.ts";

function context() {
  return {
    name: "heap",
    log: createLogger("silent"),
    signal: new AbortController().signal,
    state: memoryState(),
    stats: new ComponentStats("service", "heap", "heap-cap"),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MIB = 1024 * 1024;

Deno.test("heapCap() collects each time the old generation grew by the step, and counts it", async () => {
  let old = 10 * MIB;
  let collections = 0;
  const ctx = context();
  const service = heapCap({
    stepMb: 4,
    busyMs: 5,
    quietMs: 5,
    oldUsed: () => old,
    // A collection leaves the live 10 MiB.
    collect: () => {
      collections++;
      old = 10 * MIB;
      return true;
    },
  });
  await service.start(ctx);
  try {
    old = 13 * MIB; // 3 MiB of growth: under the step
    await sleep(40);
    assert.equal(collections, 0);
    old = 15 * MIB; // past 10 + 4
    await sleep(40);
    assert.equal(collections, 1);
    assert.equal(ctx.stats.counters.collections, 1);
    // V8 collected on its own down to 6 MiB: the next step counts from there.
    old = 6 * MIB;
    await sleep(40);
    old = 11 * MIB; // 5 MiB over 6
    await sleep(40);
    assert.equal(collections, 2);
  } finally {
    await service.stop();
  }
  old = 100 * MIB;
  await sleep(40);
  assert.equal(collections, 2, "nothing after stop()");
});

Deno.test("heapCap() refuses a step that is not a positive number, naming it", () => {
  for (const stepMb of [0, -1, Number.NaN, Infinity]) {
    assert.throws(() => heapCap({ stepMb }), /"stepMb"/);
  }
});

Deno.test("heapCap() runs real collections while the old generation grows", async () => {
  const ctx = context();
  const service = heapCap({ stepMb: 2, busyMs: 5 });
  const old = () =>
    getHeapSpaceStatistics().find((s) => s.space_name === "old_space")!.space_used_size;
  const start = old();
  await service.start(ctx);
  let grown = 0;
  try {
    // Objects kept across many turns are promoted: the old generation grows steadily (~20 MB).
    const kept: unknown[][] = [];
    for (let round = 0; round < 100 && grown < 16 * MIB; round++) {
      kept.push(Array.from({ length: 2000 }, (_, i) => ({ i, s: `event ${round} ${i}` })));
      await sleep(2);
      grown = old() - start;
    }
    await sleep(30);
  } finally {
    await service.stop();
  }
  assert.ok(grown > 2 * MIB, `the old generation grew by ${(grown / MIB).toFixed(1)} MiB`);
  assert.ok((ctx.stats.counters.collections ?? 0) >= 1, "it collected at least once");
});
