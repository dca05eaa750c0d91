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
import { JsonlPass } from "./_jsonl_pass.ts";

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
    const run = new JsonlPass(options, summary);
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
