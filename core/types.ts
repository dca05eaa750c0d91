/**
 * The plugin interfaces: {@linkcode Source}, {@linkcode Parser},
 * {@linkcode Filter}, {@linkcode Rewrite} and {@linkcode Sink}, and the
 * contexts the engine hands to sources and sinks. A plugin is any object
 * that satisfies one of them; no registration is needed.
 *
 * @module
 */

import type { LogEvent } from "./event.ts";
import type { ComponentStats } from "./stats.ts";
import type { Logger } from "./log.ts";
import type { StateStore } from "./state.ts";

/**
 * Called once the engine knows a batch is safe: every sink it reached wrote
 * it durably, or it was filtered out. Callbacks of one source fire in the
 * order its batches were emitted.
 */
export type AckCallback = () => void;

/** What the engine gives a source when it starts. */
export interface SourceContext {
  /** The source's name in the pipeline (stable across restarts: use it in ids). */
  readonly name: string;
  /**
   * Hands a batch to the pipeline. Resolves when every target queue has
   * accepted it; while one is full it waits, and the source should stop
   * reading until it resolves (back-pressure). `onAck` fires once the batch
   * is durably written everywhere it went.
   */
  emit(batch: LogEvent[], onAck?: AckCallback): Promise<void>;
  /** The source's counters. */
  readonly stats: ComponentStats;
  /** The source's own persistent state (checkpoints, cursors). */
  readonly state: StateStore;
  /** A logger that names the source. */
  readonly log: Logger;
  /** Aborted when the pipeline stops. */
  readonly signal: AbortSignal;
}

/**
 * Produces events. `start()` begins reading and resolves once the source is
 * listening or reading (it must not wait for the end of input); `stop()`
 * stops reading and resolves once no further `emit()` will be made.
 *
 * @example A source that emits one event
 * ```ts
 * import type { Source } from "./types.ts";
 * import { createEvent } from "./event.ts";
 * const once: Source = {
 *   kind: "once",
 *   async start(ctx) {
 *     await ctx.emit([createEvent("hello")]);
 *   },
 *   async stop() {},
 * };
 * ```
 */
export interface Source {
  /** What kind of source this is (`tcp`, `file-tail`); used in names and stats. */
  readonly kind: string;
  /** An optional name; the pipeline's key or `kind#n` is used otherwise. */
  readonly name?: string;
  /** Starts reading. */
  start(ctx: SourceContext): Promise<void>;
  /** Stops reading. */
  stop(): Promise<void>;
  /**
   * Resolves when the source has no more input (a generator that reached its
   * count, stdin at EOF). Sources that run forever leave it out.
   */
  readonly done?: Promise<void>;
}

/**
 * Parses an event in place. Returns `false` when it could not parse, which
 * the engine counts and routes (see {@linkcode PathDefinition.onUnparsed}).
 * Parsers do no I/O and never throw on bad input.
 *
 * @example A parser that reads `a|b`
 * ```ts
 * import type { Parser } from "./types.ts";
 * const pipe: Parser = {
 *   kind: "pipe",
 *   parse(e) {
 *     const i = e.message.indexOf("|");
 *     if (i < 0) return false;
 *     e.fields.left = e.message.slice(0, i);
 *     return true;
 *   },
 * };
 * ```
 */
export interface Parser {
  /** What kind of parser this is; used in names and stats. */
  readonly kind: string;
  /** An optional name for stats and logs. */
  readonly name?: string;
  /** Parses in place; `false` when the input is not of this format. */
  parse(event: LogEvent): boolean;
}

/**
 * Keeps or drops an event from the rest of a path. Filters do no I/O,
 * never throw on bad input and only read the event: a path's filters see
 * the same event objects as its sibling paths, and the engine copies an
 * event only when it reaches a parser or rewrite (which may change it).
 *
 * @example
 * ```ts
 * import type { Filter } from "./types.ts";
 * const critical: Filter = { kind: "critical", test: (e) => (e.severity ?? 7) <= 2 };
 * ```
 */
export interface Filter {
  /** What kind of filter this is; used in names and stats. */
  readonly kind: string;
  /** An optional name for stats and logs. */
  readonly name?: string;
  /** `true` keeps the event on the path. */
  test(event: LogEvent): boolean;
}

/**
 * Changes an event in place. Rewrites do no I/O and never throw on bad input.
 *
 * @example
 * ```ts
 * import type { Rewrite } from "./types.ts";
 * const upper: Rewrite = { kind: "upper", apply(e) { e.message = e.message.toUpperCase(); } };
 * ```
 */
export interface Rewrite {
  /** What kind of rewrite this is; used in names and stats. */
  readonly kind: string;
  /** An optional name for stats and logs. */
  readonly name?: string;
  /** Changes the event in place. */
  apply(event: LogEvent): void;
}

