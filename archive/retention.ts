/**
 * Bounds on disk use: archive days older than `--retain-archive` are
 * deleted, then the oldest days until the archive fits `--max-disk` (never
 * a database row: only what was archived). Past days' JSONL files are the
 * JSONL lifecycle's (archive/jsonl_lifecycle.ts: gzip, `--retain-jsonl`).
 *
 * @example
 * ```ts
 * import { pruneArchive } from "./retention.ts";
 * // await pruneArchive({ database: "data/siem.db", dir: "data/archives", maxDiskBytes: 20e9 });
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import type { Logger } from "../core/log.ts";
import { openArchiveLog } from "./mover.ts";

/** Options for {@linkcode pruneArchive}. */
export interface PruneOptions {
  /** The SIEM database (its `archive_log` marks deleted parts). */
  database: string;
  /** The archive directory. */
  dir: string;
  /** Archive days older than this (ms) are deleted. @default {none} */
  retainArchiveMs?: number;
  /** The most bytes the archive may use; the oldest days go first. @default {none} */
  maxDiskBytes?: number;
  /** Warn when the archive passes this share of `maxDiskBytes`. @default {0.9} */
  warnAt?: number;
  /** The clock. @default {Date.now} */
  now?: () => number;
  /** Logger. */
  log?: Logger;
}

/** What a prune did and found. */
export interface PruneSummary {
  /** Day directories deleted. */
  daysDeleted: number;
  /** Bytes freed. */
  bytesFreed: number;
  /** Bytes the archive uses now. */
  bytes: number;
  /** Whether the archive is past the warning share of `maxDiskBytes`. */
  nearLimit: boolean;
}

interface _Day {
  table: string;
  day: string;
  path: string;
  bytes: number;
}

async function _days(dir: string): Promise<_Day[]> {
  const out: _Day[] = [];
  let tables: Deno.DirEntry[];
  try {
    tables = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return out;
  }
  for (const t of tables) {
    if (!t.isDirectory) continue;
    for await (const d of Deno.readDir(`${dir}/${t.name}`)) {
      const m = /^date=(\d{4}-\d{2}-\d{2})$/.exec(d.name);
      if (!d.isDirectory || !m) continue;
      const path = `${dir}/${t.name}/${d.name}`;
      let bytes = 0;
      for await (const f of Deno.readDir(path)) {
        if (f.isFile) bytes += (await Deno.stat(`${path}/${f.name}`)).size;
      }
      out.push({ table: t.name, day: m[1] as string, path, bytes });
    }
  }
  return out.sort((a, b) => a.day.localeCompare(b.day) || a.table.localeCompare(b.table));
}

/**
 * Deletes archive days past the retention, then the oldest until the
 * archive fits, and warns before the limit bites.
 *
 * @param options Database, directory, limits.
 * @returns What was deleted and how much is used.
 */
export async function pruneArchive(options: PruneOptions): Promise<PruneSummary> {
  const now = (options.now ?? Date.now)();
  const days = await _days(options.dir);
  let bytes = days.reduce((n, d) => n + d.bytes, 0);
  const summary: PruneSummary = { daysDeleted: 0, bytesFreed: 0, bytes, nearLimit: false };
  const db = new DatabaseSync(options.database);
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    const hasLog =
      db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'archive_log'").get() !== undefined;
    // Under its version, before any file goes: a newer sluice's table is refused.
    if (hasLog) openArchiveLog(db, options.database);
    const mark = hasLog
      ? db.prepare(
        "UPDATE archive_log SET deleted_at = ? WHERE tbl = ? AND day = ? AND deleted_at IS NULL",
      )
      : undefined;
    const drop = async (d: _Day, why: string) => {
      await Deno.remove(d.path, { recursive: true });
      mark?.run(new Date(now).toISOString(), d.table, d.day);
      bytes -= d.bytes;
      summary.daysDeleted++;
      summary.bytesFreed += d.bytes;
      options.log?.info(`archive: deleted ${d.table} ${d.day} (${d.bytes} bytes): ${why}`);
    };
    const oldest = options.retainArchiveMs !== undefined
      ? new Date(now - options.retainArchiveMs).toISOString().slice(0, 10)
      : undefined;
    const left: _Day[] = [];
    for (const d of days) {
      if (oldest !== undefined && d.day < oldest) await drop(d, "older than the archive retention");
      else left.push(d);
    }
    if (options.maxDiskBytes !== undefined) {
      for (const d of left) {
        if (bytes <= options.maxDiskBytes) break;
        await drop(d, `the archive is over its ${options.maxDiskBytes} bytes`);
      }
      summary.nearLimit = bytes > options.maxDiskBytes * (options.warnAt ?? 0.9);
      if (summary.nearLimit) {
        options.log?.warn(
          `archive: ${bytes} bytes, past ${
            Math.round((options.warnAt ?? 0.9) * 100)
          }% of --max-disk ${options.maxDiskBytes}; the oldest days will be deleted`,
        );
      }
    }
  } finally {
    db.close();
  }
  summary.bytes = bytes;
  return summary;
}
