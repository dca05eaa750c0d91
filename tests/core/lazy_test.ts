import assert from "node:assert/strict";
import { ComponentStats, createLogger, memoryState } from "../../mod.ts";
import type { LogEvent } from "../../core/event.ts";
import type { Source, SourceContext } from "../../core/types.ts";
import { lazySource } from "../../core/lazy.ts";

function context(batches: LogEvent[][]): SourceContext {
  return {
    name: "lazy",
    log: createLogger("silent"),
    signal: new AbortController().signal,
    state: memoryState(),
    stats: new ComponentStats("source", "lazy", "generator"),
    emit: (batch: LogEvent[]) => {
      batches.push(batch);
      return Promise.resolve();
    },
  };
}

Deno.test("lazySource() makes its source only at start, then runs it and passes its done on", async () => {
  let made = 0;
  const source = lazySource("generator", async () => {
    made++;
    const { generatorSource } = await import("../../sources/generator.ts");
    return generatorSource({ count: 3 });
  }, "gen");
  assert.equal(made, 0);
  assert.equal(source.kind, "generator");
  assert.equal(source.name, "gen");
  assert.equal(source.done, undefined);
  const batches: LogEvent[][] = [];
  await source.start(context(batches));
  assert.equal(made, 1);
  const done: Promise<void> | undefined = (source as Source).done;
  assert.ok(done instanceof Promise);
  await done;
  await source.stop();
  assert.equal(batches.flat().length, 3);
});

Deno.test("lazySource() stopped while its module loads never starts the source", async () => {
  let started = false;
  let release!: () => void;
  const loaded = new Promise<void>((r) => (release = r));
  const inner: Source = {
    kind: "x",
    start: () => {
      started = true;
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
  const source = lazySource("x", async () => {
    await loaded;
    return inner;
  });
  const starting = source.start(context([]));
  await source.stop();
  release();
  await starting;
  assert.equal(started, false);
  assert.equal(source.done, undefined);
});
