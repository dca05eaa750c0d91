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
import { commitParts, noPhases, type WrittenPart } from "./_move_part.ts";

/** What the pass's thread asks. */
export type CommitRequest =
  | { open: { database: string; cacheMb: number } }
  | { parts: WrittenPart[] }
  | { close: true };

/** The answer to each request, in order. */
export type CommitReply =
  | { ok: true; delete: number; commit: number }
  | { error: string };

let db: DatabaseSync | undefined;

self.onmessage = async (e: MessageEvent<CommitRequest>) => {
  const m = e.data;
  try {
    if ("open" in m) {
      db = new DatabaseSync(m.open.database);
      db.exec("PRAGMA busy_timeout = 10000");
      // The deletes touch pages of every index: the pass's large cache lives here.
      db.exec(`PRAGMA cache_size = -${m.open.cacheMb * 1024}`);
      self.postMessage({ ok: true, delete: 0, commit: 0 } satisfies CommitReply);
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
