/**
 * A source whose module is imported when it starts, not when the pipeline
 * file is loaded. The source text of every module a process loads stays in
 * V8's heap for the life of the process (and, for TypeScript, with its inline
 * source map: several times the file's size), so a pipeline that only
 * sometimes uses a source (the central's `--pull-hosts`, `--samples`) should
 * not load it when it does not (issue 26's idle memory).
 *
 * @module
 */

import type { Source, SourceContext } from "./types.ts";

/**
 * Wraps a source made by `load` (typically an `await import(...)` and a
 * call of its factory) into one that makes and starts it at `start()`. Its
 * `done` is the inner source's, once started.
 *
 * @param kind The source's kind (the inner source's, reported before it is made).
 * @param load Imports the module and makes the source.
 * @param name The source's name, when it has one.
 * @returns The source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lazySource } from "./lazy.ts";
 * const source = lazySource("generator", async () => {
 *   const { generatorSource } = await import("../sources/generator.ts");
 *   return generatorSource({ count: 1 });
 * });
 * assert.equal(source.kind, "generator");
 * assert.equal(source.done, undefined); // not started: nothing imported yet
 * ```
 */
export function lazySource(
  kind: string,
  load: () => Promise<Source>,
  name?: string,
): Source {
  let inner: Source | undefined;
  let stopped = false;
  const source: Source = {
    kind,
    ...(name !== undefined ? { name } : {}),
    async start(ctx: SourceContext) {
      const made = await load();
      if (stopped) return;
      inner = made;
      await made.start(ctx);
    },
    async stop() {
      stopped = true;
      await inner?.stop();
    },
  };
  // The engine reads `done` after start(): the inner source's, or none (it runs until stopped).
  Object.defineProperty(source, "done", { get: () => inner?.done, enumerable: true });
  return source;
}
