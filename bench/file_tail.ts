/**
 * Benchmark: file-tail → blackhole, in lines/s and MB/s, beside a same-run
 * ceiling: a raw Deno read loop over the same file that only counts newlines.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import { blackholeSink } from "../sinks/blackhole.ts";
import { syntheticAlert } from "../sources/generator.ts";
import { fileTailSource } from "../sources/file_tail.ts";
import { type MeasuredRow, type MeasuredScenario, median } from "./lib.ts";
import { memoryFields, withMemory } from "./_memory.ts";

async function writeAlerts(path: string, count: number): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let bytes = 0;
  try {
    for (let i = 0; i < count;) {
      let text = "";
      const end = Math.min(count, i + 10_000);
      for (; i < end; i++) text += syntheticAlert(i) + "\n";
      const chunk = encoder.encode(text);
      bytes += chunk.length;
      let done = 0;
      while (done < chunk.length) done += await file.write(chunk.subarray(done));
    }
  } finally {
    file.close();
  }
  return bytes;
}

/** Reads the file in 1 MiB chunks and counts newlines: what reading alone costs. */
async function rawCount(path: string): Promise<{ seconds: number; lines: number }> {
  const t0 = performance.now();
  const file = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  let lines = 0;
  try {
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      for (let at = buf.indexOf(10); at >= 0 && at < n; at = buf.indexOf(10, at + 1)) lines++;
    }
  } finally {
    file.close();
  }
  return { seconds: (performance.now() - t0) / 1000, lines };
}

async function tail(path: string, lines: number, stateDir: string): Promise<number> {
  await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  const sink = blackholeSink();
  const engine = new Engine(
    definePipeline({
      sources: { tail: fileTailSource({ path, startAt: "beginning", host: "bench" }) },
      paths: [{ from: ["tail"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("warn") },
  );
  const t0 = performance.now();
  await engine.start();
  const until = Date.now() + 300_000;
  while (sink.count < lines) {
    if (Date.now() > until) {
      throw new Error(`file-tail bench: only ${sink.count} of ${lines} lines in 300 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const seconds = (performance.now() - t0) / 1000;
  await engine.stop();
  return seconds;
}

/**
 * Runs the file-tail benchmark.
 *
 * @example
 * ```ts ignore
 * import { scenario } from "./file_tail.ts";
 * console.table(await scenario({ quick: true, dir: await Deno.makeTempDir() }));
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }): Promise<MeasuredRow[]> => {
  const count = quick ? 100_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  const path = `${dir}/alerts.jsonl`;
  const bytes = await writeAlerts(path, count);
  const mb = bytes / 1e6;
  let counted = 0;
  const raw = await median(runs, async () => {
    const r = await rawCount(path);
    counted = r.lines;
    return r.seconds;
  });
  if (counted !== count) {
    throw new Error(`bench file_tail: counted ${counted} lines, wrote ${count}`);
  }
  const { value: tailed, memory } = await withMemory(() =>
    median(runs, () => tail(path, count, `${dir}/state`))
  );
  const note = `${count} JSON alerts, ${mb.toFixed(0)} MB, ${(bytes / count).toFixed(0)} B/line`;
  return [
    {
      scenario: "file-tail",
      subject: "file-tail → blackhole",
      value: count / tailed,
      unit: "lines/s",
      ...memoryFields(memory),
      reference: { subject: "raw read loop counting newlines", value: count / raw },
      note,
    },
    {
      scenario: "file-tail",
      subject: "file-tail → blackhole",
      value: mb / tailed,
      unit: "MB/s",
      ...memoryFields(memory),
      reference: { subject: "raw read loop counting newlines", value: mb / raw },
      note: "includes UTF-8 decoding, one event per line, ids and checkpoints",
    },
  ];
};
