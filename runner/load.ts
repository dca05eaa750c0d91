/**
 * Loads and validates a pipeline file before anything starts.
 *
 * @module
 */

import { type Pipeline, PipelineError, validatePipeline } from "../core/pipeline.ts";
import type { StatsRegistry } from "../core/stats.ts";

/** What a pipeline file's default export may be: a pipeline, or a function that makes one. */
export type PipelineFactory = (
  context: PipelineContext,
) => Pipeline | Promise<Pipeline>;

/** What the runner passes to a pipeline file that exports a function. */
export interface PipelineContext {
  /** Arguments given after the pipeline file on the command line. */
  args: string[];
  /** The environment variables. */
  env: Record<string, string>;
  /** The registry the engine will count in, so a pipeline can report its own health (heartbeats). */
  stats?: StatsRegistry;
  /**
   * True when the runner only builds the pipeline to print its `--help`: it will
   * not be started, so a factory may skip side effects such as creating directories.
   */
  help?: boolean;
}

/**
 * A pipeline file that cannot be used: its message names the file, the
 * place and what was expected. The runner exits with code 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PipelineLoadError } from "./load.ts";
 * const err = new PipelineLoadError("p.ts: expected a default export");
 * assert.ok(err.exitCode === 2);
 * ```
 */
export class PipelineLoadError extends Error {
  /** The process exit code for this error. */
  readonly exitCode = 2;
  /** @param message The whole message, file name first. */
  constructor(message: string) {
    super(message);
    this.name = "PipelineLoadError";
  }
}

/**
 * Imports a pipeline file, calls its default export when it is a function,
 * and validates the result without opening anything.
 *
 * @param file The pipeline file's path.
 * @param context Arguments and environment for a factory export.
 * @returns The validated pipeline.
 * @throws {PipelineLoadError} When the file is missing, fails to import, has no
 *   default export, or describes an invalid pipeline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadPipeline, PipelineLoadError } from "./load.ts";
 * try {
 *   await loadPipeline("does-not-exist.ts");
 * } catch (err) {
 *   assert.ok(err instanceof PipelineLoadError);
 * }
 * ```
 */
export async function loadPipeline(
  file: string,
  context: PipelineContext = { args: [], env: {} },
): Promise<Pipeline> {
  _loads++;
  const example = exampleName(file);
  const path = example ?? (file.startsWith("/") ? file : `${Deno.cwd()}/${file}`);
  // An example is part of the program (embedded in the compiled binary): never stat it,
  // which a binary's read permissions need not allow.
  try {
    if (!example) await Deno.stat(path);
  } catch {
    throw new PipelineLoadError(`${file}: no such pipeline file`);
  }
  let module: Record<string, unknown>;
  try {
    // A fresh specifier on every load: a reload re-reads the file and builds new components.
    // The URL setter percent-encodes the path and resolves "." and ".." parts.
    const fileUrl = new URL("file:///");
    fileUrl.pathname = path.replaceAll("%", "%25");
    const url = fileUrl.href;
    module = await import(_loads === 1 ? url : `${url}?load=${_loads}`);
  } catch (err) {
    if (err instanceof PipelineError) throw new PipelineLoadError(_prefix(file, err.message));
    const message = err instanceof Error ? err.message : String(err);
    throw new PipelineLoadError(_prefix(file, message));
  }
  if (!("default" in module) || module.default === undefined) {
    throw new PipelineLoadError(
      `${file}: expected a default export (definePipeline({ … }) or a function returning one), found none`,
    );
  }
  let value: unknown = module.default;
  if (typeof value === "function") {
    try {
      value = await (value as PipelineFactory)(context);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new PipelineLoadError(_prefix(file, message));
    }
  }
  const issues = validatePipeline(value);
  if (issues.length) throw new PipelineLoadError(new PipelineError(issues, file).message);
  return value as Pipeline;
}

let _loads = 0;

/** The example pipelines selectable by name (`sluice run central`), embedded in the binary. */
export const EXAMPLE_NAMES: readonly string[] = ["central", "vm", "home"];

/**
 * The path of the example pipeline a bare name selects (`central`, `vm`, `home`), or
 * `undefined` for anything else, so a user's file of that name with a `.ts` suffix still loads.
 *
 * @param file What the command line named.
 * @returns The example's absolute path, inside the compiled binary when compiled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exampleName } from "./load.ts";
 * assert.ok(exampleName("vm")?.endsWith("examples/pipeline.vm.ts"));
 * assert.equal(exampleName("vm.ts"), undefined);
 * ```
 */
export function exampleName(file: string): string | undefined {
  if (!EXAMPLE_NAMES.includes(file)) return undefined;
  return decodeURIComponent(new URL(`../examples/pipeline.${file}.ts`, import.meta.url).pathname);
}

function _prefix(file: string, message: string): string {
  return message.split("\n").map((line) => `${file}: ${line}`).join("\n");
}
