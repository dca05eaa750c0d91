/**
 * Pipeline files: {@linkcode definePipeline} and its validation. A pipeline
 * is a set of log paths like syslog-ng's `log { source(); parser();
 * filter(); destination(); flags(); }`.
 *
 * @module
 */

import * as v from "./_deps/valibot.ts";
import type { Service, Sink, Source, Step } from "./types.ts";
import { describeValue, isSink, isSource, isStep } from "./_component_guards.ts";

export { isSink, isSource, isStep, stepType } from "./_component_guards.ts";

/** syslog-ng's log path flags. */
export type PathFlag = "final" | "fallback";

/**
 * One log path. Events from `from` run through `steps` in order, reach
 * every sink in `to`, then every embedded path in `paths`.
 */
export interface PathDefinition {
  /** A name for logs and stats. */
  name?: string;
  /** Sources (objects or names from {@linkcode PipelineDefinition.sources}); all sources when left out. Top-level paths only. */
  from?: Array<Source | string>;
  /** Parsers, filters and rewrites, in order. */
  steps?: Step[];
  /** Sinks (objects or names from {@linkcode PipelineDefinition.sinks}). */
  to?: Array<Sink | string>;
  /** Embedded paths: they see the events as this path's steps left them. */
  paths?: PathDefinition[];
  /**
   * `final`: events this path matched go to no later path of the same level.
   * `fallback`: this path gets only events no other path of its level matched.
   */
  flags?: PathFlag[];
  /**
   * What happens to an event a parser of this path cannot parse:
   * `"leave"` takes it off this path (a fallback path or the dead-letter
   * sink may take it, as in syslog-ng); `"continue"` keeps it on the path
   * unparsed. Either way it is counted. @default {"leave"}
   */
  onUnparsed?: "leave" | "continue";
}

/** Everything a pipeline file describes. */
export interface PipelineDefinition {
  /** A name for logs. */
  name?: string;
  /** The role this pipeline plays (`"central"`, `"vm"`); informational. */
  role?: string;
  /** Named sources; paths may also name sources inline. */
  sources?: Record<string, Source>;
  /** Named sinks; paths may also name sinks inline. */
  sinks?: Record<string, Sink>;
  /** The log paths, in order. */
  paths: PathDefinition[];
  /** Where events go that a parser failed on and that no path took. Counted and logged when left out. */
  deadLetter?: Sink | string;
  /** Default queue size (events) of each sink. @default {DEFAULT_QUEUE_SIZE} (4000) */
  queueSize?: number;
  /** Default largest batch handed to one sink write. @default {1000} */
  maxBatch?: number;
  /** Back-off of failed sink writes. */
  retry?: { initialMs?: number; maxMs?: number };
  /** Called once the pipeline has started, e.g. to print where it listens. */
  onStart?: () => void | Promise<void>;
  /** Named services (a dashboard, a scheduler) started after the sources and stopped before them. */
  services?: Record<string, Service>;
}

/** Marks a value made by {@linkcode definePipeline}. */
export const PIPELINE_BRAND: unique symbol = Symbol.for("sluice.pipeline");

/** A validated pipeline, as returned by {@linkcode definePipeline}. */
export type Pipeline = Readonly<PipelineDefinition> & { readonly [PIPELINE_BRAND]: true };

/** One problem found in a pipeline definition. */
export interface PipelineIssue {
  /** Where: `paths[1].to[0]`. */
  where: string;
  /** What was expected and what was found. */
  message: string;
}

/**
 * A pipeline definition that is wrong. Its message lists every problem, one
 * per line, each naming the place (`paths[1].to[0]`) and what was expected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { definePipeline, PipelineError } from "./pipeline.ts";
 * try {
 *   definePipeline({ paths: [{ to: [] }] });
 * } catch (err) {
 *   assert.ok(err instanceof PipelineError);
 * }
 * ```
 */
