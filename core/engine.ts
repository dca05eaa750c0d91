/**
 * The engine: runs a pipeline's sources, routes their batches through the
 * log paths, queues them per sink with back-pressure, and acknowledges each
 * batch to its source once every sink it reached wrote it. How a batch
 * runs through the paths is in core/_engine_route.ts.
 *
 * @module
 */

import {
  deliver,
  type Delivery,
  type PathList,
  pathList,
  type PathRt,
  type RouteCtx,
  runList,
  type StepRt,
} from "./_engine_route.ts";
import { AckSequencer } from "./acks.ts";
import type { LogEvent } from "./event.ts";
import { createLogger, type Logger } from "./log.ts";
import {
  type PathDefinition,
  type Pipeline,
  type PipelineDefinition,
  PipelineError,
  stepType,
  validatePipeline,
} from "./pipeline.ts";
import { DEFAULT_QUEUE_SIZE, SinkQueue } from "./sink_queue.ts";
import { fileState, memoryState, type StateStore } from "./state.ts";
import { type ComponentStats, StatsRegistry } from "./stats.ts";
import type { AckCallback, Filter, Parser, Rewrite, Service, Sink, Source, Step } from "./types.ts";

/** Options for {@linkcode Engine}. */
export interface EngineOptions {
  /** Where checkpoints and other state live; in memory when left out. */
  stateDir?: string;
  /** The logger. @default a stderr logger at "info" */
  logger?: Logger;
  /** The stats registry. @default a new one */
  stats?: StatsRegistry;
  /** How long `stop()` waits for queued events to be written, in ms. @default {30000} */
  drainTimeoutMs?: number;
}

interface _SourceRt {
  source: Source;
  name: string;
  stats: ComponentStats;
  sequencer: AckSequencer;
  paths: PathList;
}

/**
 * Runs one pipeline. Most users go through the runner; tests and embedders
 * use the engine directly.
 *
 * @example Run a generator into a blackhole until it is done
 * ```ts
 * import assert from "node:assert/strict";
 * import { Engine } from "./engine.ts";
 * import { definePipeline } from "./pipeline.ts";
 * import { generatorSource } from "../sources/generator.ts";
 * import { blackholeSink } from "../sinks/blackhole.ts";
 * const sink = blackholeSink();
 * const engine = new Engine(definePipeline({
 *   paths: [{ from: [generatorSource({ count: 1000 })], to: [sink] }],
 * }), { logger: (await import("./log.ts")).createLogger("silent") });
 * await engine.start();
 * await engine.done;
 * await engine.stop();
 * assert.ok(sink.count === 1000);
 * ```
 */
export class Engine {
  /** The counters of every component. */
  readonly stats: StatsRegistry;
  /** Resolves once every source has finished its input and everything is acknowledged; never when a source runs forever. */
  readonly done: Promise<void>;
  readonly #def: PipelineDefinition;
  readonly #log: Logger;
  readonly #options: EngineOptions;
  readonly #sources: _SourceRt[] = [];
  readonly #services: { name: string; service: Service; started: boolean }[] = [];
  readonly #queues = new Map<Sink, SinkQueue>();
  readonly #states: StateStore[] = [];
  readonly #pipelineStats: ComponentStats;
  readonly #abort = new AbortController();
  readonly #sinkAbort = new AbortController();
  #deadLetter: SinkQueue | undefined;
  #resolveDone!: () => void;
  #started = false;
  #stopped: Promise<void> | undefined;
  #unparsedWarned = 0;

  /**
   * Compiles a pipeline's paths; nothing is opened until {@linkcode Engine.start}.
   *
   * @param pipeline A pipeline from {@linkcode definePipeline} (or a plain definition, validated here).
   * @param options State directory, logger, stats, drain timeout.
   * @throws {PipelineError} When the definition is wrong.
   *
   * @example
   * ```ts
   * import { Engine } from "./engine.ts";
   * import { generatorSource } from "../sources/generator.ts";
   * import { blackholeSink } from "../sinks/blackhole.ts";
   * new Engine({ paths: [{ from: [generatorSource()], to: [blackholeSink()] }] });
   * ```
   */
  constructor(pipeline: Pipeline | PipelineDefinition, options: EngineOptions = {}) {
    const issues = validatePipeline(pipeline);
    if (issues.length) throw new PipelineError(issues);
    this.#def = pipeline;
    this.#options = options;
    this.#log = options.logger ?? createLogger("info");
    this.stats = options.stats ?? new StatsRegistry();
    this.#pipelineStats = this.stats.register("pipeline", pipeline.name ?? "pipeline", "pipeline");
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    this.#compile();
  }

