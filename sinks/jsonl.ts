/**
 * Appends events as lines to files whose paths are templates under a base
 * directory: `by_vm/${HOST}.jsonl`, `daily/${YEAR}-${MONTH}-${DAY}.jsonl`;
 * with `rotateDaily`, every file is renamed to `<name>-YYYY-MM-DD.jsonl` at
 * the first write of a new UTC day.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Logger } from "../core/log.ts";
import { safeJoin } from "../core/safe_path.ts";
import type { ComponentStats } from "../core/stats.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { errorMessage } from "../core/options.ts";
import { jsonLine, LineGroups } from "./_jsonl_line.ts";
import { PathCap } from "./_path_cap.ts";
import { type JsonlSinkOptions, resolveJsonlOptions } from "./_jsonl_options.ts";
import {
  closeFile as _close,
  DailyRotation,
  liveFiles,
  openLocked,
  shiftRotated,
  syncDir as _syncDir,
  utcDay,
} from "./_jsonl_rotate.ts";

export { jsonLine };
export type { JsonlSinkOptions };

interface _Open {
  file: Deno.FsFile;
  ino: number | null;
  size: number;
  dirty: boolean;
  /** The UTC day last written (from the file's mtime when opened). */
  day: number;
}

const _INVALID_PATH = "_invalid_path.jsonl";

/**
 * Appends each batch with one write per file, after creating missing
 * directories, and resolves once the data is written (and fsynced with
 * `fsync: "batch"`). A failed write (a full disk, a permission) rejects, so
 * the engine retries the batch; a retry of the same batch skips what the
 * failed attempt already wrote, so lines are neither lost nor doubled.
 *
 * Every file is held under a shared lock while open, so the JSONL lifecycle
 * never compresses or deletes a file the sink may still append to.
 *
 * Counters: `files_opened`, `rotations`, `bytes`, gauge `open_files`; `invalid_path` for
 * events whose path function returned nothing usable (they go to
 * `_invalid_path.jsonl`).
 *
 * @param options Base directory, path and line templates, fsync, rotation.
 * @returns The sink.
 * @throws {TypeError} When `dir` is missing or the path's literal text leaves `dir`.
 * @throws {RangeError} When a number option is out of range.
 *
 * @example One file per VM and one per day
 * ```ts
 * import { jsonlSink } from "./jsonl.ts";
 * const byVm = jsonlSink({ dir: "/var/log/siem", path: "by_vm/${HOST}.jsonl" });
 * const daily = jsonlSink({ dir: "/var/log/siem", path: "daily/${YEAR}-${MONTH}-${DAY}.jsonl" });
 * ```
 *
 * @example One file renamed each day: all_events.jsonl, all_events-2026-12-05.jsonl …
 * ```ts
 * import { jsonLine, jsonlSink } from "./jsonl.ts";
 * const all = jsonlSink({ dir: "/var/log/siem", path: "all_events.jsonl", line: jsonLine, rotateDaily: true });
 * ```
 */
