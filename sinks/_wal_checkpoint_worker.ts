/**
 * The thread of a {@linkcode WalCheckpointer}: its own connection to the
 * database, on which it runs one PASSIVE checkpoint per request. SQLite
 * copies the WAL into the database and waits for the disk here, while the
 * writer's thread goes on committing into the WAL.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { DatabaseSync } from "node:sqlite";

/** A request from the writer's thread. */
export type CheckpointRequest = { op: "open"; database: string } | { op: "checkpoint" } | {
  op: "close";
};

/** The answer to one request, in the order they came. */
export interface CheckpointAnswer {
  /** Set when the request failed. */
  error?: string;
  /** Of a checkpoint: frames in the WAL, and how many of them are now in the database. */
  log?: number;
  checkpointed?: number;
  /** Of a checkpoint: 1 when readers kept it from copying everything. */
  busy?: number;
}

let db: DatabaseSync | undefined;

self.onmessage = (e: MessageEvent<CheckpointRequest>) => {
  const req = e.data;
  const answer: CheckpointAnswer = {};
  try {
    if (req.op === "open") {
      db = new DatabaseSync(req.database);
      // The writer's setting: with NORMAL, a checkpoint syncs the WAL before it copies and the
      // database after, so the writer never restarts the WAL over pages the disk may not have.
      db.exec("PRAGMA synchronous = NORMAL");
    } else if (req.op === "checkpoint") {
      if (!db) throw new Error("checkpoint before open");
      const r = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as {
        busy: number;
        log: number;
        checkpointed: number;
      };
      answer.busy = r.busy;
      answer.log = r.log;
      answer.checkpointed = r.checkpointed;
    } else {
      db?.close();
      db = undefined;
    }
  } catch (err) {
    answer.error = err instanceof Error ? err.message : String(err);
  }
  self.postMessage(answer);
};
