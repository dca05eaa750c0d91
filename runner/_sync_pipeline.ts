/**
 * The pipeline `sluice sync` runs: only the object paths of a pipeline
 * (objects sources, remade with `once` when asked, and the paths they feed),
 * with every object sink behind a guard once the run gave up.
 *
 * @module
 */

import type { PathDefinition, PipelineDefinition } from "../core/pipeline.ts";
import type { Sink, Source } from "../core/types.ts";
import { PipelineLoadError } from "./load.ts";
import {
  isObjectSink,
  isObjectsSource,
  type ObjectSink,
  type ObjectsSource,
  objectsSource,
} from "../sources/objects.ts";

function _resolveSource(def: PipelineDefinition, s: Source | string): Source | undefined {
  return typeof s === "string" ? def.sources?.[s] : s;
}

function _resolveSink(def: PipelineDefinition, s: Sink | string): Sink | undefined {
  return typeof s === "string" ? def.sinks?.[s] : s;
}

/**
 * Every sink the paths (and their embedded paths) write to.
 *
 * @example
 * ```ts ignore
 * const sinks = new Set<Sink>();
 * sinksOf(def, def.paths, sinks);
 * ```
 */
export function sinksOf(def: PipelineDefinition, paths: PathDefinition[], into: Set<Sink>): void {
  for (const path of paths) {
    for (const s of path.to ?? []) {
      const sink = _resolveSink(def, s);
      if (sink) into.add(sink);
    }
    if (path.paths) sinksOf(def, path.paths, into);
  }
}

/**
 * Builds the object-only pipeline: objects sources (remade with
 * `once: true` when asked), synced-objects sources, and the top-level paths
 * they feed; every other source and path is left out.
 *
 * @example
 * ```ts ignore
 * const { def: only, objects, sinks } = objectPipeline(def, true, "pipeline.vm.ts");
 * ```
 */
export function objectPipeline(
  def: PipelineDefinition,
  once: boolean,
  file: string,
): { def: PipelineDefinition; objects: ObjectsSource[]; sinks: ObjectSink[] } {
  const replaced = new Map<Source, Source>();
  const objects: ObjectsSource[] = [];
  const keep = (source: Source | undefined): Source | undefined => {
    if (!source) return undefined;
    const seen = replaced.get(source);
    if (seen) return seen;
    let out: Source | undefined;
    if (isObjectsSource(source)) {
      const made = once ? objectsSource({ ...source.options, once: true }) : source;
      objects.push(made);
      out = made;
    } else if (source.kind === "synced-objects") out = source;
    if (out) replaced.set(source, out);
    return out;
  };
  const sources: Record<string, Source> = {};
  for (const [name, source] of Object.entries(def.sources ?? {})) {
    const kept = keep(source);
    if (kept) sources[name] = kept;
  }
  const paths: PathDefinition[] = [];
  for (const path of def.paths) {
    if (!path.from) {
      paths.push(path);
      continue;
    }
    const from: Array<Source | string> = [];
    for (const s of path.from) {
      const kept = keep(_resolveSource(def, s));
      if (kept) from.push(typeof s === "string" ? s : kept);
    }
    if (from.length) paths.push({ ...path, from });
  }
  if (objects.length === 0) {
    throw new PipelineLoadError(`${file}: no objects source (objectsSource) feeds any path`);
  }
  const sinkSet = new Set<Sink>();
  sinksOf(def, paths, sinkSet);
  const sinks = [...sinkSet].filter(isObjectSink);
  const { onStart: _onStart, ...rest } = def;
  return { def: { ...rest, sources, paths }, objects, sinks };
}

/**
 * The same pipeline with each object sink behind a guard that refuses
 * writes once the run gave up (the engine retries a failed write once more
 * while it stops; that attempt must not reach the server).
 *
 * @example
 * ```ts ignore
 * const guarded = guardSinks(only, new Set(sinks), () => gaveUp);
 * ```
 */
export function guardSinks(
  def: PipelineDefinition,
  sinks: Set<Sink>,
  stopped: () => boolean,
): PipelineDefinition {
  const guards = new Map<Sink, Sink>();
  const guard = (sink: Sink): Sink => {
    if (!sinks.has(sink)) return sink;
    let g = guards.get(sink);
    if (!g) {
      const write = (batch: Parameters<Sink["write"]>[0]) =>
        stopped() ? Promise.reject(new Error("sync gave up; no more attempts")) : sink.write(batch);
      g = new Proxy(sink, {
        get: (target, prop) => {
          if (prop === "write") return write;
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      guards.set(sink, g);
    }
    return g;
  };
  const mapPaths = (paths: PathDefinition[]): PathDefinition[] =>
    paths.map((path) => ({
      ...path,
      ...(path.to ? { to: path.to.map((s) => (typeof s === "string" ? s : guard(s))) } : {}),
      ...(path.paths ? { paths: mapPaths(path.paths) } : {}),
    }));
  const named: Record<string, Sink> = {};
  for (const [name, sink] of Object.entries(def.sinks ?? {})) named[name] = guard(sink);
  return { ...def, ...(def.sinks ? { sinks: named } : {}), paths: mapPaths(def.paths) };
}
