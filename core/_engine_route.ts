/**
 * How the engine runs a batch through the log paths: steps in order on
 * the events that reach them (copies for a path that changes events others
 * share), final and fallback paths, embedded paths, and what each sink
 * queue gets. core/engine.ts compiles the paths and calls {@linkcode runList}.
 *
 * @module
 */

import { cloneEvent, type LogEvent } from "./event.ts";
import type { Logger } from "./log.ts";
import type { SinkQueue } from "./sink_queue.ts";
import type { ComponentStats } from "./stats.ts";
import type { Source } from "./types.ts";

/** A step as the engine runs it. */
export interface StepRt {
  /** Runs the step on one event; `false` drops it (or marks it unparsed). */
  run: (e: LogEvent) => boolean;
  /** A parser: a `false` is "unparsed", not "filtered out". */
  parser: boolean;
  /** A parser or rewrite: it may change the event (a filter only reads it). */
  mutates: boolean;
  /** Its counters. */
  stats: ComponentStats;
}

/** A log path as the engine runs it. */
export interface PathRt {
  /** The sources it takes, or `null` for all. */
  from: Set<Source> | null;
  steps: StepRt[];
  /** The queues of its sinks. */
  sinks: SinkQueue[];
  /** Its embedded paths. */
  children: PathList | null;
  /** What it matched is not offered to later paths. */
  final: boolean;
  /** It gets only what no other path matched. */
  fallback: boolean;
  /** Unparsed events stay on the path. */
  continueUnparsed: boolean;
  /** Some step may change events. */
  mutates: boolean;
}

/** Paths at one level: the regular ones, then the fallbacks. */
export interface PathList {
  /** Regular paths, in order. */
  regular: PathRt[];
  /** Fallback paths. */
  fallback: PathRt[];
  /** How many in all. */
  size: number;
}

/** The events a batch sends one sink queue. */
export interface Delivery {
  /** The events. */
  events: LogEvent[];
  /** Whether `events` is this delivery's own array (else a path's, to copy before adding). */
  owned: boolean;
}

/** One batch's routing: what goes to which queue, and which events no parser could parse. */
export interface RouteCtx {
  /** Per sink queue. */
  deliveries: Map<SinkQueue, Delivery>;
  /** Per event of the batch, 1 when unparsed (created on the first). */
  unparsed: Uint8Array | null;
  /** The batch's size. */
  size: number;
}

/** Replaces each event of a path's working list with its own copy, in place. */
function copyAll(events: LogEvent[]): void {
  for (let i = 0; i < events.length; i++) events[i] = cloneEvent(events[i] as LogEvent);
}

/**
 * Adds events to what a batch sends one queue, sharing the path's array
 * until a second path adds to it.
 *
 * @param ctx The batch's routing.
 * @param queue The sink queue.
 * @param events The events.
 *
 * @example
 * ```ts ignore
 * deliver(ctx, queue, events);
 * ```
 */
export function deliver(ctx: RouteCtx, queue: SinkQueue, events: LogEvent[]): void {
  const d = ctx.deliveries.get(queue);
  if (!d) {
    ctx.deliveries.set(queue, { events, owned: false });
    return;
  }
  if (!d.owned) {
    d.events = d.events.slice();
    d.owned = true;
  }
  for (const e of events) d.events.push(e);
}

/**
 * The paths of one level, regular ones apart from fallbacks.
 *
 * @param paths The paths, in order.
 * @returns The list.
 *
 * @example
 * ```ts ignore
 * const list = pathList(compiled);
 * ```
 */
export function pathList(paths: PathRt[]): PathList {
  return {
    regular: paths.filter((p) => !p.fallback),
    fallback: paths.filter((p) => p.fallback),
    size: paths.length,
  };
}

/**
 * Runs a batch through the paths of one level (regular ones, final ones
 * taking what they matched, then fallbacks) and their embedded paths.
 *
 * @param list The paths.
 * @param events The events of this level.
 * @param idx Each event's index in the batch.
 * @param ctx The batch's routing.
 * @param parentDelivered Whether the parent path wrote these events to a sink.
 * @param log Where a step that throws is reported.
 * @returns Per event of `events`, 1 when some path matched it.
 *
 * @example
 * ```ts ignore
 * const matched = runList(rt.paths, batch, idx, ctx, false, log);
 * ```
 */
