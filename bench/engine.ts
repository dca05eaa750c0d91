/**
 * Engine throughput: generator → JSON step → blackhole, beside generator →
 * blackhole in the same run, so the engine's own cost per event shows.
 *
 * @module
 */

import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type LogEvent,
  type Source,
} from "../mod.ts";
import { blackholeSink } from "../sinks/blackhole.ts";
import { syntheticAlert } from "../sources/generator.ts";
import { type MeasuredRow, type MeasuredScenario, median } from "./lib.ts";
import { memoryFields, withMemory } from "./_memory.ts";

/** A source that replays pre-made lines, so generation is not what is measured. */
function replaySource(lines: string[], batchSize = 1000): Source {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    kind: "replay",
    done,
    start(ctx) {
      (async () => {
        for (let i = 0; i < lines.length; i += batchSize) {
          const n = Math.min(batchSize, lines.length - i);
          const batch: LogEvent[] = new Array(n);
          for (let j = 0; j < n; j++) batch[j] = createEvent(lines[i + j] as string);
          await ctx.emit(batch);
        }
        resolveDone();
      })();
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}

async function eventsPerSecond(lines: string[], withJson: boolean): Promise<number> {
  const steps = withJson
    ? [{
      kind: "json",
      parse(e: LogEvent) {
        try {
          e.fields.json = JSON.parse(e.message);
          return true;
        } catch {
          return false;
        }
      },
    }]
    : [];
  const engine = new Engine(
    definePipeline({ paths: [{ from: [replaySource(lines)], steps, to: [blackholeSink()] }] }),
    { logger: createLogger("warn") },
  );
  const t0 = performance.now();
  await engine.start();
  await engine.done;
  await engine.stop();
  return lines.length / ((performance.now() - t0) / 1000);
}

/** The engine scenario. */
export const scenario: MeasuredScenario = async ({ quick }) => {
  const n = quick ? 100_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  const lines = Array.from({ length: n }, (_, i) => syntheticAlert(i));
  const t0 = performance.now();
  for (const line of lines) JSON.parse(line);
  const parseOnly = n / ((performance.now() - t0) / 1000);
  const bare = await withMemory(() => median(runs, () => eventsPerSecond(lines, false)));
  const json = await withMemory(() => median(runs, () => eventsPerSecond(lines, true)));
  const engineNsPerEvent = 1e9 / bare.value;
  const rows: MeasuredRow[] = [
    {
      scenario: "engine",
      subject: "replay → blackhole (engine only)",
      value: bare.value,
      unit: "events/s",
      ...memoryFields(bare.memory),
      note: `${engineNsPerEvent.toFixed(0)} ns of engine work per event; memory: the bench process`,
    },
    {
      scenario: "engine",
      subject: "replay → json step → blackhole",
      value: json.value,
      unit: "events/s",
      ...memoryFields(json.memory),
      reference: { subject: "JSON.parse alone over the same lines", value: parseOnly },
    },
  ];
  return rows;
};
