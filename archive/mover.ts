/**
 * Moves rows older than the database's retention from the SIEM tables into
 * Parquet archives, `<dir>/<table>/date=YYYY-MM-DD/part-<n>.parquet`
 * (Hive-style: `duckdb -c "select rule, count(*) from
 * 'data/archives/alerts/*\/*.parquet' group by 1"` reads them as they are).
 *
 * Each (table, day) moves in steps that leave every row in exactly one place
 * whatever step a crash interrupts:
 *
 * 1. write `.part-<n>.parquet.tmp` one row group at a time, fsync it;
 * 2. read it back and count (and check the row-id range);
 * 3. rename it to `part-<n>.parquet`, fsync the directory;
 * 4. in one transaction (for several parts at once, up to `commitRows`
 *    rows): record the part in `archive_log` and delete those rows (the
 *    same day range, row ids up to the written maximum), checking that as
 *    many rows go as were written.
 *
 * On start, temporary files and part files that `archive_log` does not know
 * (a crash between 3 and 4) are removed: their rows are still in the
 * database and move again.
 *
 * @example
 * ```ts
 * import { archiveOnce } from "./mover.ts";
 * // await archiveOnce({ database: "data/siem.db", dir: "data/archives", retainDbMs: 30 * 86_400_000 });
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { Logger } from "../core/log.ts";
import { openVersionedTables } from "../core/_state_version.ts";
import { type ArchivePhases, noPhases, writePart, type WrittenPart } from "./_move_part.ts";
import {
  type Committer,
  DEFAULT_CACHE_MB,
  inlineCommitter,
  threadCommitter,
} from "./_committer.ts";
import { archiveDays, isArchiveDay, tableColumns } from "./_days.ts";

export type { ArchivePhases } from "./_move_part.ts";

/** The steps of a move, for fault injection in tests. */
export type ArchiveStep = "written" | "verified" | "renamed" | "committed";

/** Options for {@linkcode archiveOnce}. */
export interface ArchiveOptions {
  /** The SIEM database. */
  database: string;
  /** The archive directory (`data/archives`). */
  dir: string;
  /** Rows older than this (ms before now) move. */
  retainDbMs: number;
  /** Only these tables. @default {every SIEM table with a time column} */
  tables?: readonly string[];
  /** Rows per Parquet row group (archive/parquet.ts `rowGroupSize`). @default {10000} */
  rowGroupSize?: number;
  /**
   * Rows per read from SQLite (one `all()` each, by row id): a part's rows
   * come in batches of this many. @default {10000}
   */
  readRows?: number;
  /** The clock. @default {Date.now} */
  now?: () => number;
  /** Logger. */
  log?: Logger;
  /** Called after each step; a throw there stops the move (tests inject faults and crashes). */
  onStep?: (step: ArchiveStep, table: string, day: string) => void;
  /**
   * Parts are recorded and their rows deleted in one transaction once they
   * hold this many rows (and at the end of each table), not one a day: on
   * 250,000 alerts (16,700 a day) 7-9 % less time (docs/archive.md
   * "Measured"). @default {100000}
   */
  commitRows?: number;
  /**
   * SQLite's page cache of the connection that deletes, MiB: the deletes
   * touch every index, and a tiny cache reads and spills the same pages
   * again and again. It is memory the pass holds until it ends. @default {16}
   */
  cacheMb?: number;
  /** The commit thread's nice value (Linux; the central's service: its mover's). @default {unchanged} */
  commitNice?: number;
  /** Told the commit thread's OS thread id once it runs (the rest signal leaves it out). */
  onCommitThread?: (tid: string) => void;
  /**
   * After each part, rest this many times as long as the part took (when
   * `busy` says so; a batch the commit thread is deleting ends first, and
   * counts): 1 keeps the mover busy at most half the time, leaving
   * the cores to a central taking logs meanwhile (the central's archive
   * service rests 1 while the central is busy; what it buys is in
   * docs/archive.md "Measured"). @default {0}
   */
  restRatio?: number;
  /**
   * Asked after each part when `restRatio` is set: rest only when it says
   * the central is busy (archive/_rest.ts `restSignal`).
   * @default {always busy: rest after every part}
   */
  busy?: () => boolean;
  /**
   * Record the parts and delete their rows (step 4) on a thread of its own,
   * while this one reads and encodes the next days: a pass takes about as
   * long as its reading and encoding alone, using a second core for the
   * deletes (docs/archive.md "Measured"). The same transactions either way.
   * `false` keeps them on this thread. The central's service keeps the
   * thread, at its mover's nice value, so the OS gives the central the cores
   * first. @default {true}
   */
  commitThread?: boolean;
}

