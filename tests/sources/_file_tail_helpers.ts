/**
 * Helpers of the file-tail source's tests (file_tail_test,
 * file_tail_rotation_test): a collecting sink, an engine around the
 * source, appends, and exactly-once checks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { fileTailSource, type FileTailSourceOptions } from "../../sources/file_tail.ts";

/** UTF-8 encoder. */
export const encoder = new TextEncoder();

/** A sink that keeps what it was given. */
export interface Collector extends Sink {
  /** Every event written, in order. */
  events: LogEvent[];
}

/**
 * A sink that collects events, each write delayed by `delayMs`.
 *
 * @example
 * ```ts ignore
 * const sink = collector(5);
 * ```
 */
export function collector(delayMs = 0): Collector {
  const events: LogEvent[] = [];
  return {
    kind: "collect",
    events,
    open: () => Promise.resolve(),
    async write(batch) {
      if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
      events.push(...batch);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Runs an engine with one file-tail source (host `h`, 50 ms polls) into `sink`.
 *
 * @example
 * ```ts ignore
 * const { engine, sink, stats } = await run({ path }, stateDir);
 * ```
 */
export async function run(options: FileTailSourceOptions, stateDir: string, sink = collector()) {
  const engine = new Engine(
    definePipeline({
      sources: { tail: fileTailSource({ host: "h", pollMs: 50, ...options }) },
      paths: [{ from: ["tail"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("warn") },
  );
  await engine.start();
  return { engine, sink, stats: engine.stats.get("tail")! };
}

/**
 * Waits until `test()` holds, at most `ms`; the error names `what`.
 *
 * @example
 * ```ts ignore
 * await until("10 lines", () => sink.events.length === 10);
 * ```
 */
export async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Appends text or bytes to a file, creating it.
 *
 * @example
 * ```ts ignore
 * await append(path, lines(0, 10));
 * ```
 */
export async function append(path: string, text: string | Uint8Array): Promise<void> {
  const f = await Deno.open(path, { append: true, create: true });
  try {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    let done = 0;
    while (done < bytes.length) done += await f.write(bytes.subarray(done));
  } finally {
    f.close();
  }
}

/**
 * The line offset at the end of a file-tail event id.
 *
 * @example
 * ```ts ignore
 * offsetOf("h:1:2:abc:000000000042"); // 42
 * ```
 */
export function offsetOf(id: string | undefined): number {
  return Number(id?.slice(id.lastIndexOf(":") + 1));
}

/**
 * Lines `from … to-1`, `line <i> x…`, of varied lengths.
 *
 * @example
 * ```ts ignore
 * lines(0, 3);
 * ```
 */
export function lines(from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i++) text += `line ${i} ${"x".repeat(i % 37)}\n`;
  return text;
}

/**
 * The line number of an event made from {@linkcode lines}.
 *
 * @example
 * ```ts ignore
 * seqOf(event); // 7
 * ```
 */
export function seqOf(e: LogEvent): number {
  return Number(e.message.split(" ")[1]);
}

/**
 * Asserts that lines `0 … n-1` each arrived exactly once.
 *
 * @example
 * ```ts ignore
 * assertExactlyOnce(sink.events, 100_000);
 * ```
 */
export function assertExactlyOnce(events: LogEvent[], n: number): void {
  const seen = new Uint8Array(n);
  const twice: number[] = [];
  for (const e of events) {
    const i = seqOf(e);
    assert.ok(i >= 0 && i < n, `unexpected line ${JSON.stringify(e.message)}`);
    assert.equal(e.message, `line ${i} ${"x".repeat(i % 37)}`);
    if (seen[i]) twice.push(i);
    seen[i] = 1;
  }
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!seen[i]) missing.push(i);
  assert.deepEqual({ missing: missing.slice(0, 10), twice: twice.slice(0, 10) }, {
    missing: [],
    twice: [],
  });
  assert.equal(events.length, n);
}
