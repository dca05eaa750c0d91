/**
 * `archiveService`: runs the lifecycle inside the central on a schedule:
 * moves rows past `retainDbMs` into Parquet, prunes the archive to
 * `retainArchiveMs` and `maxDiskBytes`, gzips past days' JSONL and deletes
 * them after `retainJsonlMs`. One pass at a time; a failed pass is logged
 * and counted, and the next one picks up where it stopped.
 *
 * @example
 * ```ts
 * import { archiveService } from "./service.ts";
 * const archive = archiveService({ database: "data/siem.db", dir: "data/archives", retainDbMs: 30 * 86_400_000 });
 * // definePipeline({ …, services: { archive } })
 * ```
 *
 * @module
 */

import type { Service, ServiceContext } from "../core/types.ts";
import { archiveOnce } from "./mover.ts";
import { compressJsonl, pruneArchive } from "./retention.ts";

/** Options for {@linkcode archiveService}. */
export interface ArchiveServiceOptions {
  /** The SIEM database. */
  database: string;
  /** The archive directory. */
  dir: string;
  /** Rows older than this (ms) move to the archive. @default {none: nothing moves} */
  retainDbMs?: number;
  /** Archive days older than this (ms) are deleted. @default {none} */
  retainArchiveMs?: number;
  /** The most bytes the archive may take. @default {none} */
  maxDiskBytes?: number;
  /** The daily JSONL directory to compress. @default {none} */
  dailyJsonlDir?: string;
  /** Compressed daily JSONL older than this (ms) is deleted. @default {none} */
  retainJsonlMs?: number;
  /** Time between passes, ms. @default {3600000} */
  everyMs?: number;
  /** Time before the first pass, ms (let the central start first). @default {60000} */
  firstMs?: number;
}

/** The archive service, with a way to run a pass now (tests, the dashboard). */
export interface ArchiveService extends Service {
  /** Runs one pass now (waits for a running one first). */
  runOnce(): Promise<void>;
}

/**
 * Makes the archive service.
 *
 * @param options What to keep and where.
 * @returns The service.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { archiveService } from "./service.ts";
 * assert.equal(archiveService({ database: ":memory:", dir: "/tmp/a" }).kind, "archive");
 * ```
 */
export function archiveService(options: ArchiveServiceOptions): ArchiveService {
  let ctx: ServiceContext | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    const log = ctx?.log;
    try {
      if (options.retainDbMs !== undefined) {
        const s = await archiveOnce({
          database: options.database,
          dir: options.dir,
          retainDbMs: options.retainDbMs,
          ...(log ? { log } : {}),
        });
        ctx?.stats.add("archived_rows", s.rows);
        ctx?.stats.add("archived_bytes", s.bytes);
      }
      if (options.retainArchiveMs !== undefined || options.maxDiskBytes !== undefined) {
        const p = await pruneArchive({
          database: options.database,
          dir: options.dir,
          ...(options.retainArchiveMs !== undefined
            ? { retainArchiveMs: options.retainArchiveMs }
            : {}),
          ...(options.maxDiskBytes !== undefined ? { maxDiskBytes: options.maxDiskBytes } : {}),
          ...(log ? { log } : {}),
        });
        ctx?.stats.set("archive_bytes", p.bytes);
        ctx?.stats.set("archive_near_limit", p.nearLimit ? 1 : 0);
        ctx?.stats.add("archive_days_deleted", p.daysDeleted);
      }
      if (options.dailyJsonlDir) {
        const z = await compressJsonl({
          dir: options.dailyJsonlDir,
          ...(options.retainJsonlMs !== undefined ? { retainJsonlMs: options.retainJsonlMs } : {}),
          ...(log ? { log } : {}),
        });
        ctx?.stats.add("jsonl_compressed", z.compressed);
        ctx?.stats.add("jsonl_deleted", z.deleted);
      }
    } catch (err) {
      ctx?.stats.add("archive_errors");
      log?.error(`archive pass failed (the next one retries): ${(err as Error).message}`);
    }
  };
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = running.then(pass).finally(() => {
        if (ctx && !ctx.signal.aborted) schedule(options.everyMs ?? 3_600_000);
      });
    }, ms);
  };
  return {
    kind: "archive",
    start(c) {
      ctx = c;
      schedule(options.firstMs ?? 60_000);
      return Promise.resolve();
    },
    async stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      const c = ctx;
      ctx = undefined;
      await running;
      void c;
    },
    runOnce() {
      running = running.then(pass);
      return running;
    },
  };
}
