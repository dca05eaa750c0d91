/**
 * The object channel's way back: {@linkcode syncedObjectsSource} turns what
 * an object sink stored into log events, so the central can link an
 * alert's `hash` to the stored sample.
 *
 * @module
 */

import { createEvent, type LogEvent } from "../core/event.ts";
import type { Source, SourceContext } from "../core/types.ts";
import type { ObjectSink } from "./_object_capability.ts";

/** Options for {@linkcode syncedObjectsSource}. */
export interface SyncedObjectsSourceOptions {
  /** A name for stats. */
  name?: string;
  /** Most stored-object events held while the pipeline is slow; more are dropped and counted. @default {100000} */
  maxBuffer?: number;
}

/**
 * Emits one log event per object a sink stored, so a pipeline can send it
 * over the log channel: `host` is the object's host, `program` is
 * `sluice-objects`, and `fields.object` is a {@linkcode SyncedObject}
 * (`host`, `kind`, `path`, `remote`, `size`, `sha256`, `mtime`,
 * `uploaded_at`, `encrypted`). The central can then find the stored sample
 * of an alert by its `hash`. The id is `<remote>:<sha256>`, so a replay
 * stores nothing twice.
 *
 * @param sink The object sink to listen to.
 * @param options Name and buffer size.
 * @returns The source; it runs until the pipeline stops, then emits what is left.
 *
 * @example Send stored samples' hashes to the central
 * ```ts
 * import { type ObjectActivity, syncedObjectsSource } from "./objects.ts";
 * // `upload` stands for an sftpObjectSink: any object with subscribe() will do.
 * const upload = { subscribe: (_listener: (a: ObjectActivity) => void) => () => {} };
 * const stored = syncedObjectsSource(upload);
 * // paths: [{ from: [quarantine], to: [upload] }, { from: [stored], to: [forward] }]
 * ```
 */
export function syncedObjectsSource(
  sink: Pick<ObjectSink, "subscribe">,
  options: SyncedObjectsSourceOptions = {},
): Source {
  if (!sink || typeof sink.subscribe !== "function") {
    throw new TypeError("syncedObjectsSource: expected an object sink (with subscribe())");
  }
  const maxBuffer = options.maxBuffer ?? 100_000;
  let buffer: LogEvent[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  const run = async (ctx: SourceContext) => {
    while (true) {
      if (buffer.length === 0) {
        if (stopped) return;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = buffer.length <= 1000 ? buffer : buffer.slice(0, 1000);
      buffer = batch === buffer ? [] : buffer.slice(1000);
      ctx.stats.received += batch.length;
      await ctx.emit(batch);
    }
  };
  return {
    kind: "synced-objects",
    ...(options.name ? { name: options.name } : {}),
    start(ctx) {
      unsubscribe = sink.subscribe((activity) => {
        if (activity.type !== "uploaded") return;
        if (buffer.length >= maxBuffer) {
          ctx.stats.dropped++;
          return;
        }
        const o = activity.object;
        buffer.push(createEvent(`stored ${o.remote} sha256=${o.sha256} size=${o.size}`, {
          host: o.host,
          program: "sluice-objects",
          id: `${o.remote}:${o.sha256}`,
          fields: { object: { ...o } },
        }));
        const w = wake;
        wake = undefined;
        w?.();
      });
      loop = run(ctx);
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      const w = wake;
      wake = undefined;
      w?.();
      await loop;
    },
  };
}
