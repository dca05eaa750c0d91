/**
 * What a pipeline file's parts are: sources, sinks and steps told apart by
 * their methods, for `definePipeline`'s validation and the engine.
 *
 * @module
 */

import type { Filter, Parser, Rewrite, Sink, Source, Step } from "./types.ts";

/**
 * A value named for an error message: its type, or an object's `kind` or first keys.
 *
 * @param value Anything.
 * @returns A few words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeValue } from "./_component_guards.ts";
 * assert.equal(describeValue({ kind: "tcp" }), 'a "tcp" object');
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function";
  if (typeof value !== "object") return `${typeof value} ${JSON.stringify(value)}`;
  const keys = Object.keys(value);
  const kind = (value as { kind?: unknown }).kind;
  return typeof kind === "string"
    ? `a "${kind}" object`
    : `an object with keys ${keys.length ? keys.slice(0, 6).join(", ") : "(none)"}`;
}

function _hasMethods(value: unknown, methods: string[]): boolean {
  if (value === null || typeof value !== "object") return false;
  const o = value as Record<string, unknown>;
  return typeof o.kind === "string" && methods.every((m) => typeof o[m] === "function");
}

/**
 * Tells whether a value is a {@linkcode Source}.
 *
 * @param value Anything.
 * @returns `true` for an object with `kind`, `start()` and `stop()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSource } from "./_component_guards.ts";
 * assert.ok(!isSource({ kind: "x" }));
 * ```
 */
export function isSource(value: unknown): value is Source {
  return _hasMethods(value, ["start", "stop"]);
}

/**
 * Tells whether a value is a {@linkcode Sink}.
 *
 * @param value Anything.
 * @returns `true` for an object with `kind`, `open()`, `write()` and `close()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSink } from "./_component_guards.ts";
 * assert.ok(!isSink({ kind: "x", write() {} }));
 * ```
 */
export function isSink(value: unknown): value is Sink {
  return _hasMethods(value, ["open", "write", "close"]);
}

/**
 * Tells whether a value can be a path step: a parser, filter, rewrite or predicate.
 *
 * @param value Anything.
 * @returns `true` for a step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isStep } from "./_component_guards.ts";
 * assert.ok(isStep(() => true));
 * ```
 */
export function isStep(value: unknown): value is Step {
  return typeof value === "function" || _hasMethods(value, ["parse"]) ||
    _hasMethods(value, ["test"]) || _hasMethods(value, ["apply"]);
}

/**
 * Tells which kind of step a step is.
 *
 * @param step A parser, filter, rewrite or predicate.
 * @returns `"parser"`, `"filter"` or `"rewrite"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stepType } from "./_component_guards.ts";
 * assert.ok(stepType({ kind: "up", apply() {} }) === "rewrite");
 * ```
 */
export function stepType(step: Step): "parser" | "filter" | "rewrite" {
  if (typeof step === "function") return "filter";
  if (typeof (step as Parser).parse === "function") return "parser";
  if (typeof (step as Filter).test === "function") return "filter";
  if (typeof (step as Rewrite).apply === "function") return "rewrite";
  throw new TypeError(`stepType: not a step: ${describeValue(step)}`);
}
