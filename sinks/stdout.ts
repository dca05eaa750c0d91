/**
 * Writes events to standard output through a template.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { compileTemplate, type Template } from "../core/template.ts";
import type { Sink } from "../core/types.ts";

/** Options for {@linkcode stdoutSink}. */
export interface StdoutSinkOptions {
  /** The line template. @default {"${MSG}\n"} */
  template?: Template;
  /** Where to write; standard output when left out (tests pass their own). */
  writer?: { write(p: Uint8Array): Promise<number> };
  /** A name for stats. */
  name?: string;
}

/**
 * Prints each batch with one write.
 *
 * @param options Template and writer.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import { stdoutSink } from "./stdout.ts";
 * const sink = stdoutSink({ template: "${ISODATE} ${HOST} ${MSG}\n" });
 * ```
 */
export function stdoutSink(options: StdoutSinkOptions = {}): Sink {
  const render = compileTemplate(options.template ?? "${MSG}\n");
  const encoder = new TextEncoder();
  const writer = options.writer;
  return {
    kind: "stdout",
    ...(options.name ? { name: options.name } : {}),
    open: () => Promise.resolve(),
    async write(batch: readonly LogEvent[]) {
      let text = "";
      for (const e of batch) text += render(e);
      const bytes = encoder.encode(text);
      let written = 0;
      while (written < bytes.length) {
        const chunk = bytes.subarray(written);
        written += writer ? await writer.write(chunk) : await Deno.stdout.write(chunk);
      }
    },
    close: () => Promise.resolve(),
  };
}
