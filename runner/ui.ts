/**
 * `sluice ui --db PATH|URL [--listen 127.0.0.1:8080]`: the web dashboard
 * alone, over any SIEM database: a SQLite file, or a PostgreSQL or
 * MariaDB/MySQL server (`postgres://user@host/db`, `mysql://user@host/db`;
 * the password from the URL, `SLUICE_DB_PASSWORD_FILE`, `SLUICE_DB_PASSWORD`
 * or `PGPASSWORD`, never shown). It reads the SIEM tables read-only and
 * writes only its own (users, sessions, triage), until SIGINT or SIGTERM.
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { createLogger } from "../core/log.ts";
import { memoryState } from "../core/state.ts";
import { StatsRegistry } from "../core/stats.ts";
import { uiService } from "../ui/server.ts";

/** Options of `sluice ui`. */
export interface UiCommandOptions {
  /** The SIEM database: a path, `sqlite:PATH` or a server URL. */
  db?: string;
  /** `host:port`. */
  listen?: string;
  /** TLS certificate file. */
  cert?: string;
  /** TLS key file. */
  key?: string;
}

/**
 * Serves the dashboard until the signal aborts.
 *
 * @param options Database, address, TLS.
 * @param signal Stops the server.
 * @param onReady Receives the URL once listening.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * const stop = new AbortController();
 * await serveUi({ db: "data/siem.db" }, stop.signal, console.log);
 * ```
 */
export async function serveUi(
  options: UiCommandOptions,
  signal: AbortSignal,
  onReady: (url: string) => void = () => {},
): Promise<number> {
  if (Boolean(options.cert) !== Boolean(options.key)) {
    throw new RangeError("--cert and --key: give both or neither");
  }
  const database = options.db ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db";
  const service = uiService({
    database,
    listen: options.listen ?? "127.0.0.1:8080",
    ...(options.cert && options.key
      ? { tls: { certFile: options.cert, keyFile: options.key } }
      : {}),
  });
  const log = createLogger("info").child("ui");
  await service.start({
    name: "ui",
    log,
    signal,
    state: memoryState(),
    stats: new StatsRegistry().register("service", "ui", "ui"),
  });
  onReady(service.url as string);
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await service.stop();
  return 0;
}

/**
 * Registers `ui` on the program.
 *
 * @param program The commander program.
 * @param setExitCode Receives the exit code.
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerUiCommand } from "./ui.ts";
 * const program = registerUiCommand(new Command("sluice"), () => {});
 * assert.ok(program.commands.some((c) => c.name() === "ui"));
 * ```
 */
export function registerUiCommand(
  program: Command,
  setExitCode: (code: number) => void,
): Command {
  program.command("ui")
    .description("serve the web dashboard over a SIEM database")
    .option(
      "--db <target>",
      "the SIEM database: a path, sqlite:PATH, postgres://user@host/db or mysql://user@host/db (SLUICE_DB, ./data/siem.db)",
    )
    .option("--listen <host:port>", "where to listen (localhost only by default)", "127.0.0.1:8080")
    .option("--cert <file>", "PEM certificate: serve HTTPS")
    .option("--key <file>", "PEM private key of --cert")
    .action(async (options: UiCommandOptions) => {
      const stop = new AbortController();
      const handler = () => stop.abort();
      Deno.addSignalListener("SIGINT", handler);
      Deno.addSignalListener("SIGTERM", handler);
      try {
        setExitCode(
          await serveUi(options, stop.signal, (url) => console.error(`sluice dashboard at ${url}`)),
        );
      } catch (err) {
        console.error(`sluice ui: ${err instanceof Error ? err.message : String(err)}`);
        setExitCode(err instanceof TypeError || err instanceof RangeError ? 2 : 1);
      } finally {
        Deno.removeSignalListener("SIGINT", handler);
        Deno.removeSignalListener("SIGTERM", handler);
      }
    });
  return program;
}