/** A step of a path: a parser, a filter, a rewrite, or a plain predicate (a filter: it only reads). */
export type Step = Parser | Filter | Rewrite | ((event: LogEvent) => boolean);

/** What the engine gives a sink when it opens. */
export interface SinkContext {
  /** The sink's name in the pipeline. */
  readonly name: string;
  /** The sink's counters. */
  readonly stats: ComponentStats;
  /** The sink's own persistent state. */
  readonly state: StateStore;
  /** A logger that names the sink. */
  readonly log: Logger;
  /** Aborted when the pipeline stops for good. */
  readonly signal: AbortSignal;
}

/**
 * Writes batches. `write()` resolves only once the batch is durable
 * (committed, fsynced, acknowledged by the peer); a rejection makes the
 * engine retry the same batch with back-off. Sinks must treat events as
 * read-only: the same object may reach several sinks.
 *
 * @example A sink that collects into an array
 * ```ts
 * import type { Sink } from "./types.ts";
 * import type { LogEvent } from "./event.ts";
 * const seen: LogEvent[] = [];
 * const collect: Sink = {
 *   kind: "collect",
 *   async open() {},
 *   async write(batch) { seen.push(...batch); },
 *   async close() {},
 * };
 * ```
 */
export interface Sink {
  /** What kind of sink this is; used in names and stats. */
  readonly kind: string;
  /** An optional name for stats and logs. */
  readonly name?: string;
  /** The most events the engine hands to one `write()`. @default {1000} */
  readonly maxBatch?: number;
  /** How many events may wait in this sink's queue before sources are held back. @default {4000} */
  readonly queueSize?: number;
  /**
   * How many `write()` calls may be in flight at once. Above 1, the sink must
   * accept a write while an earlier one is pending (a worker thread that
   * stores one batch while the next is prepared); a failed batch is retried
   * on its own, so batches may land out of order. @default {1}
   */
  readonly concurrency?: number;
  /** Opens files, connections, databases. */
  open(ctx: SinkContext): Promise<void>;
  /** Writes a batch durably. */
  write(batch: readonly LogEvent[]): Promise<void>;
  /** Flushes and closes. */
  close(): Promise<void>;
}

/**
 * A sink whose work splits in two: rendering a batch into plain rows, which
 * touches nothing, and storing them. `write()` is
 * `writeRows(prepareRows(batch))`. `workerSink` renders on the calling
 * thread and sends only the rows to its worker, which stores them: plain
 * values cross cheaper than events. `sqliteSink` and `vmsSink` are row sinks.
 *
 * @example
 * ```ts
 * import type { LogEvent, RowSink } from "../mod.ts";
 * const lengths: number[] = [];
 * const sink: RowSink<number[]> = {
 *   kind: "lengths",
 *   async open() {},
 *   prepareRows: (batch: readonly LogEvent[]) => batch.map((e) => e.message.length),
 *   async writeRows(rows) { lengths.push(...rows); },
 *   write(batch) { return this.writeRows(this.prepareRows(batch)); },
 *   async close() {},
 * };
 * ```
 */
export interface RowSink<Rows> extends Sink {
  /** Renders a batch into rows without touching what the sink writes to. */
  prepareRows(batch: readonly LogEvent[]): Rows;
  /** Stores rows that {@linkcode RowSink.prepareRows} made, as `write()` stores a batch. */
  writeRows(rows: Rows): Promise<void>;
}

/** What the engine gives a service when it starts. */
export interface ServiceContext {
  /** The service's key in the pipeline's `services`. */
  readonly name: string;
  /** A logger that names the service. */
  readonly log: Logger;
  /** Aborted when the pipeline stops. */
  readonly signal: AbortSignal;
  /** The service's own persistent state. */
  readonly state: StateStore;
  /** The service's counters. */
  readonly stats: ComponentStats;
}

/**
 * Something that runs beside the paths for the pipeline's whole life and
 * moves no events itself: the web dashboard, an agentless poller, a
 * scheduler. The engine starts services after the sinks and sources (so a
 * service may read what sinks write) and stops them first, before the
 * sources stop and the sinks drain. A service that fails to start stops the
 * pipeline's start; one that fails to stop is logged.
 *
 * @example A service that logs once a second
 * ```ts
 * import type { Service } from "./types.ts";
 * let timer: ReturnType<typeof setInterval> | undefined;
 * const ticker: Service = {
 *   kind: "ticker",
 *   async start(ctx) { timer = setInterval(() => ctx.log.info("tick"), 1000); },
 *   async stop() { clearInterval(timer); },
 * };
 * ```
 */
export interface Service {
  /** What kind of service this is (`ui`, `agentless`); used in names and stats. */
  readonly kind: string;
  /** Starts; resolves once the service is running (listening, scheduled). */
  start(ctx: ServiceContext): Promise<void>;
  /** Stops; resolves once the service has released what it held. */
  stop(): Promise<void>;
}
