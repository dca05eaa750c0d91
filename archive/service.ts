/**
 * `archiveService`: runs the lifecycle inside the central on a schedule:
 * moves rows past `retainDbMs` into Parquet, gzips past days' JSONL and
 * deletes them after `retainJsonlMs` (archive/jsonl_lifecycle.ts), prunes the
 * archive to `retainArchiveMs` and `maxDiskBytes` (the JSONL files count
 * against it). One pass at a time; a failed pass is logged and counted, and
 * the next one picks up where it stopped.
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
import type { Logger } from "../core/log.ts";
import { archiveOnce, type ArchiveSummary } from "./mover.ts";
import type { MoverMessage, MoverRequest } from "./_mover_worker.ts";
import { pruneArchive } from "./retention.ts";
import { jsonlLifecycle } from "./jsonl_lifecycle.ts";
import { describeShares, restSignal } from "./_rest.ts";

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
  /**
   * The most bytes the archive may take, with the JSONL files under `jsonlDir`
   * when that is set (only archive days are deleted to fit). @default {none}
   */
  maxDiskBytes?: number;
  /**
   * The JSONL directory (`data/logs`): past days' files are gzipped, and
   * deleted after `retainJsonlMs`. @default {none: JSONL left alone}
   */
  jsonlDir?: string;
  /** JSONL files of days older than this (ms) are deleted. @default {none: kept forever} */
  retainJsonlMs?: number;
  /** Time between passes, ms. @default {3600000} */
  everyMs?: number;
  /** Time before the first pass, ms (let the central start first). @default {60000} */
  firstMs?: number;
  /**
   * Move rows on a thread of its own (archive/_mover_worker.ts), so that the
   * central's sources are not held up while a row group is encoded;
   * `false` moves them on the central's thread. @default {true}
   */
  worker?: boolean;
  /**
   * The mover rests this many times as long as each part took (see
   * `restRatio` of `archiveOnce`) after every part, whatever the central is
   * doing. Unset: it rests as long as each part took only while the central
   * is busy (`busyShare`), and runs without rests while the central has
   * capacity to spare. @default {unset: 1 while the central is busy}
   */
  restRatio?: number;
  /**
   * With `restRatio` unset, the central is busy when one of its threads
   * (its event loop, its SQLite writer) was on a CPU at least this share
   * (0-1) of the time over the last part (archive/_rest.ts). Where the
   * threads' CPU time cannot be read (not Linux), the mover rests after
   * every part. @default {0.7}
   */
  busyShare?: number;
  /**
   * The mover thread's nice value (Linux), so the OS gives the central's
   * sources a core first and the mover what is left (docs/archive.md
   * "Measured"). Only with `worker`. @default {19}
   */
  nice?: number;
}

/**
 * Runs one {@linkcode archiveOnce} pass on a thread of its own and returns
 * its summary; its log lines go to `log` as they come. The thread ends with
 * the pass.
 *
 * @param options The pass (hooks and clock stay on this thread: not passed).
 * @param log Where the pass's lines go.
 * @returns What moved.
 * @throws {Error} With the pass's message when it failed.
 *
 * @example
 * ```ts
 * import { archiveInWorker } from "./service.ts";
 * // const s = await archiveInWorker({ database: "data/siem.db", dir: "data/archives", retainDbMs: 30 * 86_400_000 });
 * ```
 */
