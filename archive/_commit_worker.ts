/**
 * The commit thread of an archive pass (archive/_committer.ts): step 4 of
 * the parts the pass's thread has written ({@linkcode commitParts}: record
 * them in `archive_log`, delete their rows, one transaction) on a SQLite
 * connection of its own, while the pass's thread reads and encodes the
 * next days. `node:sqlite` is synchronous, so only another thread lets the
 * `DELETE`s and the `COMMIT` run beside the encoding. One request at a
 * time, answered in order.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { DatabaseSync } from "node:sqlite";
import { setPriority } from "node:os";
import { commitParts, noPhases, type WrittenPart } from "./_move_part.ts";

/** What the pass's thread asks. */
export type CommitRequest =
  | { open: { database: string; cacheMb: number; nice?: number } }
  | { parts: WrittenPart[] }
  | { close: true };

/** The answer to each request, in order (to `open`: with this thread's OS id, where known). */
export type CommitReply =
  | { ok: true; delete: number; commit: number; tid?: string }
  | { error: string };

/** This thread's id on Linux (`/proc/thread-self`), for the pass's rest signal to leave out. */
function _tid(): string | undefined {
  try {
    return Deno.readLinkSync("/proc/thread-self").split("/").pop();
  } catch {
    return undefined;
  }
}

let db: DatabaseSync | undefined;

self.onmessage = async (e: MessageEvent<CommitRequest>) => {
  const m = e.data;
  try {
    if ("open" in m) {
      if (m.open.nice !== undefined) {
        try {
          // Pid 0 is the calling thread on Linux: this one.
          setPriority(0, m.open.nice);
        } catch {
          // Where it cannot be set, the thread runs as it is.
        }
      }
      db = new DatabaseSync(m.open.database);
      db.exec("PRAGMA busy_timeout = 10000");
      // The deletes touch pages of every index: the pass's large cache lives here.
      db.exec(`PRAGMA cache_size = -${m.open.cacheMb * 1024}`);
      const tid = _tid();
      self.postMessage(
        { ok: true, delete: 0, commit: 0, ...(tid ? { tid } : {}) } satisfies CommitReply,
      );
    } else if ("close" in m) {
      db?.close();
      db = undefined;
      self.postMessage({ ok: true, delete: 0, commit: 0 } satisfies CommitReply);
    } else {
      if (!db) throw new Error("archive: the commit thread has no database open");
      const phases = noPhases();
      await commitParts(db, m.parts, phases);
      self.postMessage(
        { ok: true, delete: phases.delete, commit: phases.commit } satisfies CommitReply,
      );
    }
  } catch (err) {
    self.postMessage(
      { error: err instanceof Error ? err.message : String(err) } satisfies CommitReply,
    );
  }
};
