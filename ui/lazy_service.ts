/**
 * The dashboard service, loaded when it starts: a pipeline that builds it
 * but runs with `--ui off` never imports Hono, the pages or the store.
 *
 * @module
 */

import type { Service, ServiceContext } from "../core/types.ts";
import { parseListen } from "./listen.ts";
import { importLate } from "../core/lazy.ts";
import type { UiService, UiServiceOptions } from "./server.ts";

/**
 * Creates the dashboard service ({@linkcode UiService}) whose code loads in
 * `start()`. `listen` is checked now, so a typo fails before anything opens.
 * When the address is taken, `start()` logs a warning and the pipeline runs
 * without a dashboard (it is on by default; a second central on one machine
 * must still start).
 *
 * @param options As for `uiService` in ui/server.ts.
 * @returns The service; `url` is known once it started.
 * @throws {RangeError} When `listen` is malformed.
 *
 * @example
 * ```ts
 * import { lazyUiService } from "./lazy_service.ts";
 * const ui = lazyUiService({ database: "data/siem.db", listen: "127.0.0.1:8080" });
 * ```
 */
export function lazyUiService(options: UiServiceOptions): Service & {
  readonly url: string | undefined;
} {
  parseListen(options.listen ?? "127.0.0.1:8080");
  let inner: UiService | undefined;
  return {
    kind: "ui",
    get url() {
      return inner?.url;
    },
    async start(ctx: ServiceContext) {
      // By URL: with `--ui off` the dashboard's modules stay out of Deno's module graph too
      // (core/lazy.ts importLate; issue 26's idle memory).
      const { uiService } = await importLate<typeof import("./server.ts")>(
        new URL("./server.ts", import.meta.url),
      );
      inner = uiService(options);
      try {
        await inner.start(ctx);
      } catch (err) {
        // The dashboard is on by default: a taken port must not keep the pipeline from running.
        if (!(err instanceof Deno.errors.AddrInUse)) throw err;
        inner = undefined;
        ctx.log.warn(
          `dashboard not started: ${
            options.listen ?? "127.0.0.1:8080"
          } is in use (--ui host:port for another, --ui off for none)`,
        );
      }
    },
    async stop() {
      await inner?.stop();
    },
  };
}