  #compile(): void {
    const def = this.#def;
    const kindCount = new Map<string, number>();
    const autoName = (c: { kind: string; name?: string }) => {
      if (c.name) return c.name;
      const n = kindCount.get(c.kind) ?? 0;
      kindCount.set(c.kind, n + 1);
      return `${c.kind}#${n}`;
    };
    const sourceNames = new Map<Source, string>();
    for (const [name, source] of Object.entries(def.sources ?? {})) sourceNames.set(source, name);
    const sinkNames = new Map<Sink, string>();
    for (const [name, sink] of Object.entries(def.sinks ?? {})) sinkNames.set(sink, name);
    const resolveSource = (s: Source | string): Source =>
      typeof s === "string" ? (def.sources?.[s] as Source) : s;
    const resolveSink = (s: Sink | string): Sink =>
      typeof s === "string" ? (def.sinks?.[s] as Sink) : s;
    const queueFor = (sink: Sink): SinkQueue => {
      let queue = this.#queues.get(sink);
      if (!queue) {
        const name = sinkNames.get(sink) ?? autoName(sink);
        sinkNames.set(sink, name);
        queue = new SinkQueue(
          sink,
          this.stats.register("sink", name, sink.kind),
          this.#log.child(`sink ${name}`),
          {
            capacity: sink.queueSize ?? def.queueSize ?? DEFAULT_QUEUE_SIZE,
            maxBatch: sink.maxBatch ?? def.maxBatch ?? 1000,
            retryInitialMs: def.retry?.initialMs ?? 100,
            retryMaxMs: def.retry?.maxMs ?? 30_000,
            concurrency: sink.concurrency ?? 1,
          },
        );
        this.#queues.set(sink, queue);
      }
      return queue;
    };
    const compileStep = (step: Step, where: string): StepRt => {
      const type = stepType(step);
      const kind = typeof step === "function" ? "predicate" : step.kind;
      const name = (typeof step === "function" ? undefined : step.name) ?? `${where} ${kind}`;
      const stats = this.stats.register("step", name, kind);
      if (typeof step === "function") return { run: step, parser: false, mutates: false, stats };
      if (type === "parser") {
        const p = step as Parser;
        return { run: (e) => p.parse(e), parser: true, mutates: true, stats };
      }
      if (type === "filter") {
        const f = step as Filter;
        return { run: (e) => f.test(e), parser: false, mutates: false, stats };
      }
      const r = step as Rewrite;
      return { run: (e) => (r.apply(e), true), parser: false, mutates: true, stats };
    };
    const compilePath = (path: PathDefinition, where: string): PathRt => {
      const steps = (path.steps ?? []).map((s, i) => compileStep(s, `${where}.steps[${i}]`));
      const children = path.paths?.length
        ? pathList(path.paths.map((p, i) => compilePath(p, `${where}.paths[${i}]`)))
        : null;
      const mutates = steps.some((s) => s.mutates) ||
        (children !== null && [...children.regular, ...children.fallback].some((c) => c.mutates));
      return {
        from: path.from ? new Set(path.from.map(resolveSource)) : null,
        steps,
        sinks: (path.to ?? []).map((s) => queueFor(resolveSink(s))),
        children,
        final: path.flags?.includes("final") ?? false,
        fallback: path.flags?.includes("fallback") ?? false,
        continueUnparsed: path.onUnparsed === "continue",
        mutates,
      };
    };
    const top = def.paths.map((p, i) => compilePath(p, path_name(p, i)));
    function path_name(p: PathDefinition, i: number) {
      return p.name ?? `paths[${i}]`;
    }
    const allSources: Source[] = [...Object.values(def.sources ?? {})];
    for (const path of def.paths) {
      for (const s of path.from ?? []) {
        const source = resolveSource(s);
        if (!allSources.includes(source)) allSources.push(source);
      }
    }
    for (const source of allSources) {
      const name = sourceNames.get(source) ?? autoName(source);
      this.#sources.push({
        source,
        name,
        stats: this.stats.register("source", name, source.kind),
        sequencer: new AckSequencer(),
        paths: pathList(top.filter((p) => p.from === null || p.from.has(source))),
      });
    }
    if (def.deadLetter) this.#deadLetter = queueFor(resolveSink(def.deadLetter));
  }

  async #state(type: string, name: string): Promise<StateStore> {
    const dir = this.#options.stateDir;
    const store = dir ? await fileState(dir, `${type}.${name}`) : memoryState();
    this.#states.push(store);
    return store;
  }

  /**
   * Opens every sink, then starts every source.
   *
   * @throws When a sink cannot open or a source cannot start; what was opened is closed again.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error("Engine: already started");
    this.#started = true;
    const opened: SinkQueue[] = [];
    try {
      for (const queue of this.#queues.values()) {
        await queue.sink.open({
          name: queue.stats.name,
          stats: queue.stats,
          state: await this.#state("sink", queue.stats.name),
          log: this.#log.child(`sink ${queue.stats.name}`),
          signal: this.#sinkAbort.signal,
        });
        opened.push(queue);
        queue.start();
      }
      for (const rt of this.#sources) {
        await rt.source.start({
          name: rt.name,
          stats: rt.stats,
          state: await this.#state("source", rt.name),
          log: this.#log.child(`source ${rt.name}`),
          signal: this.#abort.signal,
          emit: (batch, onAck) => this.#emit(rt, batch, onAck),
        });
      }
      for (const [name, service] of Object.entries(this.#def.services ?? {})) {
        const rt = { name, service, started: false };
        this.#services.push(rt);
        await service.start({
          name,
          log: this.#log.child(`service ${name}`),
          signal: this.#abort.signal,
          state: await this.#state("service", name),
          stats: this.stats.register("service", name, service.kind),
        });
        rt.started = true;
      }
    } catch (err) {
      await this.stop().catch(() => {});
      throw err;
    }
    const dones = this.#sources.map((s) => s.source.done);
    if (dones.every((d) => d !== undefined)) {
      Promise.all(dones)
        .then(() => Promise.all(this.#sources.map((s) => s.sequencer.idle())))
        .then(() => this.#resolveDone(), (err) => {
          this.#log.error("a source failed", { error: String(err) });
          this.#resolveDone();
        });
    }
    await this.#def.onStart?.();
  }

  /**
   * Stops the sources, waits (up to the drain timeout) for every queued
   * event to be written and acknowledged, closes the sinks and writes the
   * state. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#abort.abort();
    // Services first: a dashboard or a poller may read what the sinks write.
    for (const rt of this.#services.reverse()) {
      if (!rt.started) continue;
      try {
        await rt.service.stop();
      } catch (err) {
        this.#log.error("service failed to stop", { service: rt.name, error: String(err) });
      }
    }
    const sourcesStopped = Promise.all(this.#sources.map(async (rt) => {
      try {
        await rt.source.stop();
      } catch (err) {
        this.#log.error("source failed to stop", { source: rt.name, error: String(err) });
      }
    }));
    // A source may be stuck in emit() behind a sink that keeps failing: the drain
    // timeout bounds the whole wait, and stopping the queues below releases it.
    const timeout = this.#options.drainTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = await Promise.race([
      sourcesStopped
        .then(() => Promise.all(this.#sources.map((s) => s.sequencer.idle())))
        .then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      const left = [...this.#queues.values()].reduce((n, q) => n + q.depth, 0);
      this.#log.warn(
        `drain timed out after ${timeout} ms; ${left} events stay unacknowledged and will be replayed where the source can`,
      );
    }
    this.#sinkAbort.abort();
    for (const queue of this.#queues.values()) {
      await queue.stop();
      try {
        await queue.sink.close();
      } catch (err) {
        this.#log.error("sink failed to close", { sink: queue.stats.name, error: String(err) });
      }
    }
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([sourcesStopped, new Promise((r) => (grace = setTimeout(r, 1000)))]);
    clearTimeout(grace);
    for (const state of this.#states) {
      await state.flush().catch((err) =>
        this.#log.error("state flush failed", { error: String(err) })
      );
    }
    this.#resolveDone();
  }

  async #emit(rt: _SourceRt, batch: LogEvent[], onAck: AckCallback | undefined): Promise<void> {
    rt.stats.processed += batch.length;
    const name = rt.name;
    for (const e of batch) e.source ??= name;
    const deliveries = this.#route(rt, batch);
    const tracker = rt.sequencer.track(onAck);
    for (let i = 0; i < deliveries.size; i++) tracker.expect();
    tracker.seal();
    for (const [queue, d] of deliveries) await queue.enqueue(d.events, tracker);
  }

  #route(rt: _SourceRt, batch: LogEvent[]): Map<SinkQueue, Delivery> {
    const ctx: RouteCtx = { deliveries: new Map(), unparsed: null, size: batch.length };
    const idx = new Array<number>(batch.length);
    for (let i = 0; i < batch.length; i++) idx[i] = i;
    const matched = runList(rt.paths, batch, idx, ctx, false, this.#log);
    let unmatched = 0;
    let deadEvents: LogEvent[] | undefined;
    for (let i = 0; i < batch.length; i++) {
      if (matched[i]) continue;
      if (ctx.unparsed?.[i]) {
        (deadEvents ??= []).push(batch[i] as LogEvent);
      } else unmatched++;
    }
    if (unmatched) this.#pipelineStats.add("unmatched", unmatched);
    if (deadEvents) {
      this.#pipelineStats.add("unparsed", deadEvents.length);
      if (this.#deadLetter) {
        this.#pipelineStats.add("dead_lettered", deadEvents.length);
        deliver(ctx, this.#deadLetter, deadEvents);
      } else {
        this.#pipelineStats.dropped += deadEvents.length;
        if (this.#unparsedWarned++ % 10_000 === 0) {
          this.#log.warn(
            "events no parser could parse matched no path and there is no deadLetter sink; they are counted as dropped",
            {
              count: deadEvents.length,
              example: (deadEvents[0] as LogEvent).message.slice(0, 200),
            },
          );
        }
      }
    }
    return ctx.deliveries;
  }
}
