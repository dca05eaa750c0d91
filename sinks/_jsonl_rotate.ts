/**
 * The JSONL sink's files: opened under a shared lock (so the JSONL lifecycle
 * never compresses or deletes a file a sink has open), and rotated daily by
 * the writer itself: at the first write of a new UTC day, `all_events.jsonl`
 * becomes `all_events-2026-12-05.jsonl` (the day it was written) and a new
 * `all_events.jsonl` is started. No copy, no truncate: a rename, so no line
 * is lost or written twice.
 *
 * @module
 */

import { safeJoin } from "../core/safe_path.ts";
import type { Template } from "../core/template.ts";

const _DAY_MS = 86_400_000;

/** A name that already carries a day: `x-2026-12-05.jsonl`, `x-2026-12-05.1.jsonl`. */
const _DATED = /-\d{4}-\d{2}-\d{2}(\.\d+)?(\.[^./]+)?$/;

/**
 * The UTC day of a time, as days since the epoch.
 *
 * @param ms Milliseconds since the epoch.
 * @returns The day number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { utcDay } from "./_jsonl_rotate.ts";
 * assert.equal(utcDay(Date.UTC(1970, 0, 2, 23, 59)), 1);
 * ```
 */
export function utcDay(ms: number): number {
  return Math.floor(ms / _DAY_MS);
}

/**
 * The name a file takes when rotated for a day: the day before the last
 * extension, and `.<n>` when that name (or its `.gz`) is taken.
 *
 * @param path The live file's path.
 * @param day The UTC day (see {@linkcode utcDay}) its lines were written.
 * @param n The collision number, 0 for none.
 * @returns The dated path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { datedPath } from "./_jsonl_rotate.ts";
 * const day = Date.UTC(2026, 11, 5) / 86_400_000;
 * assert.equal(datedPath("/l/all_events.jsonl", day), "/l/all_events-2026-12-05.jsonl");
 * assert.equal(datedPath("/l/by_vm/vm1.jsonl", day, 1), "/l/by_vm/vm1-2026-12-05.1.jsonl");
 * ```
 */
export function datedPath(path: string, day: number, n = 0): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  const at = dot > slash + 1 ? dot : path.length;
  const date = new Date(day * _DAY_MS).toISOString().slice(0, 10);
  return `${path.slice(0, at)}-${date}${n ? `.${n}` : ""}${path.slice(at)}`;
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/**
 * Renames a live file to its dated name, never over another file (nor over
 * a compressed `.gz` of that name).
 *
 * @param path The live file.
 * @param day The UTC day its lines were written.
 * @returns The new path.
 *
 * @example
 * ```ts
 * import { rotateToDay, utcDay } from "./_jsonl_rotate.ts";
 * // await rotateToDay("/var/log/siem/all_events.jsonl", utcDay(Date.now()) - 1);
 * ```
 */
export async function rotateToDay(path: string, day: number): Promise<string> {
  for (let n = 0;; n++) {
    const to = datedPath(path, day, n);
    if (await _exists(to) || await _exists(`${to}.gz`)) continue;
    await Deno.rename(path, to);
    return to;
  }
}

/** An open file of the sink, as {@linkcode DailyRotation} sees it. */
export interface RotatingFile {
  /** The inode when opened. */
  ino: number | null;
  /** Bytes in the file. */
  size: number;
  /** The UTC day last written. */
  day: number;
}

/** What {@linkcode DailyRotation} works on: the sink's open files and its marks. */
export interface DailyRotationHost<F extends RotatingFile> {
  /** The sink's open files by path (entries are removed when rotated). */
  open: Map<string, F>;
  /** Lists the live files on disk the sink may have written. */
  list: () => Promise<string[]>;
  /** Closes an open file (fsynced). */
  close: (entry: F) => Promise<void>;
  /** The dedup marks, saved before any rename. */
  marks?: {
    flush(): Promise<void>;
    ready(path: string): boolean;
    recover(path: string): Promise<void>;
  };
  /** Called after each rename. */
  rotated: (from: string, to: string) => void;
  /**
   * Whether stale files are renamed to their dated names; when false, stale open
   * files are only closed (so `daily/2026-12-05.jsonl` is released for the JSONL
   * lifecycle once the day is over). @default {true}
   */
  rename?: boolean;
}

