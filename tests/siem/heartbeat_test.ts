import assert from "node:assert/strict";
import { createLogger, definePipeline, Engine, type LogEvent, StatsRegistry } from "../../mod.ts";
import { categorize } from "../../siem/categorize.ts";
import { type Heartbeat, heartbeatSource } from "../../sources/heartbeat.ts";
import { collectSink } from "../fixtures/components.ts";

const quiet = createLogger("silent");

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("heartbeatSource() emits at start and then every interval, with the pipeline's health", async () => {
  const stats = new StatsRegistry();
  const out = collectSink({ name: "out" });
  const engine = new Engine(
    definePipeline({
      sources: { beat: heartbeatSource({ interval: 20, host: "vm-7", version: "9.9.9", stats }) },
      paths: [{ from: ["beat"], steps: [categorize()], to: [out] }],
    }),
    { logger: quiet, stats },
  );
  await engine.start();
  try {
    await until(() => out.events.length >= 3, "three heartbeats");
  } finally {
    await engine.stop();
  }
  const events: LogEvent[] = out.events;
  const first = events[0] as LogEvent;
  const beat = JSON.parse(first.message) as Heartbeat;
  assert.deepEqual(first.fields.json, beat);
  assert.equal(first.fields.category, "heartbeat");
  assert.equal(first.host, "vm-7");
  assert.equal(first.program, "sluice-heartbeat");
  assert.equal(beat.type, "heartbeat");
  assert.equal(beat.host, "vm-7");
  assert.equal(beat.agent_version, "9.9.9");
  assert.equal(beat.interval_s, 0.02);
  assert.ok(beat.uptime_s >= 0);
  assert.deepEqual(Object.keys(beat.queues ?? {}), ["out"]);
  assert.deepEqual(beat.sink_errors, { out: 0 });
  assert.deepEqual(beat.lag_bytes, {});
  // Ids are stable in shape and strictly increasing.
  const stamps = events.map((e) => Number((e.id as string).split(":").at(-1)));
  for (let i = 1; i < stamps.length; i++) {
    assert.ok((stamps[i] as number) > (stamps[i - 1] as number));
  }
  assert.match(first.id as string, /^beat:vm-7:\d+$/);
});

Deno.test("heartbeatSource() reports checkpoint lag from lag_bytes gauges", async () => {
  const stats = new StatsRegistry();
  const tail = stats.register("source", "alerts", "file-tail");
  tail.set("lag_bytes:/var/log/alerts.jsonl", 4096);
  tail.set("lag_bytes:/var/log/yara.jsonl", 0);
  const out = collectSink({ name: "fwd" });
  const engine = new Engine(
    definePipeline({
      sources: { beat: heartbeatSource({ interval: 60_000, host: "vm-1", stats }) },
      paths: [{ from: ["beat"], to: [out] }],
    }),
    { logger: quiet, stats },
  );
  await engine.start();
  try {
    await until(() => out.events.length >= 1, "a heartbeat");
  } finally {
    await engine.stop();
  }
  const beat = (out.events[0] as LogEvent).fields.json as Heartbeat;
  assert.deepEqual(beat.lag_bytes, {
    "alerts:/var/log/alerts.jsonl": 4096,
    "alerts:/var/log/yara.jsonl": 0,
  });
  assert.match(beat.agent_version, /^\d+\.\d+\.\d+/);
});

Deno.test("heartbeatSource() refuses an interval that is not positive", () => {
  assert.throws(
    () => heartbeatSource({ interval: 0 }),
    /heartbeatSource: "interval" must be a positive number of ms, got 0/,
  );
});
