/**
 * A small seeded SIEM database for the store tests: the sink's own tables
 * (bench/seed_siem.ts), a fixed "now", and a writable connection that plays
 * the central writing while the store reads.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { seedSiem, type SeedSummary } from "../../bench/seed_siem.ts";

/** A seeded database in a temp dir. */
export interface Seeded {
  dir: string;
  database: string;
  now: number;
  summary: SeedSummary;
  /** A writable connection (the central), closed by `cleanup`. */
  writer: DatabaseSync;
  cleanup(): Promise<void>;
}

/** "Now" of the seeded data: a fixed time, so every run sees the same rows. */
export const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

/**
 * Seeds a fresh database.
 *
 * @param sizes Alerts and auth events.
 * @returns The database and its cleanup.
 */
export async function seeded(sizes: { alerts?: number; auth?: number } = {}): Promise<Seeded> {
  const dir = await Deno.makeTempDir({ prefix: "store_test_" });
  const database = `${dir}/siem.db`;
  const summary = await seedSiem(database, {
    alerts: sizes.alerts ?? 3000,
    auth: sizes.auth ?? 3000,
    hosts: 8,
    days: 3,
    now: NOW,
    seed: 7,
  });
  const writer = new DatabaseSync(database);
  writer.exec("PRAGMA busy_timeout = 5000");
  return {
    dir,
    database,
    now: NOW,
    summary,
    writer,
    async cleanup() {
      writer.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

let _n = 0;

/** Inserts one alert as the central would (all columns given), returns its rowid. */
export function insertAlert(
  db: DatabaseSync,
  row: {
    timestamp: string;
    host?: string | null;
    severity?: string | null;
    rule?: string | null;
    file?: string | null;
    hash?: string | null;
    message?: string | null;
    source?: string | null;
    raw?: string;
  },
): number {
  const r = db.prepare(
    `INSERT INTO alerts (id, timestamp, host, severity, rule, file, hash, message, source, raw)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    `test:${_n++}`,
    row.timestamp,
    row.host ?? null,
    row.severity ?? null,
    row.rule ?? null,
    row.file ?? null,
    row.hash ?? null,
    row.message ?? null,
    row.source ?? null,
    row.raw ?? JSON.stringify(row),
  );
  return Number(r.lastInsertRowid);
}

/** A day in ms. */
export const DAY = 86_400_000;

/**
 * A time as ISO 8601.
 *
 * @example
 * ```ts ignore
 * iso(NOW - DAY); // "2026-11-22T12:00:00.000Z"
 * ```
 */
export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The `n` a counting query returns.
 *
 * @example
 * ```ts ignore
 * count(db, "SELECT count(*) AS n FROM alerts WHERE host = ?", "vm-1");
 * ```
 */
export function count(db: DatabaseSync, sql: string, ...args: Array<string | number>): number {
  return Number((db.prepare(sql).get(...args) as { n: number }).n);
}
