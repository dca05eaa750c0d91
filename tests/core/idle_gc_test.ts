import assert from "node:assert/strict";
import { ComponentStats, createLogger, memoryState } from "../../mod.ts";
import { DatabaseSync } from "node:sqlite";
import { cpuIdleCollector, sqliteShrinker } from "../../core/idle_gc.ts";

function context() {
  return {
    name: "memory",
    log: createLogger("silent"),
    signal: new AbortController().signal,
    state: memoryState(),
    stats: new ComponentStats("service", "memory", "idle-gc"),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("cpuIdleCollector() collects once per idle stretch and again after a busy one", async () => {
  let cpuUs = 0;
  let collections = 0;
  const service = cpuIdleCollector({
    firstMs: 5,
    everyMs: 20,
    collect: () => void collections++,
    cpu: () => cpuUs,
  });
  await service.start(context());
  try {
    await sleep(120);
    assert.equal(collections, 1, "one collection for one idle stretch");
    // Busy: a core's worth of CPU per interval.
    const busy = setInterval(() => (cpuUs += 40_000), 10);
    await sleep(120);
    const during = collections;
    clearInterval(busy);
    assert.equal(during, 1, "nothing collected while busy");
    await sleep(120);
    assert.equal(collections, 2, "collected again once idle");
  } finally {
    await service.stop();
  }
});

Deno.test("cpuIdleCollector() collects with V8's own gc function", async () => {
  const ctx = context();
  const service = cpuIdleCollector({ firstMs: 1, cpu: () => 0 });
  await service.start(ctx);
  try {
    for (let i = 0; i < 100 && !ctx.stats.counters.collections; i++) await sleep(10);
    assert.equal(ctx.stats.counters.collections, 1);
  } finally {
    await service.stop();
  }
});

Deno.test("cpuIdleCollector() shrinks caches before each collection, and a failing shrink does not stop it", async () => {
  const order: string[] = [];
  let fail = true;
  const service = cpuIdleCollector({
    firstMs: 1,
    everyMs: 5,
    cpu: () => 0,
    shrink: () => {
      order.push("shrink");
      if (fail) {
        fail = false;
        throw new Error("closed");
      }
    },
    collect: () => void order.push("collect"),
  });
  await service.start(context());
  try {
    for (let i = 0; i < 100 && order.length < 2; i++) await sleep(10);
    assert.deepEqual(order, ["shrink", "collect"], "the shrink's error was caught");
  } finally {
    await service.stop();
  }
});

Deno.test("sqliteShrinker() shrinks open connections and skips closed or absent ones", () => {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t (x TEXT)");
  db.prepare("INSERT INTO t VALUES (?)").run("x");
  const calls: string[] = [];
  const shrink = sqliteShrinker([
    { db },
    { db: { exec: (sql: string) => void calls.push(sql) } },
    {},
    undefined,
    {
      get db(): DatabaseSync {
        throw new Error("the sink is not open");
      },
    },
  ]);
  shrink();
  assert.deepEqual(calls, ["PRAGMA shrink_memory"]);
  // Only the cache is freed: the rows are still there.
  assert.equal((db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n, 1);
  db.close();
  shrink();
  assert.equal(calls.length, 2);
});
