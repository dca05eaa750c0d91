/**
 * Helpers of the SQLite sink's tests (sqlite_test, sqlite_concurrency_test,
 * sqlite_options_test): a sink context, a sink on a fresh file, events,
 * row counts and dead letters.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  type LogEvent,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { type SqliteSink, sqliteSink, type SqliteSinkOptions } from "../../sinks/sqlite.ts";

/** A logger that prints nothing. */
export const quiet = createLogger("silent");

/**
 * A sink context with fresh stats and state.
 *
 * @example
 * ```ts ignore
 * const ctx = context("db");
 * await sink.open(ctx);
 * ```
 */
export function context(name = "db"): SinkContext & { stats: ComponentStats } {
  return {
    name,
    stats: new ComponentStats("sink", name, "sqlite"),
    state: memoryState(),
    log: quiet,
    signal: new AbortController().signal,
  };
}

/**
 * Opens a sink on a fresh database file, runs `body`, closes and removes everything.
 *
 * @example
 * ```ts ignore
 * await withSink({}, async (sink, ctx, path) => {
 *   await sink.write(events(3), ctx);
 * });
 * ```
 */
export async function withSink(
  options: Omit<SqliteSinkOptions, "database">,
  body: (sink: SqliteSink, ctx: ReturnType<typeof context>, path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/test.db`;
  const sink = sqliteSink({ database: path, ...options });
  const ctx = context();
  await sink.open(ctx);
  try {
    await body(sink, ctx, path);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * `n` events with ids `<prefix>:<i>` from `from`, over three hosts.
 *
 * @example
 * ```ts ignore
 * events(3, "src").map((e) => e.id); // ["src:0", "src:1", "src:2"]
 * ```
 */
export function events(n: number, prefix = "src", from = 0): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = from; i < from + n; i++) {
    out.push(
      createEvent(`message ${i}`, { id: `${prefix}:${i}`, host: `vm${i % 3}`, severity: 6 }),
    );
  }
  return out;
}

/**
 * The rows of a table.
 *
 * @example
 * ```ts ignore
 * assert.equal(count(db, "events"), 3);
 * ```
 */
export function count(db: DatabaseSync, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
}

/**
 * The dead-letter rows, in order.
 *
 * @example
 * ```ts ignore
 * assert.equal(deadLetters(db).length, 1);
 * ```
 */
export function deadLetters(db: DatabaseSync): Array<Record<string, unknown>> {
  return db.prepare("SELECT * FROM sluice_dead_letter ORDER BY rowid").all() as Array<
    Record<string, unknown>
  >;
}