export function runList(
  list: PathList,
  events: LogEvent[],
  idx: number[],
  ctx: RouteCtx,
  parentDelivered: boolean,
  log: Logger,
): Uint8Array {
  const n = events.length;
  const matched = new Uint8Array(n);
  let taken: Uint8Array | null = null;
  const shared = list.size > 1 || parentDelivered;
  for (const path of list.regular) {
    const reached = _runPath(path, events, idx, ctx, shared && path.mutates, taken, log);
    for (const j of reached) matched[j] = 1;
    if (path.final && reached.length) {
      taken ??= new Uint8Array(n);
      for (const j of reached) taken[j] = 1;
    }
  }
  if (list.fallback.length) {
    const skip = matched.slice();
    for (const path of list.fallback) {
      const reached = _runPath(path, events, idx, ctx, shared && path.mutates, skip, log);
      for (const j of reached) matched[j] = 1;
    }
  }
  return matched;
}

/** Runs one path; returns the local indices of the events that reached its end. */
function _runPath(
  path: PathRt,
  events: LogEvent[],
  idx: number[],
  ctx: RouteCtx,
  clone: boolean,
  skip: Uint8Array | null,
  log: Logger,
): number[] {
  let ev: LogEvent[] = [];
  let local: number[] = [];
  for (let j = 0; j < events.length; j++) {
    if (skip?.[j]) continue;
    ev.push(events[j] as LogEvent);
    local.push(j);
  }
  // A path that shares its events with others changes copies, made only for the events that
  // reach its first step that may change them: the filters before it (`hasAlert()`) read the
  // originals and usually let few through, and every copy is garbage soon after.
  let copied = !clone;
  for (const step of path.steps) {
    if (ev.length === 0) return local;
    if (!copied && step.mutates) {
      copyAll(ev);
      copied = true;
    }
    step.stats.received += ev.length;
    let w = 0;
    for (let r = 0; r < ev.length; r++) {
      const e = ev[r] as LogEvent;
      let ok: boolean;
      try {
        ok = step.run(e) !== false;
      } catch (err) {
        ok = false;
        step.stats.errors++;
        step.stats.add("exceptions");
        if (step.stats.counters.exceptions === 1) {
          log.error(`step "${step.stats.name}" threw; its events are treated as unparsed`, {
            error: String(err),
          });
        }
        if (!step.parser) {
          (ctx.unparsed ??= new Uint8Array(ctx.size))[idx[local[r] as number] as number] = 1;
          continue;
        }
      }
      if (ok) {
        ev[w] = e;
        local[w] = local[r] as number;
        w++;
      } else if (step.parser) {
        step.stats.add("unparsed");
        if (path.continueUnparsed) {
          ev[w] = e;
          local[w] = local[r] as number;
          w++;
        } else {
          (ctx.unparsed ??= new Uint8Array(ctx.size))[idx[local[r] as number] as number] = 1;
        }
      } else {
        step.stats.dropped++;
      }
    }
    ev.length = w;
    local.length = w;
    step.stats.processed += w;
  }
  if (ev.length === 0) return local;
  // Only filters here, but a child changes events: it gets copies.
  if (!copied && path.children) copyAll(ev);
  for (const queue of path.sinks) deliver(ctx, queue, ev);
  if (path.children) {
    const childIdx = local.map((j) => idx[j] as number);
    const childMatched = runList(path.children, ev, childIdx, ctx, path.sinks.length > 0, log);
    // An embedded path's parent counts as matched only for events some child matched,
    // unless the parent itself wrote them somewhere.
    if (path.sinks.length === 0) {
      const kept: number[] = [];
      for (let k = 0; k < local.length; k++) if (childMatched[k]) kept.push(local[k] as number);
      local = kept;
      ev = [];
    }
  }
  return local;
}
