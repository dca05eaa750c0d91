/**
 * The JSONL lifecycle: the central's JSONL files of past days
 * (`all_events-2026-12-05.jsonl`, `by_vm/vm1-2026-12-05.jsonl`,
 * `daily/2026-12-05.jsonl` …) are gzipped with the built-in
 * `CompressionStream` (`zcat` and `zgrep` read them), and files of either
 * kind older than `--retain-jsonl` are deleted. Live files (`all_events.jsonl`,
 * no date in the name) are the writers' to rotate and are never touched.
 *
 * Crash-safe: each file is compressed under an exclusive lock (a sink holds a
 * shared one on every file it has open, so an open file is skipped) into
 * `<file>.gz.tmp`, fsynced, decompressed again and counted (bytes and lines),
 * recorded in `<file>.gz.commit`, renamed to `<file>.gz`; only then is the
 * original deleted. A kill at any step leaves every line in exactly one
 * readable place once the next run has cleaned up: a temp file alone is
 * deleted, and the commit record tells whether the rename happened.
 *
 * @example
 * ```ts
 * import { jsonlLifecycle } from "./jsonl_lifecycle.ts";
 * // const s = await jsonlLifecycle({ dir: "data/logs", retainJsonlMs: 90 * 86_400_000 });
 * ```
 *
 * @module
 */

import type { Logger } from "../core/log.ts";

/** The steps of one compression, in order, for {@linkcode JsonlLifecycleHooks.step}. */
export type JsonlStep = "locked" | "written" | "verified" | "journaled" | "renamed" | "removed";

/** Test hooks of {@linkcode jsonlLifecycle}: a fault or a kill between steps, a failing disk. */
export interface JsonlLifecycleHooks {
  /** Called after each step of a compression. @default {none} */
  step?: (step: JsonlStep, path: string) => void | Promise<void>;
  /** Writes compressed bytes to the temporary file. @default {file.write} */
  write?: (file: Deno.FsFile, bytes: Uint8Array) => Promise<number>;
}

/** Options for {@linkcode jsonlLifecycle}. */
export interface JsonlLifecycleOptions {
  /** The JSONL directory (`data/logs`); its subdirectories are walked too. */
  dir: string;
  /** Files (compressed or not) of days older than this (ms) are deleted. @default {none: kept forever} */
  retainJsonlMs?: number;
  /** Whether past days are gzipped. @default {true} */
  compress?: boolean;
  /** The clock. @default {Date.now} */
  now?: () => number;
  /** Logger. @default {none} */
  log?: Logger;
  /** Test hooks. @default {none} */
  hooks?: JsonlLifecycleHooks;
}

/** What a pass did and found. */
export interface JsonlLifecycleSummary {
  /** Files gzipped. */
  compressed: number;
  /** Files deleted past the retention. */
  deleted: number;
  /** Bytes freed by compression and deletion. */
  bytesFreed: number;
  /** Bytes of every JSONL file under `dir` after the pass (live, dated and compressed). */
  bytes: number;
  /** Past days' files skipped because a sink has them open (done on a later pass). */
  skippedOpen: number;
  /** Temporary files and commit records of an interrupted run cleaned up or completed. */
  leftovers: number;
  /** Another pass held the directory's lock: this one did nothing. */
  busy: boolean;
}

/** `x-2026-12-05.jsonl`, `x-2026-12-05.1.jsonl`, `2026-12-05.jsonl`, and their `.gz`. */
const _DATED = /^(?:.*-)?(\d{4}-\d{2}-\d{2})(?:\.\d+)?\.jsonl(\.gz)?$/;
const _LEFTOVER = /\.jsonl\.gz\.(tmp|commit)$/;
const _LOCK = ".jsonl_lifecycle.lock";
const _CHUNK = 1 << 20;