/**
 * The JSONL sink's daily rotation: renames files last written on an earlier
 * UTC day to their dated names, at the day's first write (or, with
 * `rename: false`, closes them, so no sink keeps a past day's file open).
 *
 * @example
 * ```ts
 * import { DailyRotation, liveFiles } from "./_jsonl_rotate.ts";
 * const rotation = new DailyRotation({
 *   open: new Map(),
 *   list: liveFiles("/var/log/siem", "all_events.jsonl", []),
 *   close: () => Promise.resolve(),
 *   rotated: (from, to) => console.log(from, "->", to),
 * });
 * ```
 */
export class DailyRotation<F extends RotatingFile> {
  #host: DailyRotationHost<F>;
  /** The day the live files were last checked (-1: not yet in this process). */
  #checked = -1;

  /** @param host The sink's files, marks and callbacks. */
  constructor(host: DailyRotationHost<F>) {
    this.#host = host;
  }

  /**
   * At the day's first write (and the process's first): rotates every live file,
   * open or not, last written on an earlier day, so quiet files (a host gone
   * silent) are dated too. Does nothing on later writes of the same day.
   */
  async turn(today: number, flushed: { done: boolean }): Promise<void> {
    if (today === this.#checked) return;
    this.#checked = today;
    const { open, marks } = this.#host;
    const stale = new Map<string, number>();
    for (const [path, entry] of open) {
      if (entry.size > 0 && entry.day < today) stale.set(path, entry.day);
    }
    if (this.#host.rename === false) {
      for (const path of stale.keys()) {
        const entry = open.get(path) as F;
        open.delete(path);
        await this.#host.close(entry);
      }
      return;
    }
    for (const path of await this.#host.list()) {
      if (open.has(path)) continue;
      const info = await Deno.stat(path).catch(() => undefined);
      if (!info?.isFile || info.size === 0 || !info.mtime) continue;
      const day = utcDay(info.mtime.getTime());
      if (day >= today) continue;
      // What a crash left in it counts as written before it is renamed away.
      if (marks && !marks.ready(path)) await marks.recover(path);
      stale.set(path, day);
    }
    for (const [path, day] of stale) await this.rotate(path, day, flushed);
  }

  /**
   * Renames a file written on an earlier day to its dated name (closing it
   * first when open). Every mark is saved before the first rename of a batch,
   * so a replay after a crash never needs the renamed file read back.
   */
  async rotate(path: string, day: number, flushed: { done: boolean }): Promise<void> {
    const { open, marks } = this.#host;
    if (marks && !flushed.done) {
      await marks.flush();
      flushed.done = true;
    }
    const entry = open.get(path);
    if (entry) {
      open.delete(path);
      await this.#host.close(entry);
      // Another sink sharing the file rotated it already: leave its new file alone.
      const now = await Deno.stat(path).catch(() => undefined);
      if (now?.ino !== entry.ino) return;
    }
    this.#host.rotated(path, await rotateToDay(path, day));
  }
}

/**
 * The size rotation's renames: `f.jsonl.N` is deleted, `.N-1` becomes `.N`
 * … and `f.jsonl` becomes `f.jsonl.1`.
 *
 * @param path The live file.
 * @param keep Rotated files kept.
 *
 * @example
 * ```ts
 * import { shiftRotated } from "./_jsonl_rotate.ts";
 * // await shiftRotated("/var/log/siem/all_events.jsonl", 5);
 * ```
 */
export async function shiftRotated(path: string, keep: number): Promise<void> {
  await Deno.remove(`${path}.${keep}`).catch(() => {});
  for (let n = keep - 1; n >= 1; n--) {
    await Deno.rename(`${path}.${n}`, `${path}.${n + 1}`).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
  await Deno.rename(path, `${path}.1`);
}

/**
 * Opens a file for appending under a shared lock. The JSONL lifecycle takes
 * the exclusive lock before it compresses or deletes a file, so it skips a
 * file a sink has open; a sink that opened a file while the lifecycle held it
 * finds it unlinked once the lock is granted and opens a new one.
 *
 * @param path The file.
 * @param mode Permissions of a new file.
 * @returns The open, locked file and whether it was created.
 *
 * @example
 * ```ts
 * import { openLocked } from "./_jsonl_rotate.ts";
 * const dir = await Deno.makeTempDir();
 * const { file } = await openLocked(`${dir}/a.jsonl`, 0o640);
 * file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openLocked(
  path: string,
  mode: number,
): Promise<{ file: Deno.FsFile; info: Deno.FileInfo; created: boolean }> {
  let created = false;
  for (let attempt = 0;; attempt++) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { append: true, create: true, mode });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      file = await Deno.open(path, { append: true, create: true, mode });
      created = true;
    }
    try {
      await file.lock(false);
    } catch {
      // A file system without flock: the lifecycle's own checks (past days only) still hold.
    }
    const info = await file.stat();
    if (info.nlink !== 0 || attempt >= 3) return { file, info, created };
    file.close();
  }
}

/**
 * Lists the live files a sink with this path template may have written, to
 * rotate the quiet ones too (a VM gone silent): the constant path, or the
 * files of the template's directory whose names fit its last component
 * (`by_vm/${HOST}.jsonl` → `by_vm/*.jsonl`), dated names left out, plus
 * `extra` paths. A path function lists `extra` only.
 *
 * @param dir The sink's base directory.
 * @param path The sink's path template.
 * @param extra Other paths the sink writes (its overflow file).
 * @returns A function listing the existing files, as full paths.
 *
 * @example
 * ```ts
 * import { liveFiles } from "./_jsonl_rotate.ts";
 * const list = liveFiles("/var/log/siem", "by_vm/${HOST}.jsonl", ["/var/log/siem/by_vm/_other.jsonl"]);
 * ```
 */
export function liveFiles(
  dir: string,
  path: Template,
  extra: readonly string[],
): () => Promise<string[]> {
  const known = async (paths: readonly string[]) => {
    const out: string[] = [];
    for (const p of paths) if (await _exists(p)) out.push(p);
    return out;
  };
  if (typeof path !== "string") return () => known(extra);
  if (!path.includes("$")) {
    const only = safeJoin(dir, path);
    return () => known([only, ...extra]);
  }
  const slash = path.lastIndexOf("/");
  const folder = slash < 0 ? "" : path.slice(0, slash);
  if (folder.includes("$")) return () => known(extra);
  const name = path.slice(slash + 1);
  let source = "";
  let last = 0;
  for (const m of name.matchAll(/\$\$|\$\{[^}]*\}?|\$[A-Z_][A-Z0-9_]*/g)) {
    source += _escape(name.slice(last, m.index));
    source += m[0] === "$$" ? "\\$" : "[^/]+";
    last = m.index + m[0].length;
  }
  const fits = new RegExp(`^${source}${_escape(name.slice(last))}$`);
  const base = folder ? safeJoin(dir, folder) : dir;
  return async () => {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(base)) {
        if (e.isFile && fits.test(e.name) && !_DATED.test(e.name)) out.push(`${base}/${e.name}`);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    for (const p of await known(extra)) if (!out.includes(p)) out.push(p);
    return out;
  };
}

function _escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Closes a file, fsynced first when it has unsynced writes.
 *
 * @param entry The file and whether it has unsynced writes.
 * @param sync Whether to fsync.
 *
 * @example
 * ```ts
 * import { closeFile } from "./_jsonl_rotate.ts";
 * const dir = await Deno.makeTempDir();
 * await closeFile({ file: await Deno.open(`${dir}/a`, { write: true, create: true }), dirty: true }, true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function closeFile(
  entry: { file: Deno.FsFile; dirty: boolean },
  sync: boolean,
): Promise<void> {
  try {
    if (sync && entry.dirty) await entry.file.sync();
  } finally {
    entry.file.close();
  }
}

/**
 * Makes a new file's directory entry durable too.
 *
 * @param path The file.
 *
 * @example
 * ```ts
 * import { syncDir } from "./_jsonl_rotate.ts";
 * await syncDir("/tmp/any-file");
 * ```
 */
export async function syncDir(path: string): Promise<void> {
  try {
    const parent = await Deno.open(path.slice(0, path.lastIndexOf("/")) || "/", { read: true });
    try {
      await parent.sync();
    } finally {
      parent.close();
    }
  } catch {
    // Not every platform can fsync a directory; the file's own fsync still holds.
  }
}
