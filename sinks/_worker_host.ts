/**
 * The worker side of {@linkcode workerSink}: builds each sink it is asked
 * for from its module and factory, and runs their `open`, `write` and
 * `close` for the main thread, reporting counters and log lines back with
 * every answer. Several sinks may share one worker (one thread): their
 * synchronous work then never overlaps, so sinks on the same SQLite file
 * never wait for each other's lock.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { Logger } from "../core/log.ts";
import { memoryState } from "../core/state.ts";
import { ComponentStats } from "../core/stats.ts";
import type { LogEvent } from "../core/event.ts";
import type { RowSink, Sink } from "../core/types.ts";

/** A request from the main thread, for the sink numbered `sink`. */
export type WorkerSinkRequest =
  & { seq: number; sink: number }
  & (
    | { op: "open"; module: string; factory: string; options: unknown; name: string }
    | { op: "write"; batch: LogEvent[] }
    | { op: "rows"; rows: unknown }
    | { op: "close" }
  );

/** Counter and gauge changes since the last answer. */
export interface WorkerSinkStats {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  errors: number;
}

/** An answer to one request. */
export interface WorkerSinkAnswer {
  seq: number;
  error?: string;
  stats: WorkerSinkStats;
  logs: Array<[level: "debug" | "info" | "warn" | "error", message: string, extra?: unknown]>;
}

interface _Hosted {
  sink: Sink | undefined;
  stats: ComponentStats;
  reported: WorkerSinkStats;
  logs: WorkerSinkAnswer["logs"];
  abort: AbortController;
}

const hosted = new Map<number, _Hosted>();

function _logger(h: _Hosted): Logger {
  const make = (): Logger => ({
    debug: (m, x) => void h.logs.push(["debug", m, x]),
    info: (m, x) => void h.logs.push(["info", m, x]),
    warn: (m, x) => void h.logs.push(["warn", m, x]),
    error: (m, x) => void h.logs.push(["error", m, x]),
    child: () => make(),
  });
  return make();
}

function _delta(h: _Hosted): WorkerSinkStats {
  const { stats, reported } = h;
  const out: WorkerSinkStats = { counters: {}, gauges: { ...stats.gauges }, errors: 0 };
  for (const [k, v] of Object.entries(stats.counters)) {
    const d = v - (reported.counters[k] ?? 0);
    if (d) out.counters[k] = d;
  }
  out.errors = stats.errors - reported.errors;
  h.reported = { counters: { ...stats.counters }, gauges: {}, errors: stats.errors };
  return out;
}

async function _handle(req: WorkerSinkRequest): Promise<void> {
  let h = hosted.get(req.sink);
  if (!h) {
    h = {
      sink: undefined,
      stats: new ComponentStats("sink", "worker", "worker"),
      reported: { counters: {}, gauges: {}, errors: 0 },
      logs: [],
      abort: new AbortController(),
    };
    hosted.set(req.sink, h);
  }
  let error: string | undefined;
  try {
    if (req.op === "open") {
      const module = await import(req.module);
      const factory = module[req.factory];
      if (typeof factory !== "function") {
        throw new TypeError(`"${req.factory}" is not a function exported by ${req.module}`);
      }
      const sink = factory(req.options) as Sink;
      h.stats = new ComponentStats("sink", req.name, sink.kind);
      h.reported = { counters: {}, gauges: {}, errors: 0 };
      await sink.open({
        name: req.name,
        stats: h.stats,
        state: memoryState(),
        log: _logger(h),
        signal: h.abort.signal,
      });
      h.sink = sink;
    } else if (req.op === "write") {
      if (!h.sink) throw new Error("write() before open()");
      await h.sink.write(req.batch);
    } else if (req.op === "rows") {
      const sink = h.sink as Partial<RowSink<unknown>> | undefined;
      if (!sink?.writeRows) throw new Error("rows for a sink without writeRows()");
      await sink.writeRows(req.rows);
    } else {
      h.abort.abort();
      await h.sink?.close();
      h.sink = undefined;
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  const answer: WorkerSinkAnswer = { seq: req.seq, stats: _delta(h), logs: h.logs };
  if (error !== undefined) answer.error = error;
  h.logs = [];
  if (req.op === "close" || (req.op === "open" && error !== undefined)) hosted.delete(req.sink);
  self.postMessage(answer);
}

// Requests run one after another, in the order they came, whichever sink they are for: a write
// may arrive while the last one is still storing (the sink's concurrency), and two sinks on this
// thread (siem.db's alerts and vms) must not interleave at their awaits. They did: one sink's
// BEGIN IMMEDIATE, then an await, then the other's BEGIN found the file locked and slept 20 ms or
// more, a few times per 10,000 events (the central with SQLite on a worker stored 7-11k msg/s
// instead of 50k with batches of 250-500).
let _chain: Promise<void> = Promise.resolve();

self.onmessage = (e: MessageEvent<WorkerSinkRequest>) => {
  const req = e.data;
  _chain = _chain.then(() => _handle(req)).catch(() => {});
};
