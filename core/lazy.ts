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

/**
 * Imports a module that Deno's module graph does not see ahead of time.
 * Deno builds the graph of the main module at start, following every
 * dynamic `import("./literal.ts")` too, and keeps it (each module's source
 * and dependencies, in native memory) for the life of the process, whether
 * or not the import ever runs: for the central example the command line,
 * the dashboard, the archive and the SQL-server stores held 1.6–1.7 MB
 * (issue 26). An import by a computed URL is resolved only when it runs.
 * A compiled binary embeds such a module only when `deno compile` is told
 * to include it (deploy/compile.ts `COMPILE_INCLUDES`).
 *
 * @param url The module's URL (`new URL("./x.ts", import.meta.url)`).
 * @returns The module.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importLate } from "./lazy.ts";
 * const { lazySource } = await importLate<typeof import("./lazy.ts")>(
 *   new URL("./lazy.ts", import.meta.url),
 * );
 * assert.equal(typeof lazySource, "function");
 * ```
 */
export function importLate<T>(url: URL): Promise<T> {
  return import(url.href) as Promise<T>;
}