interface _Commit {
  /** The original's inode and the bytes of it the compressed file holds once renamed. */
  ino: number | null;
  size: number;
  /** The bytes of it the `.gz` held before (a run that resumed an interrupted one). */
  from: number;
  /** The temporary file's inode and size: the `.gz` has them once renamed. */
  gzIno: number | null;
  gzSize: number;
}

/**
 * Runs one pass over a JSONL directory: finishes or undoes what an
 * interrupted pass left, deletes files past the retention, then gzips the
 * files of past days that no sink has open. One pass at a time per
 * directory (a lock file); a second one returns `busy`.
 *
 * @param options Directory, retention, clock.
 * @returns What was done.
 * @throws {Error} When a compression fails (a full disk): its temporary file is
 *   removed first and the original is untouched.
 *
 * @example Gzip past days, delete after 90 days
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonlLifecycle } from "./jsonl_lifecycle.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/all_events-2020-01-01.jsonl`, '{"n":1}\n');
 * const s = await jsonlLifecycle({ dir, retainJsonlMs: 90 * 86_400_000 });
 * assert.equal(s.deleted, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function jsonlLifecycle(
  options: JsonlLifecycleOptions,
): Promise<JsonlLifecycleSummary> {
  const summary: JsonlLifecycleSummary = {
    compressed: 0,
    deleted: 0,
    bytesFreed: 0,
    bytes: 0,
    skippedOpen: 0,
    leftovers: 0,
    busy: false,
  };
  let lock: Deno.FsFile;
  try {
    lock = await Deno.open(`${options.dir}/${_LOCK}`, { write: true, create: true, mode: 0o640 });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return summary;
    throw err;
  }
  try {
    if (!(await lock.tryLock(true))) {
      summary.busy = true;
      options.log?.info(`logs: another JSONL lifecycle pass is running on "${options.dir}"`);
      return summary;
    }
    const run = new _Pass(options, summary);
    for (const path of await _walk(options.dir)) {
      if (path.endsWith(".jsonl.gz.commit")) await run.recover(path);
    }
    for (const path of await _walk(options.dir)) {
      if (!path.endsWith(".jsonl.gz.tmp")) continue;
      // A compression killed before its commit record: the original is intact.
      await Deno.remove(path).catch(() => {});
      summary.leftovers++;
    }
    const now = (options.now ?? Date.now)();
    const today = new Date(now).toISOString().slice(0, 10);
    const oldest = options.retainJsonlMs !== undefined
      ? new Date(now - options.retainJsonlMs).toISOString().slice(0, 10)
      : undefined;
    // A file that fails (a damaged .gz of its day) does not hold up the others.
    const failed: Error[] = [];
    for (const path of await _walk(options.dir)) {
      const m = _DATED.exec(path.slice(path.lastIndexOf("/") + 1));
      if (!m) continue;
      const day = m[1] as string;
      if (oldest !== undefined && day < oldest) await run.delete(path, m[2] !== undefined);
      else if (!m[2] && day < today && options.compress !== false) {
        await run.compress(path, 0).catch((err) => failed.push(err));
      }
    }
    if (failed.length) {
      const first = failed[0] as Error;
      throw new Error(
        failed.length === 1 ? first.message : `${first.message} (and ${failed.length - 1} more)`,
        { cause: first },
      );
    }
    for (const path of await _walk(options.dir)) {
      if (path.endsWith(".jsonl") || path.endsWith(".jsonl.gz")) {
        summary.bytes += (await Deno.stat(path).catch(() => ({ size: 0 }))).size;
      }
    }
    return summary;
  } finally {
    lock.close();
  }
}

/** One pass's work on single files. */
class _Pass {
  #o: JsonlLifecycleOptions;
  #s: JsonlLifecycleSummary;

  constructor(options: JsonlLifecycleOptions, summary: JsonlLifecycleSummary) {
    this.#o = options;
    this.#s = summary;
  }