export function jsonlSink(options: JsonlSinkOptions): Sink {
  const where = "jsonlSink";
  const o = resolveJsonlOptions(options, where);
  const { dir, fsync, marks, clock, daily } = o;
  const open = new Map<string, _Open>();
  const cap = o.maxPaths === Infinity ? undefined : new PathCap(o.maxPaths, o.overflow);
  // Without rotateDaily, the day's first write still closes the files of past days.
  const days = new DailyRotation({
    open,
    list: daily
      ? liveFiles(dir, o.pathOption, o.templated ? [o.overflow, safeJoin(dir, _INVALID_PATH)] : [])
      : () => Promise.resolve([]),
    close: (entry) => _close(entry, fsync !== "never"),
    ...(marks ? { marks } : {}),
    rotated: (from, to) => {
      stats?.add("rotations");
      log?.info(`rotated "${from}" to "${to}"`);
    },
    rename: daily,
  });
  const warn = (message: string) => log?.warn(message);
  let savedAt = 0;

  let stats: ComponentStats | undefined;
  let log: Logger | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let syncing: Promise<void> | undefined;
  // The interval fsync never runs during a write, so it never meets a file the LRU is closing.
  let writing = false;
  // Progress of a batch whose write failed: a retry of the same batch resumes here.
  let resume: { batch: readonly LogEvent[]; written: Map<string, number> } | undefined;

  async function handle(path: string): Promise<_Open> {
    const found = open.get(path);
    if (found) {
      open.delete(path);
      open.set(path, found);
      return found;
    }
    while (open.size >= o.maxOpen) {
      const [oldest, entry] = open.entries().next().value as [string, _Open];
      open.delete(oldest);
      await _close(entry, fsync !== "never");
    }
    const { file, info, created: made } = await openLocked(path, o.mode);
    let created = made;
    const day = info.size > 0 && info.mtime ? utcDay(info.mtime.getTime()) : utcDay(clock());
    const entry: _Open = { file, ino: info.ino, size: info.size, dirty: false, day };
    if (entry.size === 0) created = true;
    open.set(path, entry);
    stats?.add("files_opened");
    if (created && fsync === "batch") await _syncDir(path);
    return entry;
  }

  async function rotate(path: string, entry: _Open): Promise<_Open> {
    open.delete(path);
    await _close(entry, fsync !== "never");
    await shiftRotated(path, o.maxRotated);
    stats?.add("rotations");
    log?.info(`rotated "${path}"`);
    return await handle(path);
  }

  async function syncDirty(): Promise<void> {
    for (const entry of open.values()) {
      if (!entry.dirty) continue;
      entry.dirty = false;
      try {
        await entry.file.sync();
      } catch (err) {
        entry.dirty = true;
        throw err;
      }
    }
  }

  async function writeBatch(batch: readonly LogEvent[]): Promise<void> {
    const lines = new LineGroups(o.renderLine);
    let invalid = 0;
    let duplicates = 0;
    const now = clock();
    const seen = marks?.begin();
    for (const e of batch) {
      let path: string;
      try {
        path = o.resolvePath(e);
      } catch {
        path = safeJoin(dir, _INVALID_PATH);
        invalid++;
      }
      if (cap) path = cap.admit(path, now, warn);
      if (marks && seen) {
        // A file first written in this process: what a crash left in it counts as written.
        if (!marks.ready(path)) await marks.recover(path);
        if (marks.seen(e.id, seen)) {
          duplicates++;
          continue;
        }
      }
      lines.add(path, e);
    }
    const groups = lines.bytes();
    const done = resume?.batch === batch ? resume.written : new Map<string, number>();
    resume = { batch, written: done };
    const today = utcDay(now);
    const flushed = { done: false };
    await days.turn(today, flushed);
    let bytes = 0;
    for (const [path, data] of groups) {
      let offset = done.get(path) ?? 0;
      try {
        let entry = await handle(path);
        if (daily && entry.size > 0 && entry.day < today) {
          await days.rotate(path, entry.day, flushed);
          entry = await handle(path);
        }
        entry.day = today;
        if (offset === 0 && entry.size > 0 && entry.size + data.length > o.maxFileBytes) {
          entry = await rotate(path, entry);
        }
        while (offset < data.length) {
          const n = await entry.file.write(data.subarray(offset));
          offset += n;
          entry.size += n;
          entry.dirty = true;
          done.set(path, offset);
        }
        if (fsync === "batch" && entry.dirty) {
          await entry.file.sync();
          entry.dirty = false;
        }
      } catch (err) {
        throw new Error(`${where}: writing "${path}" failed: ${errorMessage(err)}`, { cause: err });
      }
      bytes += data.length;
    }
    resume = undefined;
    if (marks && seen) {
      marks.commit(seen);
      for (const path of groups.keys()) {
        const entry = open.get(path);
        if (entry) marks.file(path, entry.ino, entry.size);
      }
      // Saved at most once a second; what a crash loses of it is read back from the files.
      if (now - savedAt >= 1000) {
        savedAt = now;
        marks.save();
      }
    }
    if (stats) {
      if (duplicates) stats.add("duplicates", duplicates);
      const capped = cap?.take();
      if (capped) stats.add("paths_capped", capped);
      stats.add("bytes", bytes);
      stats.set("open_files", open.size);
      if (invalid) {
        stats.add("invalid_path", invalid);
        log?.warn(`${invalid} event(s) had no usable path and went to "${_INVALID_PATH}"`);
      }
    }
  }

  return {
    kind: "jsonl",
    ...(options.name ? { name: options.name } : {}),
    ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
    ...(options.queueSize ? { queueSize: options.queueSize } : {}),
    async open(ctx: SinkContext): Promise<void> {
      stats = ctx.stats;
      log = ctx.log;
      await Deno.mkdir(dir, { recursive: true });
      await marks?.open(ctx.state, ctx.stats);
      if (fsync === "interval") {
        timer = setInterval(() => {
          if (syncing || writing) return;
          syncing = syncDirty().catch((err) => {
            stats?.add("fsync_errors");
            log?.error("fsync failed", { error: errorMessage(err) });
          }).finally(() => (syncing = undefined));
        }, o.intervalMs);
      }
    },
    async write(batch: readonly LogEvent[]): Promise<void> {
      writing = true;
      try {
        await syncing;
        await writeBatch(batch);
      } finally {
        writing = false;
      }
    },
    async close(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await syncing;
      let first: unknown;
      for (const entry of open.values()) {
        try {
          await _close(entry, fsync !== "never");
        } catch (err) {
          first ??= err;
        }
      }
      open.clear();
      await marks?.flush();
      if (first) throw first;
    },
  };
}
