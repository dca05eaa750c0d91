/**
 * Runs a sink on its own thread (a Web Worker), so its work — SQLite's
 * inserts and commits, typically — runs beside the engine instead of
 * taking turns with it on the event loop.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Logger } from "../core/log.ts";
import type { ComponentStats } from "../core/stats.ts";
import type { RowSink, Sink, SinkContext } from "../core/types.ts";
import type { WorkerSinkAnswer, WorkerSinkRequest } from "./_worker_host.ts";

/** Options for {@linkcode workerSink}. */
export interface WorkerSinkOptions {
  /** The module exporting the sink's factory, as a URL (`new URL("./siem/schema.ts", import.meta.url)`). */
  module: string | URL;
  /** The factory's export name (`"siemSqliteSink"`). */
  factory: string;
  /**
   * The factory's options. They cross to the worker by structured clone:
   * strings, numbers, plain objects and arrays, not functions.
   */
  options?: unknown;
  /**
   * Sinks given the same thread name share one worker: their synchronous
   * work never overlaps (two sinks on one SQLite file never wait for each
   * other's lock), and a second isolate is not paid twice. @default a worker of its own
   */
  thread?: string;
  /** A name for stats and logs. */
  name?: string;
  /** The most events per `write()`. @default {2000} */
  maxBatch?: number;
  /**
   * Events queued, in flight included, before sources are held back. It
   * needs room for a batch beyond the `concurrency` ones in flight, or the
   * engine waits for every write and the two threads take turns instead of
   * working side by side. @default {(concurrency + 1) × maxBatch}
   */
  queueSize?: number;
  /**
   * Batches sent to the worker before the first is answered: with 2, the
   * next batch's rows are rendered here while the worker stores the last
   * one. The worker still writes one batch at a time, in order. @default {2}
   */
  concurrency?: number;
}

/**
 * A sink that builds another sink on a worker thread from a module and a
 * factory name, and hands it every batch. The inner sink's counters and log
 * lines come back with each answer and appear under this sink's name; a
 * failed write rejects here, so the engine retries it as usual. Events
 * cross by structured clone (about 3 µs an event); a field that cannot be
 * cloned (a function) is sent as JSON instead.
 *
 * Use it for a sink whose work is CPU on the main thread — `node:sqlite` is
 * synchronous — when the machine has a core to spare. It costs a second
 * V8 isolate (about 10 MB resident). A sink that renders its rows apart
 * from storing them (`sqliteSink`'s `prepareRows`/`writeRows`) renders on
 * this thread and sends only the rows; a row SQLite then refuses is
 * dead-lettered with its values instead of the whole event.
 *
 * @param options Module, factory and its options.
 * @returns The sink.
 * @throws {TypeError} When `module` or `factory` is missing.
 *
 * @example The central's SIEM database on its own thread
 * ```ts
 * import { workerSink } from "./worker.ts";
 * const db = workerSink({
 *   module: new URL("../siem/schema.ts", import.meta.url),
 *   factory: "siemSqliteSink",
 *   options: { database: "./data/siem.db" },
 *   name: "db",
 * });
 * ```
 */
