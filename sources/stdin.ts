/**
 * Reads newline-framed lines from standard input.
 *
 * @module
 */

import { createEvent, type LogEvent } from "../core/event.ts";
import { LINE_INVALID_UTF8, LINE_TRUNCATED, LineFramer } from "../core/framing.ts";
import type { Source, SourceContext } from "../core/types.ts";

/** Options for {@linkcode stdinSource}. */
export interface StdinSourceOptions {
  /** Longest line in bytes; longer lines are cut and counted. @default {65536} */
  maxLineBytes?: number;
  /** The stream to read; standard input when left out (tests pass their own). */
  stream?: ReadableStream<Uint8Array>;
  /** A name for stats. */
  name?: string;
}

/**
 * Emits one event per line of standard input; `done` resolves at end of
 * input. Handy for `cat alerts.jsonl | sluice pipeline.ts` and for tests.
 *
 * @param options Line limit and stream.
 * @returns The source.
 *
 * @example
 * ```ts
 * import { stdinSource } from "./stdin.ts";
 * const source = stdinSource({ maxLineBytes: 1 << 20 });
 * ```
 */
export function stdinSource(options: StdinSourceOptions = {}): Source {
  const framer = new LineFramer(
    options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes },
  );
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let loop: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const emitLines = async (ctx: SourceContext, framed: ReturnType<LineFramer["push"]>) => {
    if (framed.lines.length === 0) return;
    const batch: LogEvent[] = new Array(framed.lines.length);
    for (let i = 0; i < framed.lines.length; i++) {
      const event = createEvent(framed.lines[i] as string);
      const flag = framed.flags?.[i] ?? 0;
      if (flag & LINE_TRUNCATED) event.fields["sluice_truncated"] = true;
      if (flag & LINE_INVALID_UTF8) event.fields["sluice_invalid_utf8"] = true;
      batch[i] = event;
    }
    ctx.stats.received += batch.length;
    await ctx.emit(batch);
  };
  const run = async (ctx: SourceContext) => {
    reader = (options.stream ?? Deno.stdin.readable).getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        await emitLines(ctx, framer.push(value));
      }
      await emitLines(ctx, framer.flush());
    } catch (err) {
      if (!ctx.signal.aborted) {
        ctx.stats.errors++;
        ctx.log.error("reading stdin failed", { error: String(err) });
      }
    } finally {
      ctx.stats.set("truncated_lines", framer.truncated);
      ctx.stats.set("invalid_utf8_lines", framer.invalidUtf8);
      resolveDone();
    }
  };
  return {
    kind: "stdin",
    ...(options.name ? { name: options.name } : {}),
    done,
    start(ctx) {
      loop = run(ctx);
      return Promise.resolve();
    },
    async stop() {
      await reader?.cancel().catch(() => {});
      await loop;
    },
  };
}
