/**
 * Checkpoints of a SQLite WAL on a thread of their own, so that the
 * writer's thread stops waiting for the disk.
 *
 * In WAL mode with `synchronous = NORMAL`, a commit only appends to the WAL;
 * the checkpoint that copies the WAL back into the database syncs the
 * database file, and when SQLite runs it itself (`wal_autocheckpoint`) the
 * commit that crossed the threshold waits for that sync. In a bulk load of
 * the SIEM alerts table on the benchmark machine, those waits were about a
 * third of the writer's time. Here the writer turns the automatic
 * checkpoint off, and after each commit reads how much of the WAL is not yet
 * in the database from the WAL-index header (the `-shm` file, whose layout
 * SQLite documents in "WAL-mode file format"); past `chunkPages`, it asks the
 * checkpoint thread for a PASSIVE checkpoint on that thread's own connection,
 * which never blocks the writer.
 *
 * A WAL is only started over by a write transaction that finds all of it
 * copied, which never happens while a checkpoint runs beside the writer. So
 * once the WAL holds `capPages` frames, the writer copies the little that is
 * left itself (a PASSIVE checkpoint on its own connection, between
 * transactions, while the thread is idle), and its next transaction starts
 * the WAL over: the file stays near `capPages` pages however long the burst.
 *
 * Whatever goes wrong (no `-shm` file, a header this code does not know, a
 * thread that does not start), the writer falls back to SQLite's own
 * automatic checkpoint at `chunkPages`, and says so through `onFallback`.
 *
 * The `-shm` descriptor comes from `companionFile()` and is never closed
 * here: closing any descriptor of that file would release SQLite's own
 * locks on it (see `_sqlite_companion.ts` and docs/design-rules.md). A
 * header whose page size is still 0 is the WAL index of an empty WAL, as a
 * restarted writer finds it before its first commit: nothing to copy yet,
 * not an error.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { CheckpointAnswer, CheckpointRequest } from "./_wal_checkpoint_worker.ts";
import { companionFile } from "./_sqlite_companion.ts";

/** The WAL-index header's version for every SQLite since 3.7.0. */
const _WAL_INDEX_VERSION = 3007000;
/** SQLite writes the WAL-index in the machine's own byte order. */
const _LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Options for {@linkcode WalCheckpointer}. */
export interface WalCheckpointerOptions {
  /** The database file's path (the `-shm` file is beside it). */
  database: string;
  /** The database's page size in bytes. */
  pageSize: number;
  /** Frames not yet in the database at which a background checkpoint is asked for. */
  chunkPages: number;
  /** Frames in the WAL at which the writer copies the rest itself, so the WAL starts over. */
  capPages: number;
  /** Counts `checkpoints` (background), `checkpoints_inline` and `checkpoint_waits` (see `beforeTransaction`). */
  stats?: { add(name: string, n?: number): void };
  /** Told once why background checkpoints stopped, when they do. */
  onFallback?: (reason: string) => void;
}