/** What one pass did. */
export interface ArchiveSummary {
  /** Parts written and committed. */
  parts: number;
  /** Rows moved. */
  rows: number;
  /** Bytes of Parquet written. */
  bytes: number;
  /** Rows moved per table. */
  byTable: Record<string, number>;
  /** Leftovers of an interrupted run that were removed. */
  recovered: number;
  /** Where the pass's time went (wall ms on its thread). */
  phases: ArchivePhases;
  /** The rests (with `restRatio`): after how many of how many parts, and how long in all (ms). */
  rest?: { parts: number; rested: number; ms: number };
}

/** The SIEM tables archived and their time columns. */
export const ARCHIVED_TABLES: Readonly<Record<string, string>> = {
  alerts: "timestamp",
  auth_events: "timestamp",
  firewall_events: "timestamp",
  docker_events: "timestamp",
  system_events: "timestamp",
  heartbeats: "timestamp",
  addrwatch: "timestamp",
  objects: "synced_at",
};

const _LOG_DDL = `CREATE TABLE IF NOT EXISTS archive_log (
  tbl TEXT NOT NULL,
  day TEXT NOT NULL,
  part INTEGER NOT NULL,
  file TEXT NOT NULL,
  rows INTEGER NOT NULL,
  min_rowid INTEGER NOT NULL,
  max_rowid INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  archived_at TEXT NOT NULL,
  deleted_at TEXT,
  PRIMARY KEY (tbl, day, part)
) STRICT`;

/**
 * The version of `archive_log` this code makes, kept in `sluice_meta` as
 * `schema.archive_log` (docs/deploy.md "Upgrades"). 1: the table as above.
 * A table made before versions existed reads as 0 and is upgraded once.
 *
 * @example
 * ```ts
 * import { ARCHIVE_LOG_VERSION } from "./mover.ts";
 * console.log(ARCHIVE_LOG_VERSION); // 1
 * ```
 */
export const ARCHIVE_LOG_VERSION = 1;

/**
 * Opens `archive_log` under its version: creates it (version 1), upgrades
 * an older one once, or refuses one a newer sluice made with a
 * `DowngradeError` naming the database and the downgrade, before anything
 * is written (no file moved, no row deleted).
 *
 * @param db An open connection, not in a transaction.
 * @param database The database's path, for the message.
 * @throws {DowngradeError} When a newer sluice made the table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { openArchiveLog } from "./mover.ts";
 * const db = new DatabaseSync(":memory:");
 * openArchiveLog(db, ":memory:");
 * const v = db.prepare("SELECT value FROM sluice_meta WHERE key = 'schema.archive_log'").get();
 * assert.equal(v?.value, "1");
 * db.close();
 * ```
 */
export function openArchiveLog(db: DatabaseSync, database: string): void {
  openVersionedTables(db, {
    component: "archive",
    database,
    name: "archive_log",
    version: ARCHIVE_LOG_VERSION,
    ddl: [_LOG_DDL],
  });
}

/**
 * Removes what an interrupted pass left: temporary files, and part files
 * that `archive_log` does not record (their rows are still in the database).
 *
 * @param db The database (with `archive_log`).
 * @param dir The archive directory.
 * @param database The database's path, for a refusal's message. @default {"siem.db"}
 * @returns How many files were removed.
 * @throws {DowngradeError} When a newer sluice made `archive_log` (nothing removed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { recoverArchive } from "./mover.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/.part-0.parquet.tmp`, "");
 * assert.equal(await recoverArchive(new DatabaseSync(":memory:"), dir), 1);
 * ```
 */
