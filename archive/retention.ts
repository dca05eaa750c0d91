/**
 * Bounds on disk use: archive days older than `--retain-archive` are
 * deleted, then the oldest days until the archive fits `--max-disk` (never
 * a database row: only what was archived); past days' JSONL files are
 * gzipped (`zcat`/`zgrep` read them) and deleted after `--retain-jsonl`.
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
    const mark = db.prepare(
      "UPDATE archive_log SET deleted_at = ? WHERE tbl = ? AND day = ? AND deleted_at IS NULL",
    );
    const hasLog =
      db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'archive_log'").get() !== undefined;
    const drop = async (d: _Day, why: string) => {
      await Deno.remove(d.path, { recursive: true });
      if (hasLog) mark.run(new Date(now).toISOString(), d.table, d.day);
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

/** Options for {@linkcode compressJsonl}. */
export interface CompressJsonlOptions {
  /** The directory of daily files (`data/logs/daily`), named `YYYY-MM-DD.jsonl`. */
  dir: string;
  /** Compressed files older than this (ms) are deleted. @default {none} */
  retainJsonlMs?: number;
  /** The clock. @default {Date.now} */
  now?: () => number;
  /** Logger. */
  log?: Logger;
}

/**
 * Gzips the daily JSONL files of days before yesterday (a sink may still
 * append late events to yesterday's), crash-safe (write `.gz.tmp`, fsync,
 * rename, then remove the original), and deletes compressed days past the
 * retention.
 *
 * @param options Directory, retention.
 * @returns Files compressed and deleted.
 */
export async function compressJsonl(
  options: CompressJsonlOptions,
): Promise<{ compressed: number; deleted: number }> {
  const now = (options.now ?? Date.now)();
  const before = new Date(now - 86_400_000).toISOString().slice(0, 10);
  const oldest = options.retainJsonlMs !== undefined
    ? new Date(now - options.retainJsonlMs).toISOString().slice(0, 10)
    : undefined;
  let compressed = 0;
  let deleted = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(options.dir));
  } catch {
    return { compressed, deleted };
  }
  for (const e of entries) {
    const m = /^(\d{4}-\d{2}-\d{2})\.jsonl(\.gz)?(\.tmp)?$/.exec(e.name);
    if (!e.isFile || !m) continue;
    const path = `${options.dir}/${e.name}`;
    const day = m[1] as string;
    if (m[3]) {
      await Deno.remove(path); // a compression a crash interrupted
      continue;
    }
    if (oldest !== undefined && day < oldest) {
      await Deno.remove(path);
      deleted++;
      continue;
    }
    if (m[2] || day >= before) continue;
    const gz = `${path}.gz`;
    const tmp = `${gz}.tmp`;
    const src = await Deno.open(path, { read: true });
    const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      // Streamed: a day's file is never read into memory whole.
      for await (const chunk of src.readable.pipeThrough(new CompressionStream("gzip"))) {
        let n = 0;
        while (n < chunk.length) n += await out.write(chunk.subarray(n));
      }
      await out.sync();
    } finally {
      out.close();
    }
    await Deno.rename(tmp, gz);
    await Deno.remove(path);
    compressed++;
    options.log?.info(`logs: compressed ${e.name}`);
  }
  return { compressed, deleted };
}