/**
 * The writer's side of background WAL checkpoints (see the module doc):
 * `afterCommit()` after every COMMIT, `beforeTransaction()` before every
 * BEGIN, `stop()` before the writer's connection closes. The thread starts
 * at the first checkpoint, so a database that never fills `chunkPages`
 * never starts one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatabaseSync } from "node:sqlite";
 * import { WalCheckpointer } from "./_wal_checkpointer.ts";
 * const dir = await Deno.makeTempDir();
 * const db = new DatabaseSync(`${dir}/a.db`);
 * db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT)");
 * const ckpt = WalCheckpointer.start(db, {
 *   database: `${dir}/a.db`, pageSize: 4096, chunkPages: 8, capPages: 64,
 * });
 * assert.ok(ckpt, "the -shm header was readable");
 * for (let i = 0; i < 20; i++) {
 *   ckpt.beforeTransaction(db);
 *   db.exec("BEGIN");
 *   db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(20_000));
 *   db.exec("COMMIT");
 *   ckpt.afterCommit();
 * }
 * await ckpt.stop(db);
 * db.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class WalCheckpointer {
  /** One per database file in this thread, shared by every writer of it here (the SIEM sink and the vms sink). */
  static #open = new Map<string, WalCheckpointer>();
  readonly #key: string;
  /** The writers' connections that use it, each counted once per start(). */
  readonly #writers = new Map<DatabaseSync, number>();
  readonly #options: WalCheckpointerOptions;
  readonly #shm: Deno.FsFile;
  readonly #header = new Uint8Array(136);
  readonly #view = new DataView(this.#header.buffer);
  #worker: Worker | undefined;
  #answers: Array<(a: CheckpointAnswer) => void> = [];
  /** The checkpoint in flight, if any. */
  #running: Promise<void> | undefined;
  #stopped = false;

  private constructor(key: string, options: WalCheckpointerOptions, shm: Deno.FsFile) {
    this.#key = key;
    this.#options = options;
    this.#shm = shm;
  }

  /**
   * Turns SQLite's automatic checkpoint off on `db` and returns the
   * checkpointer, or leaves `db` as it is and returns `undefined` when the
   * WAL-index header cannot be read or is not one this code knows. Writers
   * of the same file in this thread share one checkpointer (the first one's
   * options and counters); each calls `stop()` with its own connection.
   *
   * @param db The writer's open connection, in WAL mode, after its first write.
   * @param options Paths, sizes and counters.
   * @returns The checkpointer, or `undefined`.
   */
  static start(db: DatabaseSync, options: WalCheckpointerOptions): WalCheckpointer | undefined {
    let shm: Deno.FsFile | undefined;
    let key: string | undefined;
    try {
      key = Deno.realPathSync(options.database);
      const shared = WalCheckpointer.#open.get(key);
      if (shared) {
        db.exec("PRAGMA wal_autocheckpoint = 0");
        shared.#writers.set(db, (shared.#writers.get(db) ?? 0) + 1);
        return shared;
      }
      shm = companionFile(options.database, "-shm");
    } catch {
      // realpath failed: no such database
    }
    if (!shm || key === undefined) {
      options.onFallback?.(`no WAL index beside "${options.database}" to read`);
      return undefined;
    }
    const c = new WalCheckpointer(key, options, shm);
    if (c.#frames() === undefined) {
      // The descriptor stays open (companionFile keeps it): closing it would drop SQLite's locks.
      options.onFallback?.(
        `the WAL index of "${options.database}" has a header this code does not know`,
      );
      return undefined;
    }
    db.exec("PRAGMA wal_autocheckpoint = 0");
    c.#writers.set(db, 1);
    WalCheckpointer.#open.set(key, c);
    return c;
  }

  /** Frames in the WAL and how many are in the database, from the header; `undefined` when unreadable. */
  #frames(): { max: number; copied: number } | undefined {
    try {
      this.#shm.seekSync(0, Deno.SeekMode.Start);
      if (this.#shm.readSync(this.#header) !== this.#header.length) return undefined;
    } catch {
      return undefined;
    }
    const v = this.#view;
    const little = _LITTLE_ENDIAN;
    // The header's first copy: version, page size (65536 is stored as 1), mxFrame; nBackfill at 96.
    if (v.getUint32(0, little) !== _WAL_INDEX_VERSION) return undefined;
    const page = v.getUint16(14, little);
    const max = v.getUint32(16, little);
    // Page size 0: the index of an empty WAL (a writer restarted, nothing committed since).
    if (page === 0 && max === 0) return { max: 0, copied: 0 };
    if ((page === 1 ? 65_536 : page) !== this.#options.pageSize) return undefined;
    return { max, copied: v.getUint32(96, little) };
  }

  #fallBack(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    WalCheckpointer.#open.delete(this.#key);
    for (const db of this.#writers.keys()) {
      try {
        db.exec(`PRAGMA wal_autocheckpoint = ${this.#options.chunkPages}`);
      } catch {
        // The connection is closed: nothing left to checkpoint for.
      }
    }
    this.#options.onFallback?.(reason);
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const answer of this.#answers.splice(0)) answer({ error: reason });
  }

  #ask(req: CheckpointRequest): Promise<CheckpointAnswer> {
    if (!this.#worker) {
      const w = new Worker(new URL("./_wal_checkpoint_worker.ts", import.meta.url), {
        type: "module",
      });
      w.onmessage = (e: MessageEvent<CheckpointAnswer>) => this.#answers.shift()?.(e.data);
      w.onerror = (e) => {
        e.preventDefault();
        this.#fallBack(`the checkpoint thread failed: ${e.message}`);
      };
      this.#worker = w;
      void this.#send({ op: "open", database: this.#options.database }).then((a) => {
        if (a.error !== undefined) {
          this.#fallBack(`the checkpoint thread could not open: ${a.error}`);
        }
      });
    }
    return this.#send(req);
  }

  #send(req: CheckpointRequest): Promise<CheckpointAnswer> {
    const w = this.#worker;
    if (!w) return Promise.resolve({ error: "the checkpoint thread is gone" });
    return new Promise((resolve) => {
      this.#answers.push(resolve);
      w.postMessage(req);
    });
  }

  /**
   * After a COMMIT: asks for a background checkpoint once `chunkPages`
   * frames wait to be copied, unless the WAL has reached `capPages`.
   */
  afterCommit(): void {
    if (this.#stopped || this.#running) return;
    const f = this.#frames();
    if (f === undefined) return this.#fallBack("the WAL-index header became unreadable");
    // Past the cap, the writer's own catch-up comes first: a checkpoint started now would keep
    // it waiting, and the WAL from starting over, for another round.
    if (f.max - f.copied < this.#options.chunkPages || f.max >= this.#options.capPages) return;
    this.#running = this.#ask({ op: "checkpoint" }).then((a) => {
      this.#running = undefined;
      if (a.error !== undefined) {
        return this.#fallBack(`a background checkpoint failed: ${a.error}`);
      }
      this.#options.stats?.add("checkpoints");
    });
  }

  /**
   * Before a BEGIN: when the WAL holds `capPages` frames, copies what is
   * left on the writer's connection, so that the transaction starts the WAL
   * over. A background checkpoint in flight is waited for first (the WAL
   * cannot start over while it runs): only then does the writer wait, so a
   * checkpoint thread that is slow to start or to sync (a loaded machine, a
   * slow disk) holds the WAL at the cap instead of letting it grow.
   *
   * @param db The connection about to begin.
   * @returns A promise to await before the BEGIN, or `undefined` when there is nothing to wait for.
   */
  beforeTransaction(db: DatabaseSync): Promise<void> | undefined {
    if (this.#stopped) return undefined;
    const f = this.#frames();
    if (f === undefined || f.max < this.#options.capPages) return undefined;
    const running = this.#running;
    if (!running) return void this.#catchUp(db);
    this.#options.stats?.add("checkpoint_waits");
    return running.then(() => {
      if (!this.#stopped && !this.#running) this.#catchUp(db);
    });
  }

  #catchUp(db: DatabaseSync): void {
    try {
      db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
      this.#options.stats?.add("checkpoints_inline");
    } catch {
      // Another connection's checkpoint holds the lock: it copies the WAL instead.
    }
  }

  /**
   * One writer is done: once every writer is, waits for a checkpoint in
   * flight and ends the thread. The writers' connections stay as they are.
   *
   * @param db The connection given to `start()`.
   */
  async stop(db: DatabaseSync): Promise<void> {
    const left = (this.#writers.get(db) ?? 1) - 1;
    if (left > 0) this.#writers.set(db, left);
    else this.#writers.delete(db);
    if (this.#writers.size > 0) return;
    if (WalCheckpointer.#open.get(this.#key) === this) WalCheckpointer.#open.delete(this.#key);
    await this.#running;
    if (this.#worker && !this.#stopped) await this.#send({ op: "close" });
    this.#stopped = true;
    this.#worker?.terminate();
    this.#worker = undefined;
    // #shm stays open: the writers' connections are still open, and closing it would release
    // their locks. releaseDeadCompanions() closes it once SQLite has deleted the file.
  }
}
