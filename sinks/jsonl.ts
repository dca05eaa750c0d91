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
import { memoize } from "../core/memo.ts";
import { pathTemplate, safeJoin } from "../core/safe_path.ts";
import type { ComponentStats } from "../core/stats.ts";
import { compileTemplate, type Template, type TemplateFn } from "../core/template.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { errorMessage, numberOption } from "../core/options.ts";
import { jsonLine, LineGroups } from "./_jsonl_line.ts";
import { JsonlMarks } from "./_jsonl_dedup.ts";
import { overflowPath, PathCap } from "./_path_cap.ts";
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

/** Options for {@linkcode jsonlSink}. */
export interface JsonlSinkOptions {
  /** The base directory; every file stays under it. Created when missing. */
  dir: string;
  /**
   * The file's path under `dir`. Literal text is taken as written; every
   * value (`${HOST}`) is made a safe file name first: no `/`, no `..`, no
   * NUL, no leading dot, at most 200 bytes, `_` when empty. A function
   * returns a relative path whose components are made safe the same way.
   * @default {"events.jsonl"}
   */
  path?: Template;
  /**
   * One line per event, newline included. {@linkcode jsonLine} writes the
   * whole event as JSON. @default {"${MSG}\n"}
   */
  line?: Template;
  /** Most files kept open; the least recently written is closed first. @default {64} */
  maxOpenFiles?: number;
  /**
   * When written data is fsynced: `"batch"` before each batch is
   * acknowledged; `"interval"` every `fsyncIntervalMs` (acknowledged after
   * the write, so a power loss may lose the last interval); `"never"`
   * leaves it to the OS. @default {"batch"}
   */
  fsync?: "batch" | "interval" | "never";
  /** How often `fsync: "interval"` syncs. @default {1000} */
  fsyncIntervalMs?: number;
  /**
   * Rotate a file before it would grow past this many bytes: `f.jsonl`
   * becomes `f.jsonl.1`, `.1` becomes `.2` …; no rotation when left out.
   */
  maxFileBytes?: number;
  /** Rotated files kept per file (`.1` … `.N`); older ones are deleted. @default {5} */
  maxRotatedFiles?: number;
  /**
   * At the first write of a new UTC day, rename each file written on an earlier
   * day to `<name>-YYYY-MM-DD.jsonl` (that day; `.1`, `.2` … if taken) and start a
   * new one, so `all_events.jsonl` always holds today's lines. Quiet files (a host
   * gone silent) are rotated at the day's first write of any file. Nothing is
   * copied or truncated: no line is lost or written twice. The JSONL lifecycle
   * (`archive/jsonl_lifecycle.ts`) gzips and deletes the dated files.
   * @default {false}
   */
  rotateDaily?: boolean;
  /** The clock deciding the day of `rotateDaily` and `maxPathsPerDay`. @default {Date.now} */
  now?: () => number;
  /** Permissions of new files. @default {0o640} */
  mode?: number;
  /** Most events per batch. @default {1000} */
  maxBatch?: number;
  /** Events queued before sources are held back. @default {DEFAULT_QUEUE_SIZE} (4000) */
  queueSize?: number;
  /** A name for stats. */
  name?: string;
  /**
   * Append each event id once, so replays (a VM restarted from its last checkpoint, a
   * batch resent after a crash) are not written twice: per origin of ids (the id
   * without its last number of 12 or more hex digits: file-tail offsets, journald
   * sequence numbers, heartbeat times), the highest number written is kept, saved in
   * the sink's state and, after a crash, recovered from the files' last lines. Ids of
   * one origin must arrive in increasing order (every replayable source emits them so).
   * Events without such an id are always written. Needs `line: jsonLine` (the
   * lines carry the id, which recovery reads back). Counter `duplicates`.
   * @default {true with `line: jsonLine`, else false}
   */
  dedup?: boolean;
  /** Most origins remembered for `dedup`; the least recently written is forgotten first. @default {100000} */
  maxOrigins?: number;
  /**
   * How much of a file `dedup` reads back when the saved state does not know the file
   * (state lost, or the file was made after the last save). @default {16777216} (16 MiB)
   */
  recoverBytes?: number;
  /**
   * Most distinct files a templated `path` makes per UTC day (`by_vm/${HOST}.jsonl`
   * with a host name any sender may choose); events that would make another go to
   * `overflowPath`, counted as `paths_capped`, with one warning a day. No limit for a
   * path without `${…}`. `Infinity` turns it off. @default {1000}
   */
  maxPathsPerDay?: number;
  /**
   * Where events beyond `maxPathsPerDay` go, under `dir`.
   * @default {"_other.jsonl" in the path's first templated directory, e.g. "by_vm/_other.jsonl"}
   */
  overflowPath?: string;
}

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
  if (typeof options?.dir !== "string" || options.dir === "") {
    throw new TypeError(`${where}: "dir" must be a directory path`);
  }
  const dir = options.dir;
  const pathOption = options.path ?? "events.jsonl";
  const renderPath = pathTemplate(pathOption);
  if (typeof pathOption === "string") {
    try {
      safeJoin(dir, renderPath({ message: "", fields: {}, receivedAt: 0 }));
    } catch (err) {
      throw new TypeError(
        `${where}: "path" "${pathOption}" must stay under "dir": ${errorMessage(err)}`,
      );
    }
  }
  // jsonLine is the usual line of several sinks at once (all, by_vm, daily …): an event
  // they share is rendered and encoded once (_sharedJsonBytes), so it has no template here.
  // Events are never changed once delivered to sinks.
  const renderLine: TemplateFn | undefined = options.line === jsonLine
    ? undefined
    : compileTemplate(options.line ?? "${MSG}\n");
  // Rendered paths repeat (one per VM, per day): each is checked by safeJoin once.
  const constantPath = typeof pathOption === "string" && !pathOption.includes("$")
    ? safeJoin(dir, renderPath({ message: "", fields: {}, receivedAt: 0 }))
    : undefined;
  const joined = memoize((relative: string) => safeJoin(dir, relative), 4096);
  const resolvePath = (e: LogEvent): string => constantPath ?? joined(renderPath(e));
  const maxOpen = numberOption(where, "maxOpenFiles", options.maxOpenFiles, 64, 1);
  const fsync = options.fsync ?? "batch";
  if (!["batch", "interval", "never"].includes(fsync)) {
    throw new TypeError(`${where}: "fsync" must be "batch", "interval" or "never", got "${fsync}"`);
  }
  const intervalMs = numberOption(where, "fsyncIntervalMs", options.fsyncIntervalMs, 1000, 1);
  const maxFileBytes = options.maxFileBytes === undefined
    ? Infinity
    : numberOption(where, "maxFileBytes", options.maxFileBytes, 0, 1);
  const maxRotated = numberOption(where, "maxRotatedFiles", options.maxRotatedFiles, 5, 1);
  const mode = options.mode ?? 0o640;
  const dedup = options.dedup ?? options.line === jsonLine;
  if (dedup && options.line !== jsonLine) {
    throw new TypeError(`${where}: "dedup" needs "line: jsonLine", whose lines carry the event id`);
  }
  const marks = dedup
    ? new JsonlMarks({
      maxOrigins: numberOption(where, "maxOrigins", options.maxOrigins, 100_000, 1),
      recoverBytes: numberOption(where, "recoverBytes", options.recoverBytes, 16 << 20, 0),
    })
    : undefined;
  // Only a templated path can make files without end.
  const templated = typeof pathOption === "function" || pathOption.includes("$");
  const maxPaths = options.maxPathsPerDay === Infinity || !templated
    ? Infinity
    : numberOption(where, "maxPathsPerDay", options.maxPathsPerDay, 1000, 1);
  const open = new Map<string, _Open>();
  const overflow = safeJoin(dir, options.overflowPath ?? overflowPath(pathOption));
  const cap = maxPaths === Infinity ? undefined : new PathCap(maxPaths, overflow);
  const clock = options.now ?? Date.now;
  const daily = options.rotateDaily ?? false;
  // Without rotateDaily, the day's first write still closes the files of past days.
  const days = new DailyRotation({
    open,
    list: daily
      ? liveFiles(dir, pathOption, templated ? [overflow, safeJoin(dir, _INVALID_PATH)] : [])
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
    while (open.size >= maxOpen) {
      const [oldest, entry] = open.entries().next().value as [string, _Open];
      open.delete(oldest);
      await _close(entry, fsync !== "never");
    }
    const { file, info, created: made } = await openLocked(path, mode);
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
    await shiftRotated(path, maxRotated);
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
    const lines = new LineGroups(renderLine);
    let invalid = 0;
    let duplicates = 0;
    const now = clock();
    const seen = marks?.begin();
    for (const e of batch) {
      let path: string;
      try {
        path = resolvePath(e);
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
        if (offset === 0 && entry.size > 0 && entry.size + data.length > maxFileBytes) {
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
        }, intervalMs);
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
