/**
 * SQLite's companion files (`-wal`, `-shm`) opened beside SQLite, once per
 * file and thread, and never closed while SQLite may still use them.
 *
 * Why: POSIX advisory locks belong to the process and the file, not to the
 * descriptor, and on Linux closing *any* descriptor of a file releases every
 * lock the process holds on it. SQLite keeps its WAL-mode locks (the
 * dead-man switch and the reader slots) on the `-shm` file. A component that
 * opens `siem.db-shm` to read it and then closes it silently drops the
 * writer's locks: another process (`sqlite3`, `sluice query`) then believes
 * it is alone, rebuilds the WAL index under the live writer, and the writer
 * sees "locking protocol" errors or dies of SIGBUS on its mapping of the
 * truncated file. SQLite itself avoids this by deferring its own closes;
 * code outside it cannot take part in that, so it keeps its descriptor.
 *
 * A kept descriptor is closed only once its file is dead: unlinked or
 * replaced by another file at the same path. SQLite deletes `-wal` and
 * `-shm` when the last connection of every process closes, so nothing (in
 * this process or another) can hold a lock on that inode any more and
 * closing it is safe. {@linkcode releaseDeadCompanions} does that; the SQLite
 * sink calls it after its connection closes.
 *
 * @module
 */

/** Kept descriptors by the companion file's real path. */
const _kept = new Map<string, Deno.FsFile>();

/**
 * A read-only descriptor of a SQLite companion file, opened on first use
 * and then kept (see the module doc): never call `close()` on it.
 *
 * @param database The database file's path.
 * @param suffix Which companion: `"-wal"` or `"-shm"`.
 * @returns The descriptor, or `undefined` when the file does not exist or cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { companionFile } from "./_sqlite_companion.ts";
 * assert.ok(companionFile("/nonexistent/x.db", "-shm") === undefined);
 * ```
 */
export function companionFile(database: string, suffix: "-wal" | "-shm"): Deno.FsFile | undefined {
  let key: string;
  try {
    key = Deno.realPathSync(`${database}${suffix}`);
  } catch {
    return undefined;
  }
  const kept = _kept.get(key);
  if (kept) {
    if (_alive(kept, key)) return kept;
    _close(kept);
    _kept.delete(key);
  }
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(key, { read: true });
  } catch {
    return undefined;
  }
  _kept.set(key, file);
  return file;
}

/**
 * Closes the kept descriptors whose file is gone or was replaced (SQLite
 * deleted it after its last connection closed), and only those.
 *
 * @returns How many were closed.
 *
 * @example
 * ```ts
 * import { releaseDeadCompanions } from "./_sqlite_companion.ts";
 * releaseDeadCompanions();
 * ```
 */
export function releaseDeadCompanions(): number {
  let closed = 0;
  for (const [key, file] of _kept) {
    if (_alive(file, key)) continue;
    _close(file);
    _kept.delete(key);
    closed++;
  }
  return closed;
}

/** Whether the descriptor's file is still the one at `path`. */
function _alive(file: Deno.FsFile, path: string): boolean {
  let mine: Deno.FileInfo;
  try {
    mine = file.statSync();
  } catch {
    return false;
  }
  if (mine.nlink === 0) return false;
  let there: Deno.FileInfo;
  try {
    // stat by path opens no descriptor, so it cannot release a lock.
    there = Deno.statSync(path);
  } catch {
    return false;
  }
  return mine.ino === there.ino && mine.dev === there.dev;
}

function _close(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // already closed
  }
}
