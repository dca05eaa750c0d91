/**
 * `sluice tail`: the command line of {@linkcode tailDatabase}.
 *
 * @module
 */

import { type Command, Option } from "../../core/_deps/commander.ts";
import { tailCategories, tailDatabase } from "../tail.ts";
import { _color, _database, parseDuration, parseTime, type QueryIo } from "./_common.ts";

/**
 * Adds `tail` to a program.
 *
 * @param program The program.
 * @param io Where output goes; its `signal` stops following (SIGINT/SIGTERM when it has none).
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerTail } from "./tail.ts";
 * registerTail(new Command("sluice"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerTail(program: Command, io: QueryIo): void {
  program.command("tail")
    .description("follow new events as the central stores them (Ctrl-C stops)")
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .option("--severity <names>", "only these severities, comma-separated (critical, high …)")
    .option("--host <name>", "only this host")
    .option(
      "--category <names>",
      "only these categories, comma-separated (alerts, auth, firewall, docker, system, heartbeat, addrwatch, object)",
    )
    .option("--since <time>", "first print what was stored since then (30m, 2026-11-23)")
    .option("--poll <duration>", "how often the database is read", "500ms")
    .addOption(
      new Option("--format <format>", "text lines or JSON lines").choices(["text", "json"])
        .default("text"),
    )
    .action(async (options: {
      db?: string;
      severity?: string;
      host?: string;
      category?: string;
      since?: string;
      poll: string;
      format: "text" | "json";
    }) => {
      const list = (s: string | undefined) =>
        s === undefined ? [] : s.split(",").map((x) => x.trim()).filter(Boolean);
      const categories = list(options.category);
      tailCategories(categories); // Validates before anything opens.
      const pollMs = parseDuration(options.poll);
      if (pollMs === undefined || pollMs <= 0) {
        throw new RangeError(`--poll: expected a duration (500ms, 2s), got "${options.poll}"`);
      }
      const since = options.since === undefined ? undefined : parseTime(options.since);
      const stop = new AbortController();
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      const onSignal = () => stop.abort();
      if (!io.signal) { for (const s of signals) Deno.addSignalListener(s, onSignal); }
      io.signal?.addEventListener("abort", onSignal, { once: true });
      if (io.signal?.aborted) stop.abort();
      const database = _database(options, io);
      try {
        await tailDatabase(
          {
            database,
            categories,
            severities: list(options.severity),
            ...(options.host !== undefined ? { host: options.host } : {}),
            ...(since !== undefined ? { since } : {}),
            pollMs,
            format: options.format,
            color: _color(io),
            onReady: () => io.info(`following ${database} (Ctrl-C stops)`),
          },
          (line) => io.write(line + "\n"),
          stop.signal,
        );
      } finally {
        if (!io.signal) { for (const s of signals) Deno.removeSignalListener(s, onSignal); }
        io.signal?.removeEventListener("abort", onSignal);
      }
    });
}