export class PipelineError extends Error {
  /** The problems, in order. */
  readonly issues: PipelineIssue[];
  /**
   * Creates it.
   *
   * @param issues The problems found.
   * @param file The pipeline file, named first in the message when known.
   */
  constructor(issues: PipelineIssue[], file?: string) {
    const prefix = file ? `${file}: ` : "";
    super(issues.map((i) => `${prefix}${i.where ? `${i.where}: ` : ""}${i.message}`).join("\n"));
    this.name = "PipelineError";
    this.issues = issues;
  }
}

const _source = v.custom<Source | string>(
  (x) => typeof x === "string" || isSource(x),
  (issue) =>
    `expected a Source (an object with kind, start() and stop()) or a source name, got ${
      describeValue(issue.input)
    }`,
);
const _sink = v.custom<Sink | string>(
  (x) => typeof x === "string" || isSink(x),
  (issue) =>
    `expected a Sink (an object with kind, open(), write() and close()) or a sink name, got ${
      describeValue(issue.input)
    }`,
);
const _step = v.custom<Step>(
  isStep,
  (issue) =>
    `expected a step (a Parser with parse(), a Filter with test(), a Rewrite with apply(), or a predicate function), got ${
      describeValue(issue.input)
    }`,
);

type _PathInput = v.InferInput<typeof _pathBase> & { paths?: _PathInput[] | undefined };

const _pathBase = v.strictObject({
  name: v.optional(v.string()),
  from: v.optional(v.array(_source)),
  steps: v.optional(v.array(_step)),
  to: v.optional(v.array(_sink)),
  flags: v.optional(v.array(v.picklist(["final", "fallback"], 'expected "final" or "fallback"'))),
  onUnparsed: v.optional(v.picklist(["leave", "continue"], 'expected "leave" or "continue"')),
});

const _path: v.GenericSchema<_PathInput> = v.strictObject({
  ..._pathBase.entries,
  paths: v.optional(v.array(v.lazy(() => _path))),
});

const _pipeline = v.strictObject({
  name: v.optional(v.string()),
  role: v.optional(v.string()),
  sources: v.optional(
    v.record(
      v.string(),
      v.custom<Source>(
        isSource,
        (i) =>
          `expected a Source (an object with kind, start() and stop()), got ${
            describeValue(i.input)
          }`,
      ),
    ),
  ),
  sinks: v.optional(
    v.record(
      v.string(),
      v.custom<Sink>(
        isSink,
        (i) =>
          `expected a Sink (an object with kind, open(), write() and close()), got ${
            describeValue(i.input)
          }`,
      ),
    ),
  ),
  paths: v.pipe(v.array(_path), v.minLength(1, "expected at least one path")),
  deadLetter: v.optional(_sink),
  queueSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  maxBatch: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  retry: v.optional(v.strictObject({
    initialMs: v.optional(v.pipe(v.number(), v.minValue(1))),
    maxMs: v.optional(v.pipe(v.number(), v.minValue(1))),
  })),
  onStart: v.optional(v.custom<() => void>((x) => typeof x === "function", "expected a function")),
  services: v.optional(
    v.record(
      v.string(),
      v.custom<Service>(
        (x) =>
          _isRecord(x) && typeof (x as Service).kind === "string" &&
          typeof (x as Service).start === "function" && typeof (x as Service).stop === "function",
        (i) =>
          `expected a Service (an object with kind, start() and stop()), got ${
            describeValue(i.input)
          }`,
      ),
    ),
  ),
});