export function archiveInWorker(
  options: MoverRequest,
  log?: Logger,
): Promise<ArchiveSummary> {
  const w = new Worker(new URL("./_mover_worker.ts", import.meta.url), { type: "module" });
  return new Promise<ArchiveSummary>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<MoverMessage>) => {
      const m = e.data;
      if ("log" in m) log?.[m.log](m.message);
      else {
        w.terminate();
        if ("summary" in m) resolve(m.summary);
        else reject(new Error(m.error));
      }
    };
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      reject(new Error(`the archive thread failed: ${e.message}`));
    };
    w.postMessage(options);
  });
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
  // Each part fails on its own: a full disk that stops the JSONL compression must not
  // stop the pruning that frees space.
  const part = async (what: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (err) {
      ctx?.stats.add("archive_errors");
      ctx?.log.error(
        `archive pass: ${what} failed (the next pass retries): ${(err as Error).message}`,
      );
    }
  };
  const pass = async () => {
    const log = ctx?.log;
    await part("moving rows", async () => {
      if (options.retainDbMs !== undefined) {
        const o = {
          database: options.database,
          dir: options.dir,
          retainDbMs: options.retainDbMs,
          restRatio: options.restRatio ?? 1,
        };
        // Without an explicit ratio, rest only while the central is busy.
        const busyShare = options.restRatio === undefined ? options.busyShare ?? 0.7 : undefined;
        const started = performance.now();
        let s: ArchiveSummary;
        if (options.worker === false) {
          const signal = busyShare === undefined ? undefined : restSignal({ busyShare });
          s = await archiveOnce({
            ...o,
            ...(log ? { log } : {}),
            ...(signal
              ? { busy: signal.busy, onCommitThread: (t: string) => signal.ignore(t) }
              : {}),
          });
          if (s.rows && signal) {
            log?.info(
              `archive: the central's load over the pass: ${describeShares(signal.shares)}`,
            );
          }
        } else {
          s = await archiveInWorker({
            ...o,
            nice: options.nice ?? 19,
            ...(busyShare === undefined ? {} : { busyShare }),
          }, log);
        }
        const seconds = (performance.now() - started) / 1000;
        ctx?.stats.add("archived_rows", s.rows);
        ctx?.stats.add("archived_bytes", s.bytes);
        // Where the pass's time went; the DELETEs and COMMITs hold SQLite's write lock, which the
        // central's writer waits for (bench/_archive_ingest.ts reads this line).
        if (s.rows) {
          const r = s.rest;
          log?.info(
            `archive: pass of ${s.rows} rows in ${seconds.toFixed(2)} s, rested after ${
              r?.rested ?? 0
            } of ${r?.parts ?? 0} parts (${((r?.ms ?? 0) / 1000).toFixed(2)} s)`,
          );
          log?.info(
            `archive: pass phases (s): ${
              Object.entries(s.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`).join(", ")
            }`,
          );
        }
      }
    });
    // JSONL first: what it frees counts towards --max-disk before archive days go.
    let jsonlBytes = 0;
    await part("the JSONL lifecycle", async () => {
      if (options.jsonlDir) {
        const z = await jsonlLifecycle({
          dir: options.jsonlDir,
          ...(options.retainJsonlMs !== undefined ? { retainJsonlMs: options.retainJsonlMs } : {}),
          ...(log ? { log } : {}),
        });
        jsonlBytes = z.bytes;
        ctx?.stats.add("jsonl_compressed", z.compressed);
        ctx?.stats.add("jsonl_deleted", z.deleted);
        ctx?.stats.add("jsonl_bytes_freed", z.bytesFreed);
        ctx?.stats.add("jsonl_skipped_open", z.skippedOpen);
        ctx?.stats.add("jsonl_leftovers", z.leftovers);
        ctx?.stats.set("jsonl_bytes", z.bytes);
      }
    });
    await part("pruning the archive", async () => {
      if (options.retainArchiveMs !== undefined || options.maxDiskBytes !== undefined) {
        const p = await pruneArchive({
          database: options.database,
          dir: options.dir,
          ...(options.retainArchiveMs !== undefined
            ? { retainArchiveMs: options.retainArchiveMs }
            : {}),
          ...(options.maxDiskBytes !== undefined
            ? { maxDiskBytes: Math.max(0, options.maxDiskBytes - jsonlBytes) }
            : {}),
          ...(log ? { log } : {}),
        });
        ctx?.stats.set("archive_bytes", p.bytes);
        ctx?.stats.set("archive_near_limit", p.nearLimit ? 1 : 0);
        ctx?.stats.add("archive_days_deleted", p.daysDeleted);
      }
    });
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
