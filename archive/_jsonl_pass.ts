/**
 * The JSONL lifecycle's work on one file (archive/jsonl_lifecycle.ts runs
 * the pass): deletion past the retention, and the crash-safe compression
 * (`.gz.tmp`, fsync, verify, commit record, rename, remove) with its
 * recovery after a kill.
 *
 * @module
 */

import type { JsonlLifecycleOptions, JsonlLifecycleSummary, JsonlStep } from "./jsonl_lifecycle.ts";
import { countGzip, gzipJsonl, type JsonlCounts, writeSynced } from "./_jsonl_gzip.ts";
import { syncDir } from "../sinks/_jsonl_rotate.ts";

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
 * One lifecycle pass's work on single files: delete one past the
 * retention, gzip one (crash-safe), finish or undo one a kill interrupted.
 *
 * @example
 * ```ts ignore
 * const run = new JsonlPass(options, summary);
 * await run.compress("logs/all_events-2026-12-05.jsonl", 0);
 * ```
 */
export class JsonlPass {
  #o: JsonlLifecycleOptions;
  #s: JsonlLifecycleSummary;

  /**
   * @param options The pass's options (hooks, logger).
   * @param summary Its summary, counted into.
   */
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
    await syncDir(path);
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
      let expect: JsonlCounts;
      const out = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o640 });
      try {
        expect = await gzipJsonl(
          before ? gz : undefined,
          file,
          from,
          info.size,
          out,
          this.#o.hooks?.write,
        );
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
      const got = await countGzip(tmp);
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
      await writeSynced(journal, JSON.stringify(commit));
      await syncDir(journal);
      await this.#step("journaled", src);
      await Deno.rename(tmp, gz);
      await syncDir(gz);
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