export function workerSink(options: WorkerSinkOptions): Sink {
  const where = "workerSink";
  const module = options?.module instanceof URL ? options.module.href : options?.module;
  if (typeof module !== "string" || module === "") {
    throw new TypeError(`${where}: "module" must be a module URL`);
  }
  if (typeof options.factory !== "string" || options.factory === "") {
    throw new TypeError(`${where}: "factory" must be the name of an exported function`);
  }
  const maxBatch = options.maxBatch ?? 2000;
  const concurrency = options.concurrency ?? 2;
  let thread: _Thread | undefined;
  const id = ++_sinks;

  const send = (req: WorkerSinkRequest): Promise<WorkerSinkAnswer> => {
    const t = thread;
    if (!t) return Promise.reject(new Error(`${where}: the sink is not open`));
    if (t.broken) return Promise.reject(new Error(`${where}: the worker failed: ${t.broken}`));
    return new Promise((resolve) => {
      t.pending.set(req.seq, resolve);
      t.worker.postMessage(req);
    });
  };
  let stats: ComponentStats | undefined;
  let log: Logger | undefined;
  let name = options.name ?? "worker";

  // A row sink (sqliteSink, vmsSink: prepareRows apart from writeRows) renders here and sends
  // the rows: plain values cross cheaper than events, and the worker's heap holds no event trees.
  let local: RowSink<unknown> | undefined;
  let probed = false;
  let restarting: Promise<void> | undefined;

  const start = async (): Promise<void> => {
    if (!probed) {
      probed = true;
      try {
        const made = (await import(module))[options.factory]?.(options.options) as unknown;
        if (_isRowSink(made)) local = made;
      } catch {
        // Built on the worker only; its own error is reported from there.
      }
    }
    thread = _attach(options.thread, log);
    const answer = await send({
      op: "open",
      seq: ++_seq,
      sink: id,
      module,
      factory: options.factory,
      options: options.options,
      name,
    });
    try {
      settle(answer, `opening ${options.factory}`);
    } catch (err) {
      _detach(thread);
      thread = undefined;
      throw err;
    }
  };

  const settle = (answer: WorkerSinkAnswer, what: string): void => {
    if (stats) {
      for (const [k, v] of Object.entries(answer.stats.counters)) stats.add(k, v);
      for (const [k, v] of Object.entries(answer.stats.gauges)) stats.set(k, v);
      stats.errors += answer.stats.errors;
    }
    for (const [level, message, extra] of answer.logs) {
      log?.[level](message, extra as Record<string, unknown> | undefined);
    }
    if (answer.error !== undefined) throw new Error(`${where}: ${what}: ${answer.error}`);
  };

  return {
    kind: "worker",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    queueSize: options.queueSize ?? (concurrency + 1) * maxBatch,
    concurrency,
    async open(ctx: SinkContext): Promise<void> {
      stats = ctx.stats;
      log = ctx.log;
      name = ctx.name;
      await start();
    },
    async write(batch: readonly LogEvent[]): Promise<void> {
      if (batch.length === 0) return;
      // With two writes in flight, both may find the worker dead: one starts the new one.
      if (restarting) await restarting;
      if (thread?.broken) {
        // The worker died (an uncaught error, out of memory): a new one opens the sink again,
        // and this batch, rejected before, is written there.
        log?.warn("starting a new worker", { after: thread.broken });
        _detach(thread);
        thread = undefined;
        restarting = start().finally(() => (restarting = undefined));
        await restarting;
      }
      let answer: WorkerSinkAnswer;
      const seq = ++_seq;
      if (local) {
        settle(await send({ op: "rows", seq, sink: id, rows: local.prepareRows(batch) }), "write");
        return;
      }
      try {
        answer = await send({ op: "write", seq, sink: id, batch: batch as LogEvent[] });
      } catch (err) {
        if (!(err instanceof DOMException && err.name === "DataCloneError")) throw err;
        // A field holds something structured clone refuses: send the fields as JSON.
        thread?.pending.delete(seq);
        answer = await send({ op: "write", seq: ++_seq, sink: id, batch: batch.map(_cloneable) });
      }
      settle(answer, "write");
    },
    async close(): Promise<void> {
      const t = thread;
      if (!t) return;
      try {
        settle(await send({ op: "close", seq: ++_seq, sink: id }), "close");
      } finally {
        _detach(t);
        thread = undefined;
      }
    },
  };
}

function _isRowSink(value: unknown): value is RowSink<unknown> {
  const v = value as Partial<RowSink<unknown>> | null;
  return typeof v?.prepareRows === "function" && typeof v.writeRows === "function";
}

/** A worker and the sinks using it. */
interface _Thread {
  worker: Worker;
  name: string | undefined;
  users: number;
  pending: Map<number, (answer: WorkerSinkAnswer) => void>;
  /** Why the worker died, once it has. */
  broken: string | undefined;
}

let _sinks = 0;
let _seq = 0;
const _threads = new Map<string, _Thread>();

function _attach(name: string | undefined, log: Logger | undefined): _Thread {
  const shared = name === undefined ? undefined : _threads.get(name);
  if (shared) {
    shared.users++;
    return shared;
  }
  const worker = new Worker(new URL("./_worker_host.ts", import.meta.url), { type: "module" });
  const t: _Thread = { worker, name, users: 1, pending: new Map(), broken: undefined };
  worker.onmessage = (e: MessageEvent<WorkerSinkAnswer>) => {
    const done = t.pending.get(e.data.seq);
    t.pending.delete(e.data.seq);
    done?.(e.data);
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    const message = e.message || "the worker failed";
    log?.error("worker failed", { error: message });
    // An uncaught error ends the worker: its sinks start a new one at their next write.
    t.broken = message;
    worker.terminate();
    if (name !== undefined && _threads.get(name) === t) _threads.delete(name);
    for (const [seq, done] of t.pending) {
      done({ seq, error: message, stats: { counters: {}, gauges: {}, errors: 0 }, logs: [] });
    }
    t.pending.clear();
  };
  if (name !== undefined) _threads.set(name, t);
  return t;
}

function _detach(t: _Thread): void {
  if (--t.users > 0) return;
  if (!t.broken) t.worker.terminate();
  if (t.name !== undefined && _threads.get(t.name) === t) _threads.delete(t.name);
}

function _cloneable(e: LogEvent): LogEvent {
  let fields: LogEvent["fields"];
  try {
    fields = JSON.parse(
      JSON.stringify(e.fields, (_k, v) => typeof v === "bigint" ? String(v) : v) ?? "{}",
    );
  } catch {
    fields = { sluice_fields_error: "fields could not be copied to the worker" };
  }
  return { ...e, fields };
}
