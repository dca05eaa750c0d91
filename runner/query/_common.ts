/**
 * What every `sluice query` subcommand shares: its io, its options, times
 * and limits read from the command line, the store it reads through.
 *
 * @module
 */

import { type Command, Option } from "../../core/_deps/commander.ts";
import { openStore } from "../../store/open.ts";
import type { SiemStore, TimeRange } from "../../store/types.ts";
import { type QueryFormat, type QueryResult, renderResult } from "./render.ts";

/**
 * Where the query commands write, and what they know of the terminal.
 *
 * @example
 * ```ts
 * import type { QueryIo } from "./_common.ts";
 * let out = "";
 * const io: QueryIo = { write: (t) => void (out += t), info() {}, isTerminal: false, columns: 80, env: () => undefined };
 * ```
 */
export interface QueryIo {
  /** Writes text to standard output (the text carries its newlines). */
  write(text: string): void;
  /** Writes a status line to standard error (`tail` says when it follows). */
  info(text: string): void;
  /** Whether standard output is a terminal (colours, live output). */
  readonly isTerminal: boolean;
  /** The terminal's width in columns; tables are not cut when unknown. */
  readonly columns: number | undefined;
  /** Reads an environment variable (`NO_COLOR`, `SLUICE_DB`). */
  env(name: string): string | undefined;
  /** Stops `tail` (SIGINT/SIGTERM by default). */
  readonly signal?: AbortSignal;
}

const _encoder = new TextEncoder();

/** The io of the real process: standard output, standard error, the environment. */
export function _denoIo(): QueryIo {
  const isTerminal = Deno.stdout.isTerminal();
  let columns: number | undefined;
  if (isTerminal) {
    try {
      columns = Deno.consoleSize().columns;
    } catch {
      columns = undefined;
    }
  }
  if (columns === undefined) {
    const env = Number(Deno.env.get("COLUMNS"));
    if (Number.isInteger(env) && env > 0) columns = env;
  }
  return {
    write(text) {
      const bytes = _encoder.encode(text);
      let n = 0;
      while (n < bytes.length) n += Deno.stdout.writeSync(bytes.subarray(n));
    },
    info(text) {
      try {
        Deno.stderr.writeSync(_encoder.encode(text + "\n"));
      } catch {
        // stderr closed: the status line is not needed
      }
    },
    isTerminal,
    columns,
    env: (name) => Deno.env.get(name),
  };
}

export { parseDuration } from "../../core/duration.ts";
import { parseDuration } from "../../core/duration.ts";

/**
 * Reads a point in time: a duration back from now (`24h`), a date
 * (`2026-11-23`, midnight UTC) or an ISO 8601 time.
 *
 * @param text The time.
 * @param now What "now" is, in ms. @default {Date.now()}
 * @param option The option's name, for the error.
 * @returns Milliseconds since the epoch.
 * @throws {RangeError} When the text is neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTime } from "./_common.ts";
 * assert.ok(parseTime("1h", 7_200_000) === 3_600_000);
 * assert.ok(parseTime("2026-01-02") === Date.UTC(2026, 0, 2));
 * ```
 */
export function parseTime(text: string, now: number = Date.now(), option = "--since"): number {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  const t = text.trim();
  const ms = /^\d{4}-\d\d-\d\d$/.test(t) ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t);
  if (Number.isNaN(ms)) {
    throw new RangeError(
      `${option}: expected a duration (30m, 24h, 7d) or a date (2026-11-23, 2026-11-23T10:00:00Z), got "${text}"`,
    );
  }
  return ms;
}

/** Options every query subcommand takes. */
export interface _Common {
  db?: string;
  since?: string;
  until?: string;
  format: QueryFormat;
  limit: string;
}

/** The database a command reads: `--db`, else `$SLUICE_DB`, else `./data/siem.db`. */
export function _database(options: { db?: string }, io: QueryIo): string {
  return options.db ?? io.env("SLUICE_DB") ?? "./data/siem.db";
}

/** `--limit` as a positive integer. */
export function _limit(options: _Common): number {
  const n = Number(options.limit);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`--limit: expected a positive integer, got "${options.limit}"`);
  }
  return n;
}

/** `--since`/`--until` (or the default since) as a time range in ms. */
export function _range(options: _Common, defaultSince?: string): TimeRange {
  const now = Date.now();
  const since = options.since ?? defaultSince;
  const out: TimeRange = {};
  if (since !== undefined) out.since = parseTime(since, now, "--since");
  if (options.until !== undefined) out.until = parseTime(options.until, now, "--until");
  return out;
}

/** `--interval` as ms. */
export function _interval(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new RangeError(`--interval: expected a duration (60s, 5m), got "${text}"`);
  }
  return ms;
}

/** Opens the store the options name, runs `f`, closes it. */
export async function _withStore<T>(
  options: { db?: string },
  io: QueryIo,
  f: (store: SiemStore) => Promise<T>,
): Promise<T> {
  const store = await openStore(_database(options, io));
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Whether output is coloured: a terminal without `NO_COLOR`. */
export function _color(io: QueryIo): boolean {
  const noColor = io.env("NO_COLOR");
  return io.isTerminal && (noColor === undefined || noColor === "");
}

/** Prints a result in the chosen format. */
export function _print(io: QueryIo, options: { format: QueryFormat }, result: QueryResult): void {
  io.write(renderResult(result, options.format, { width: io.columns, color: _color(io) }));
}

/** Picks columns of typed rows into a result. */
export function _pick<T extends object>(columns: string[], rows: readonly T[]): QueryResult {
  return {
    columns,
    rows: rows.map((r) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) out[c] = (r as Record<string, unknown>)[c] ?? null;
      return out;
    }),
  };
}

/** Adds the options every query subcommand takes. */
export function _common(cmd: Command, defaultSince?: string): Command {
  return cmd
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .option(
      "--since <time>",
      `from this time: a duration back (30m, 24h, 7d) or a date${
        defaultSince ? ` (default ${defaultSince})` : ""
      }`,
    )
    .option("--until <time>", "up to this time: a duration back or a date")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json", "csv"]).default(
        "table",
      ),
    )
    .option("--limit <n>", "most rows", "100");
}