export async function recoverArchive(
  db: DatabaseSync,
  dir: string,
  database = "siem.db",
): Promise<number> {
  openArchiveLog(db, database);
  const known = new Set(
    (db.prepare("SELECT file FROM archive_log WHERE deleted_at IS NULL").all() as Array<
      { file: string }
    >)
      .map((r) => r.file),
  );
  let removed = 0;
  const walk = async (path: string, rel: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(path));
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${path}/${e.name}`;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p, r);
      else if (e.name.endsWith(".parquet.tmp") || (e.name.endsWith(".parquet") && !known.has(r))) {
        // Leftovers only: the lock file and foreign files stay.
        await Deno.remove(p);
        removed++;
      }
    }
  };
  await walk(dir, "");
  return removed;
}

/**
 * Moves the rows older than the retention into the archive, table by table
 * and day by day (see the module's description for the steps).
 *
 * @param options Database, directory, retention.
 * @returns What moved.
 */
export async function archiveOnce(options: ArchiveOptions): Promise<ArchiveSummary> {
  const now = (options.now ?? Date.now)();
  const cutoff = new Date(now - options.retainDbMs).toISOString();
  await Deno.mkdir(options.dir, { recursive: true });
  // One pass at a time (the central's schedule and `sluice archive --once`): the recovery
  // below would otherwise remove the other pass's temporary file.
  const lock = await Deno.open(`${options.dir}/.archive.lock`, { write: true, create: true });
  await lock.lock(true);
  const db = new DatabaseSync(options.database);
  const summary: ArchiveSummary = {
    parts: 0,
    rows: 0,
    bytes: 0,
    byTable: {},
    recovered: 0,
    phases: noPhases(),
  };
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    // A second connection to an in-memory database would be another, empty database.
    const memory = options.database === ":memory:" || options.database === "" ||
      options.database.includes("mode=memory");
    const thread = (options.commitThread ?? true) && !memory;
    // The deletes touch pages of every index: the cache (freed when the pass ends) is the
    // deleting connection's; with a commit thread that is the thread's, and this one only reads.
    if (!thread) {
      const mb = Math.max(2, Math.floor(options.cacheMb ?? DEFAULT_CACHE_MB));
      db.exec(`PRAGMA cache_size = -${mb * 1024}`);
    }
    // recoverArchive opens (and version-checks) archive_log first.
    summary.recovered = await recoverArchive(db, options.dir, options.database);
    if (summary.recovered) {
      options.log?.warn(`archive: removed ${summary.recovered} file(s) an interrupted run left`);
    }
    const tables = options.tables ?? Object.keys(ARCHIVED_TABLES);
    // Written parts wait for one transaction that records them and deletes their rows.
    const pending: WrittenPart[] = [];
    let pendingRows = 0;
    const committer: Committer = thread
      ? await threadCommitter(options, summary)
      : inlineCommitter(db, options, summary);
    const commit = async () => {
      const parts = pending.splice(0);
      pendingRows = 0;
      if (parts.length) await committer.submit(parts);
    };
    const batchRows = options.commitRows ?? 100_000;
    // Whether the central looked busy over the last part without a batch in flight.
    let busyBefore = false;
    let overlapping = false;
    try {
      for (const table of tables) {
        const timeColumn = ARCHIVED_TABLES[table];
        if (!timeColumn) throw new TypeError(`archive: "${table}" is not an archived table`);
        const columns = tableColumns(db, table, timeColumn);
        if (!columns) continue;
        for (const day of archiveDays(db, table, timeColumn, cutoff)) {
          if (!isArchiveDay(day)) {
            options.log?.warn(
              `archive: ${table} has rows whose time is not ISO 8601 (${
                JSON.stringify(day)
              }); left in the database`,
            );
            continue;
          }
          const started = performance.now();
          overlapping = committer.active();
          const n = await writePart(
            db,
            options,
            table,
            timeColumn,
            columns,
            day,
            cutoff,
            summary.phases,
          );
          // A batch in flight at the part's start or end (not one submitted just now).
          const overlapped = overlapping || committer.active();
          if (n) (pending.push(n), pendingRows += n.rows);
          if (pendingRows >= batchRows) await commit();
          const ratio = options.restRatio ?? 0;
          if (ratio > 0) {
            const r = summary.rest ??= { parts: 0, rested: 0, ms: 0 };
            r.parts++;
            // While a batch holds SQLite's write lock the central's writer waits off the CPU
            // and looks idle: over such a part the answer of the last part without one holds.
            let busy = options.busy?.() ?? true;
            if (overlapped) busy ||= busyBefore;
            else busyBefore = busy;
            if (busy) {
              // A busy central: the batch in flight (its deletes hold SQLite's write lock) ends
              // before the rest and the next part, as if on this thread; the rest counts its wait.
              await committer.drain();
              const rest = ratio * (performance.now() - started);
              r.rested++;
              r.ms += rest;
              await new Promise((resolve) => setTimeout(resolve, rest));
            }
          }
        }
        await commit();
      }
      await committer.drain();
    } catch (err) {
      // A failure (not a crash: recovery handles those) takes the unrecorded parts away at once,
      // once a batch in flight has committed or failed (either way its rows are in one place).
      await committer.drain().catch(() => {});
      for (const p of pending) await Deno.remove(p.final).catch(() => {});
      throw err;
    } finally {
      await committer.close();
    }
  } finally {
    db.close();
    lock.close();
  }
  return summary;
}
