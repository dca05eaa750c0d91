/**
 * Step 4 of an archive pass behind one interface, on the pass's thread or
 * on a thread of its own (archive/_commit_worker.ts), where the batch's
 * `DELETE`s and `COMMIT` run while the pass's thread reads and encodes the
 * next days. At most one batch is in flight, batches commit in order, and
 * each is the same one transaction either way, so the crash rule does not
 * change: a crash before a batch commits leaves renamed parts `archive_log`
 * does not know (the next pass removes them; their rows are still in the
 * database), after it the rows are gone and the parts recorded.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import {
  type ArchivePhases,
  commitParts,
  reportCommitted,
  type WrittenPart,
} from "./_move_part.ts";
import type { ArchiveOptions, ArchiveSummary } from "./mover.ts";
import type { CommitReply, CommitRequest } from "./_commit_worker.ts";

/**
 * SQLite's page cache of the connection that deletes, MiB (`cacheMb`): the
 * deletes walk runs of row ids, and 16 MiB took them as fast as 64 did
 * (docs/archive.md "Measured", the memory round) for 48 MiB less.
 *
 * @example
 * ```ts
 * import { DEFAULT_CACHE_MB } from "./_committer.ts";
 * console.log(DEFAULT_CACHE_MB); // 16
 * ```
 */
export const DEFAULT_CACHE_MB = 16;

/** Commits batches of written parts, in order. */
export interface Committer {
  /**
   * Starts committing `parts` once the batch before has committed; throws
   * that batch's error (and removes `parts`' files: nothing records them).
   */
  submit(parts: WrittenPart[]): Promise<void>;
  /** Waits for the batch in flight; throws its error. */
  drain(): Promise<void>;
  /** Whether a batch is being committed now (on the thread; never inline). */
  active(): boolean;
  /** Closes the thread's connection and ends it (after `drain`). */
  close(): Promise<void>;
}

function _counted(summary: ArchiveSummary, parts: readonly WrittenPart[]): void {
  for (const n of parts) {
    summary.parts++;
    summary.rows += n.rows;
    summary.bytes += n.bytes;
    summary.byTable[n.table] = (summary.byTable[n.table] ?? 0) + n.rows;
  }
}

/**
 * Commits on the pass's own connection, each batch before `submit` returns.
 *
 * @param db The pass's connection.
 * @param o The pass's options (its hooks hear each part).
 * @param summary Counts what committed.
 * @returns The committer.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { inlineCommitter } from "./_committer.ts";
 * import { noPhases } from "./_move_part.ts";
 * const summary = { parts: 0, rows: 0, bytes: 0, byTable: {}, recovered: 0, phases: noPhases() };
 * const c = inlineCommitter(new DatabaseSync(":memory:"), { database: ":memory:", dir: "a", retainDbMs: 1 }, summary);
 * await c.submit([]);
 * ```
 */
export function inlineCommitter(
  db: DatabaseSync,
  o: ArchiveOptions,
  summary: ArchiveSummary,
): Committer {
  return {
    async submit(parts) {
      await commitParts(db, parts, summary.phases);
      _counted(summary, parts);
      reportCommitted(o, parts);
    },
    async drain() {},
    active: () => false,
    async close() {},
  };
}

/**
 * Commits on a thread of its own with a connection of its own (SQLite's
 * page cache of `cacheMb` there: the deletes are what needs it).
 *
 * @param o The pass's options (its hooks hear each part, on this thread).
 * @param summary Counts what committed; its phases get the thread's times.
 * @returns The committer, its connection open.
 *
 * @example
 * ```ts
 * import { threadCommitter } from "./_committer.ts";
 * // const c = await threadCommitter(options, summary); await c.submit(parts); await c.drain(); await c.close();
 * ```
 */
export async function threadCommitter(
  o: ArchiveOptions,
  summary: ArchiveSummary,
): Promise<Committer> {
  const w = new Worker(new URL("./_commit_worker.ts", import.meta.url), { type: "module" });
  let answer: ((r: CommitReply) => void) | undefined;
  let broken: string | undefined;
  w.onmessage = (e: MessageEvent<CommitReply>) => {
    const a = answer;
    answer = undefined;
    a?.(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault();
    broken = `archive: the commit thread failed: ${e.message}`;
    const a = answer;
    answer = undefined;
    a?.({ error: broken });
  };
  const ask = (m: CommitRequest): Promise<{ delete: number; commit: number; tid?: string }> =>
    new Promise((resolve, reject) => {
      if (broken) return reject(new Error(broken));
      answer = (r) => "error" in r ? reject(new Error(r.error)) : resolve(r);
      w.postMessage(m);
    });
  const phases: ArchivePhases = summary.phases;
  let inFlight: Promise<void> = Promise.resolve();
  let active = false;
  try {
    const opened = await ask({
      open: {
        database: o.database,
        cacheMb: Math.max(2, Math.floor(o.cacheMb ?? DEFAULT_CACHE_MB)),
        ...(o.commitNice !== undefined ? { nice: o.commitNice } : {}),
      },
    });
    if (opened.tid) o.onCommitThread?.(opened.tid);
  } catch (err) {
    w.terminate();
    throw err;
  }
  return {
    async submit(parts) {
      try {
        await inFlight;
      } catch (err) {
        for (const p of parts) await Deno.remove(p.final).catch(() => {});
        throw err;
      }
      active = true;
      inFlight = (async () => {
        const t = await ask({ parts }).finally(() => active = false);
        phases.delete += t.delete;
        phases.commit += t.commit;
        _counted(summary, parts);
        reportCommitted(o, parts);
      })();
      // Its error comes out of the next submit or drain.
      inFlight.catch(() => {});
    },
    async drain() {
      await inFlight;
    },
    active: () => active,
    async close() {
      await inFlight.catch(() => {});
      // The connection closes before the thread ends: a thread ended with its connection open
      // would hold the database's file locks until the process exits.
      await ask({ close: true }).catch(() => {});
      w.terminate();
    },
  };
}