function _isRecord(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function _where(path: readonly { key: unknown }[] | undefined): string {
  let out = "";
  for (const item of path ?? []) {
    out += typeof item.key === "number" ? `[${item.key}]` : `${out ? "." : ""}${String(item.key)}`;
  }
  return out;
}

/**
 * Validates a pipeline definition without opening anything: the shape of
 * every path, that every component satisfies its interface, that names
 * refer to declared sources and sinks, and that every path ends in a sink or
 * an embedded path.
 *
 * @param value The value a pipeline file exported.
 * @returns The problems found; empty when the pipeline is valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validatePipeline } from "./pipeline.ts";
 * const issues = validatePipeline({ paths: [{ to: ["nowhere"] }] });
 * assert.ok(issues[0]!.where === "paths[0].to[0]");
 * ```
 */
export function validatePipeline(value: unknown): PipelineIssue[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [{ where: "", message: `expected a pipeline object, got ${describeValue(value)}` }];
  }
  const issues: PipelineIssue[] = [];
  const result = v.safeParse(_pipeline, value);
  if (!result.success) {
    for (const issue of result.issues) {
      issues.push({
        where: _where(issue.path as { key: unknown }[] | undefined),
        message: issue.message.startsWith("Invalid key")
          ? `unknown option (${issue.message})`
          : issue.message,
      });
    }
  }
  // Cross-references and path rules, checked even when the shape is wrong so
  // that one run reports every problem.
  const def = value as Partial<PipelineDefinition>;
  const sources = (_isRecord(def.sources) ? def.sources : {}) as Record<string, Source>;
  const sinks = (_isRecord(def.sinks) ? def.sinks : {}) as Record<string, Sink>;
  const walk = (paths: unknown, where: string, nested: boolean) => {
    if (!Array.isArray(paths)) return;
    paths.forEach((path: PathDefinition, i) => {
      if (!_isRecord(path)) return;
      const here = `${where}[${i}]`;
      if (nested && path.from) {
        issues.push({
          where: `${here}.from`,
          message: "embedded paths take the events of their parent, so they have no from",
        });
      }
      if (Array.isArray(path.from)) {
        path.from.forEach((s, j) => {
          if (typeof s === "string" && !(s in sources)) {
            issues.push({
              where: `${here}.from[${j}]`,
              message: `no source named "${s}" in sources`,
            });
          }
        });
      }
      if (Array.isArray(path.to)) {
        path.to.forEach((s, j) => {
          if (typeof s === "string" && !(s in sinks)) {
            issues.push({ where: `${here}.to[${j}]`, message: `no sink named "${s}" in sinks` });
          }
        });
      }
      const hasTo = Array.isArray(path.to) && path.to.length > 0;
      const hasChildren = Array.isArray(path.paths) && path.paths.length > 0;
      if (!hasTo && !hasChildren && !issues.some((x) => x.where.startsWith(`${here}.to`))) {
        issues.push({
          where: `${here}.to`,
          message:
            "expected at least one sink (or embedded paths): a path with no sinks loses its events",
        });
      }
      walk(path.paths, `${here}.paths`, true);
    });
  };
  walk(def.paths, "paths", false);
  if (typeof def.deadLetter === "string" && !(def.deadLetter in sinks)) {
    issues.push({ where: "deadLetter", message: `no sink named "${def.deadLetter}" in sinks` });
  }
  const hasSource = Object.keys(sources).length > 0 ||
    (Array.isArray(def.paths) &&
      def.paths.some((p) =>
        _isRecord(p) && Array.isArray(p.from) && p.from.some((s) => typeof s !== "string")
      ));
  if (!hasSource) issues.push({ where: "sources", message: "expected at least one source" });
  return issues;
}

/**
 * Defines a pipeline: validates it and marks it as one. A pipeline file
 * default-exports the result (or a function that returns it).
 *
 * @param definition Sources, paths, sinks and options.
 * @returns The validated pipeline.
 * @throws {PipelineError} When the definition is wrong; the message names every place.
 *
 * @example A generator printed to stdout
 * ```ts
 * import { definePipeline } from "./pipeline.ts";
 * import { generatorSource } from "../sources/generator.ts";
 * import { stdoutSink } from "../sinks/stdout.ts";
 * const gen = generatorSource({ count: 3 });
 * export default definePipeline({ paths: [{ from: [gen], to: [stdoutSink()] }] });
 * ```
 */
export function definePipeline(definition: PipelineDefinition): Pipeline {
  const issues = validatePipeline(definition);
  if (issues.length) throw new PipelineError(issues);
  return Object.freeze({ ...definition, [PIPELINE_BRAND]: true as const });
}
