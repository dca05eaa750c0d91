/**
 * Helpers of the JSONL sink's tests (jsonl_test, jsonl_rotate_test): a
 * sink context, a sink in a fresh directory, the files and lines it wrote.
 *
 * @module
 */

import {
  ComponentStats,
  createLogger,
  memoryState,
  type Sink,
  type SinkContext,
} from "../../mod.ts";
import { jsonlSink, type JsonlSinkOptions } from "../../sinks/jsonl.ts";

/** A logger that prints nothing. */
export const quiet = createLogger("silent");

/**
 * A sink context with fresh stats and state.
 *
 * @example
 * ```ts ignore
 * await sink.open(context());
 * ```
 */
export function context(name = "files"): SinkContext & { stats: ComponentStats } {
  return {
    name,
    stats: new ComponentStats("sink", name, "jsonl"),
    state: memoryState(),
    log: quiet,
    signal: new AbortController().signal,
  };
}

/**
 * Opens a JSONL sink on a fresh directory, runs `body`, closes and removes it.
 *
 * @example
 * ```ts ignore
 * await withSink({ path: "${HOST}.jsonl" }, async (sink, ctx, dir) => {});
 * ```
 */
export async function withSink(
  options: Omit<JsonlSinkOptions, "dir">,
  body: (sink: Sink, ctx: ReturnType<typeof context>, dir: string, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir();
  const dir = `${root}/base`;
  const sink = jsonlSink({ dir, ...options });
  const ctx = context();
  await sink.open(ctx);
  try {
    await body(sink, ctx, dir, root);
  } finally {
    await sink.close();
    await Deno.remove(root, { recursive: true });
  }
}

/**
 * Every file under `dir`, as paths relative to it.
 *
 * @example
 * ```ts ignore
 * assert.deepEqual(await walk(dir), ["vm1.jsonl"]);
 * ```
 */
export async function walk(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) out.push(...await walk(`${dir}/${entry.name}`, rel + "/"));
    else out.push(rel);
  }
  return out.sort();
}

/**
 * The non-empty lines of a text.
 *
 * @example
 * ```ts ignore
 * lines("a\nb\n"); // ["a", "b"]
 * ```
 */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}