  async #step(step: JsonlStep, path: string): Promise<void> {
    await this.#o.hooks?.step?.(step, path);
  }

  /** Deletes a file past the retention (an uncompressed one only if no sink has it open). */
  async delete(path: string, compressed: boolean): Promise<void> {
    let file: Deno.FsFile | undefined;
    try {
      if (!compressed) {
        file = await Deno.open(path, { read: true });
        if (!(await file.tryLock(true))) {
          this.#s.skippedOpen++;
          return;
        }
      }
      const size = (await Deno.stat(path)).size;
      await Deno.remove(path);
      this.#s.deleted++;
      this.#s.bytesFreed += size;
      this.#o.log?.info(`logs: deleted "${path}" (older than --retain-jsonl)`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    } finally {
      file?.close();
    }
  }

  /** Finishes or undoes a compression a kill interrupted, from its commit record. */
  async recover(journal: string): Promise<void> {
    const gz = journal.slice(0, -".commit".length);
    const src = gz.slice(0, -".gz".length);
    this.#s.leftovers++;
    await Deno.remove(`${gz}.tmp`).catch(() => {});
    let commit: _Commit | undefined;
    try {
      commit = JSON.parse(await Deno.readTextFile(journal)) as _Commit;
    } catch {
      // Torn while being written: the rename, which comes after it, never happened.
    }
    const now = await Deno.stat(gz).catch(() => undefined);
    const renamed = commit !== undefined && now !== undefined &&
      (commit.gzIno !== null && now.ino !== null
        ? now.ino === commit.gzIno
        : now.size === commit.gzSize);
    // Bytes of the original already in the .gz: all it had once renamed, else what a run
    // before this one had moved (a record written while finishing an interrupted run).
    const covered = commit ? (renamed ? commit.size : commit.from) : 0;
    if (commit && covered > 0) {
      const left = await Deno.stat(src).catch(() => undefined);
      if (left && (commit.ino === null || left.ino === commit.ino)) {
        // Anything a sink appended since is not in the .gz yet.
        if (left.size <= covered) await this.#remove(src);
        else if (!(await this.compress(src, covered))) return; // open: the record waits
      }
    }
    await Deno.remove(journal).catch(() => {});
  }

  async #remove(path: string): Promise<void> {
    await Deno.remove(path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    await _syncDir(path);
  }

  /**
   * Gzips a file from byte `from` on into `<file>.gz` (after what the `.gz`
   * already holds), then deletes it. Returns false when a sink has it open.
   */
  async compress(src: string, from: number): Promise<boolean> {
    const gz = `${src}.gz`;
    const tmp = `${gz}.tmp`;
    const journal = `${gz}.commit`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(src, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return true;
      throw err;
    }
    try {
      if (!(await file.tryLock(true))) {
        this.#s.skippedOpen++;
        return false;
      }
      const info = await file.stat();
      if (info.nlink === 0) return true;
      await this.#step("locked", src);
      const before = await Deno.stat(gz).catch(() => undefined);
      let expect: _Counts;
      const out = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o640 });
      try {
        expect = await _gzip(before ? gz : undefined, file, from, info.size, out, this.#o.hooks);
        await out.sync();
      } catch (err) {
        out.close();
        await Deno.remove(tmp).catch(() => {});
        throw new Error(`logs: compressing "${src}" failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const written = await out.stat();
      out.close();
      await this.#step("written", src);
      const got = await _count(tmp);
      if (got.bytes !== expect.bytes || got.lines !== expect.lines) {
        await Deno.remove(tmp).catch(() => {});
        throw new Error(
          `logs: "${tmp}" holds ${got.bytes} bytes in ${got.lines} lines, expected ${expect.bytes} in ${expect.lines}; "${src}" is left as it is`,
        );
      }
      await this.#step("verified", src);
      const commit: _Commit = {
        ino: info.ino,
        size: info.size,
        from,
        gzIno: written.ino,
        gzSize: written.size,
      };
      await _writeSynced(journal, JSON.stringify(commit));
      await _syncDir(journal);
      await this.#step("journaled", src);
      await Deno.rename(tmp, gz);
      await _syncDir(gz);
      await this.#step("renamed", src);
      await this.#remove(src);
      await this.#step("removed", src);
      await Deno.remove(journal);
      this.#s.compressed++;
      this.#s.bytesFreed += Math.max(0, info.size - from + (before?.size ?? 0) - written.size);
      this.#o.log?.info(`logs: compressed "${src}" (${info.size - from} → ${written.size} bytes)`);
      return true;
    } finally {
      file.close();
    }
  }
}

interface _Counts {
  bytes: number;
  lines: number;
}

function _countInto(counts: _Counts, bytes: Uint8Array): void {
  counts.bytes += bytes.length;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) counts.lines++;
}

/** Decompresses a gzip file and counts its bytes and lines. */
async function _count(path: string): Promise<_Counts> {
  const counts: _Counts = { bytes: 0, lines: 0 };
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable.pipeThrough(new DecompressionStream("gzip"))) {
    _countInto(counts, chunk);
  }
  return counts;
}

/**
 * Writes one gzip member holding the old `.gz`'s content (a day's late
 * lines join it; Deno's DecompressionStream reads a single member only) and
 * `file` from `from` to `to`. Returns what the member should decompress to.
 */
async function _gzip(
  old: string | undefined,
  file: Deno.FsFile,
  from: number,
  to: number,
  out: Deno.FsFile,
  hooks: JsonlLifecycleHooks | undefined,
): Promise<_Counts> {
  const counts: _Counts = { bytes: 0, lines: 0 };
  const prior = old ? await Deno.open(old, { read: true }) : undefined;
  const earlier = prior?.readable.pipeThrough(new DecompressionStream("gzip")).getReader();
  await file.seek(from, Deno.SeekMode.Start);
  let left = to - from;
  const input = new ReadableStream<BufferSource>({
    async pull(controller) {
      if (earlier) {
        const r = await earlier.read();
        if (!r.done) {
          _countInto(counts, r.value);
          controller.enqueue(r.value);
          return;
        }
      }
      if (left <= 0) return controller.close();
      const buf = new Uint8Array(Math.min(_CHUNK, left));
      const n = await file.read(buf);
      if (n === null) return controller.close();
      left -= n;
      const bytes = buf.subarray(0, n);
      _countInto(counts, bytes);
      controller.enqueue(bytes);
    },
    async cancel() {
      await earlier?.cancel();
    },
  });
  const write = hooks?.write ?? ((f: Deno.FsFile, b: Uint8Array) => f.write(b));
  try {
    for await (const chunk of input.pipeThrough(new CompressionStream("gzip"))) {
      let n = 0;
      while (n < chunk.length) n += await write(out, chunk.subarray(n));
    }
  } finally {
    try {
      prior?.close();
    } catch {
      // Closed by its stream already.
    }
  }
  return counts;
}

async function _writeSynced(path: string, text: string): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o640 });
  try {
    const bytes = new TextEncoder().encode(text);
    let n = 0;
    while (n < bytes.length) n += await file.write(bytes.subarray(n));
    await file.sync();
  } finally {
    file.close();
  }
}

async function _syncDir(path: string): Promise<void> {
  try {
    const dir = await Deno.open(path.slice(0, path.lastIndexOf("/")) || "/", { read: true });
    try {
      await dir.sync();
    } finally {
      dir.close();
    }
  } catch {
    // Not every platform can fsync a directory.
  }
}

/** Every file under `dir` (dot entries and the lock left out), four levels deep at most. */
async function _walk(dir: string, depth = 0): Promise<string[]> {
  const out: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory && !e.name.startsWith(".") && depth < 4) {
      out.push(...await _walk(path, depth + 1));
    } else if (
      e.isFile && (_DATED.test(e.name) || _LEFTOVER.test(e.name) || !e.name.startsWith("."))
    ) {
      out.push(path);
    }
  }
  return out;
}
