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
