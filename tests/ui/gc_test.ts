import assert from "node:assert/strict";
import { collectGarbage, idleCollector } from "../../ui/_gc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("idleCollector() collects once a run of requests has gone quiet, not during it", async () => {
  let runs = 0;
  const idle = idleCollector({ quietMs: 400, minIntervalMs: 0, collect: () => runs++ });
  try {
    for (let i = 0; i < 5; i++) {
      idle.touch();
      await sleep(20);
    }
    assert.equal(runs, 0, "requests kept coming");
    await sleep(800);
    assert.equal(runs, 1);
    await sleep(500);
    assert.equal(runs, 1, "nothing more without requests");
  } finally {
    idle.stop();
  }
});

Deno.test("idleCollector() keeps collections minIntervalMs apart", async () => {
  const at: number[] = [];
  const idle = idleCollector({
    quietMs: 10,
    minIntervalMs: 600,
    collect: () => at.push(performance.now()),
  });
  try {
    idle.touch();
    await sleep(50);
    idle.touch();
    await sleep(50);
    assert.equal(at.length, 1, "the second run waits");
    await sleep(900);
    assert.equal(at.length, 2);
    assert.ok((at[1] as number) - (at[0] as number) >= 590);
  } finally {
    idle.stop();
  }
});

Deno.test("collectGarbage() gives back the young generation a burst of garbage grew", () => {
  assert.equal(collectGarbage(), true);
  const before = Deno.memoryUsage().heapTotal;
  let keep = 0;
  for (let i = 0; i < 200_000; i++) keep += JSON.stringify({ i, s: "x".repeat(50) }).length;
  assert.ok(keep > 0);
  collectGarbage();
  const after = Deno.memoryUsage().heapTotal;
  assert.ok(
    after <= before + 2e6,
    `heap ${(before / 1e6).toFixed(1)} -> ${(after / 1e6).toFixed(1)} MB`,
  );
});
