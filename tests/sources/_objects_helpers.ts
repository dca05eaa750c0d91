/**
 * Helpers of the objects source's tests (objects_test, objects_move_test):
 * a confirming sink, one scan through an engine, directory trees, ages.
 *
 * @module
 */

import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import {
  confirmObject,
  localObject,
  type ObjectInfo,
  objectsSource,
  type ObjectsSourceOptions,
  rejectObject,
} from "../../sources/objects.ts";

/** A logger that prints nothing. */
export const silent = createLogger("silent");
/** An hour in ms. */
export const HOUR = 3_600_000;

/**
 * A sink that keeps what it gets and, when told, confirms or rejects objects as a real object sink would.
 *
 * @example
 * ```ts ignore
 * const { sink, events } = collectSink(() => "confirm");
 * ```
 */
export function collectSink(
  decide: (info: Readonly<ObjectInfo>) => "confirm" | "reject" | "none" = () => "none",
) {
  const events: LogEvent[] = [];
  const sink: Sink = {
    kind: "collect",
    open: () => Promise.resolve(),
    async write(batch) {
      for (const event of batch) {
        events.push(event);
        const info = localObject(event);
        if (!info) continue;
        const what = decide(info);
        if (what === "confirm") {
          const st = await Deno.stat(info.abs);
          confirmObject(event, {
            remote: info.path,
            size: st.size,
            mtime: st.mtime?.getTime() ?? 0,
            sha256: "x",
          });
        } else if (what === "reject") rejectObject(event, "test says no");
      }
    },
    close: () => Promise.resolve(),
  };
  return { sink, events };
}

/**
 * One scan (`once: true`, no settle, host vm1) through an engine into a {@linkcode collectSink}.
 *
 * @example
 * ```ts ignore
 * const { events, stats } = await runOnce({ dir });
 * ```
 */
export async function runOnce(
  options: ObjectsSourceOptions,
  decide?: Parameters<typeof collectSink>[0],
  logger = silent,
) {
  const source = objectsSource({ once: true, settle: 0, host: "vm1", ...options });
  const { sink, events } = collectSink(decide);
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger,
  });
  await engine.start();
  await source.done;
  await engine.stop();
  const found = engine.stats.components.find((c) => c.type === "source");
  const stats = found?.toJSON() ?? {};
  return { events, stats };
}

/**
 * The sorted relative paths of the events that stand for local objects.
 *
 * @example
 * ```ts ignore
 * assert.deepEqual(paths(events), ["a.bin"]);
 * ```
 */
export function paths(events: LogEvent[]): string[] {
  return events.filter((e) => localObject(e)).map((e) => (localObject(e) as ObjectInfo).path)
    .sort();
}

/**
 * A temporary directory holding `files` (relative path → content).
 *
 * @example
 * ```ts ignore
 * const dir = await tree({ "a.bin": "x", "sub/b.bin": "y" });
 * ```
 */
export async function tree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const [rel, text] of Object.entries(files)) {
    const i = rel.lastIndexOf("/");
    if (i > 0) await Deno.mkdir(`${dir}/${rel.slice(0, i)}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/${rel}`, text);
  }
  return dir;
}

/**
 * Sets a file's times `ms` into the past.
 *
 * @example
 * ```ts ignore
 * await age(`${dir}/a.bin`, 2 * HOUR);
 * ```
 */
export async function age(path: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await Deno.utime(path, t, t);
}
