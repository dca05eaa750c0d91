/**
 * Helpers of the SIEM schema's tests (schema_test, schema_pipeline_test):
 * a SIEM sink on a fresh database, rows, events dated long ago.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  type EventInit,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import type { SqliteSink } from "../../sinks/sqlite.ts";

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
export function context(): SinkContext & { stats: ComponentStats } {
  return {
    name: "siem",
    stats: new ComponentStats("sink", "siem", "sqlite"),
    state: memoryState(),
    log: quiet,
    signal: new AbortController().signal,
  };
}

/**
 * Opens the SIEM SQLite sink on a fresh database, runs `body`, closes and removes it.
 *
 * @example
 * ```ts ignore
 * await withSiem(async (sink, ctx) => { await sink.write([ev("x", {})], ctx); });
 * ```
 */
export async function withSiem(
  body: (sink: SqliteSink, ctx: ReturnType<typeof context>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const sink = siemSqliteSink({ database: `${dir}/siem.db` });
  const ctx = context();
  await sink.open(ctx);
  try {
    await body(sink, ctx);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The rows of a query, as plain objects.
 *
 * @example
 * ```ts ignore
 * rows(db, "SELECT * FROM vms");
 * ```
 */
export function rows(db: DatabaseSync, sql: string): Array<Record<string, unknown>> {
  return (db.prepare(sql).all() as Array<Record<string, unknown>>).map((r) => ({ ...r }));
}

/** The fixture's time: long past, so a VM last seen then is silent. */
export const T0 = Date.UTC(2024, 10, 23, 9, 48);

/**
 * An event received at {@linkcode T0}.
 *
 * @example
 * ```ts ignore
 * ev("sshd line", { host: "vm-1" });
 * ```
 */
export function ev(message: string, init: EventInit): ReturnType<typeof createEvent> {
  return createEvent(message, { receivedAt: T0, ...init });
}
