/**
 * The SQLite sink's WAL glue: the automatic checkpoint threshold in the
 * file's own pages, the background flush of the WAL after each commit, and
 * the background checkpointer ({@linkcode WalCheckpointer}) when asked for.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "../core/log.ts";
import { companionFile } from "./_sqlite_companion.ts";
import { WalCheckpointer } from "./_wal_checkpointer.ts";

/** What {@linkcode SqliteWal} needs from the sink's options. */
export interface SqliteWalOptions {
  /** The database's path. */
  database: string;
  /** The journal mode asked for. */
  journalMode: string;
  /** The synchronous level asked for. */
  synchronous: string;
  /** Where checkpoints run. */
  checkpoint: "background" | "inline";
  /** The WAL size in MiB at which it is checkpointed. */
  walCheckpointMb: number;
}

/**
 * The WAL side of one SQLite writer: `configure()` after the journal mode
 * is set, `start()` once the schema is ready, `beforeTransaction()` before
 * every BEGIN, `afterCommit()` after every COMMIT, `stop()` before the
 * connection closes.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { SqliteWal } from "./_sqlite_wal.ts";
 * const d = new DatabaseSync(":memory:");
 * const wal = new SqliteWal({
 *   database: ":memory:", journalMode: "WAL", synchronous: "NORMAL",
 *   checkpoint: "inline", walCheckpointMb: 8,
 * });
 * wal.configure(d);
 * wal.start(d);
 * await wal.stop(d);
 * d.close();
 * ```
 */
export class SqliteWal {
  readonly #o: SqliteWalOptions;
  #page = 4096;
  #walPages = 1;
  /** The -wal file, from companionFile(): kept, never closed here (see docs/design-rules.md). */
  #wal: Deno.FsFile | undefined;
  #walSync: Promise<void> | undefined;
  // Only with NORMAL: FULL syncs the WAL at every commit already, OFF asked for no syncs at all.
  #flush: boolean;
  #checkpointer: WalCheckpointer | undefined;
  #stats: { add(name: string, n?: number): void } | undefined;

  /** @param options The sink's WAL options. */
  constructor(options: SqliteWalOptions) {
    this.#o = options;
    this.#flush = options.journalMode === "WAL" && options.synchronous === "NORMAL" &&
      options.database !== ":memory:";
  }

  /**
   * Sets SQLite's automatic checkpoint to `walCheckpointMb`, counted in the
   * pages of this file (an existing database keeps its page size).
   *
   * @param d The writer's connection.
   */
  configure(d: DatabaseSync): void {
    this.#page = (d.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
    this.#walPages = Math.max(1, Math.round((this.#o.walCheckpointMb * 1024 * 1024) / this.#page));
    d.exec(`PRAGMA wal_autocheckpoint = ${this.#walPages}`);
  }

  /**
   * Starts the background checkpointer when it was asked for and can work
   * here (WAL, NORMAL or FULL, a file database); otherwise SQLite keeps
   * checkpointing in the commits.
   *
   * @param d The writer's connection, schema ready.
   * @param stats Counters (`checkpoints`, `wal_flushes` …).
   * @param log Told when background checkpoints cannot run.
   */
  start(d: DatabaseSync, stats?: { add(name: string, n?: number): void }, log?: Logger): void {
    this.#stats = stats;
    const o = this.#o;
    if (
      o.checkpoint === "background" && o.journalMode === "WAL" &&
      (o.synchronous === "NORMAL" || o.synchronous === "FULL") &&
      o.database !== ":memory:" && !o.database.startsWith("file:")
    ) {
      this.#checkpointer = WalCheckpointer.start(d, {
        database: o.database,
        pageSize: this.#page,
        chunkPages: this.#walPages,
        capPages: 8 * this.#walPages,
        ...(stats ? { stats } : {}),
        onFallback: (reason) =>
          log?.warn(`${reason}; SQLite checkpoints in the commits from now on`),
      });
    }
  }

  /**
   * Before a BEGIN: what to wait for first, if anything (see
   * {@linkcode WalCheckpointer.beforeTransaction}).
   *
   * @param d The connection about to begin.
   * @returns A promise to await, or `undefined`.
   */
  beforeTransaction(d: DatabaseSync): Promise<void> | undefined {
    return this.#checkpointer?.beforeTransaction(d);
  }

  /**
   * After a COMMIT: flushes the WAL in the background (so the checkpoint's
   * own fsync finds little left and the commit that runs it holds the
   * thread for less) and lets the checkpointer look at the WAL.
   */
  afterCommit(): void {
    this.#flushWal();
    this.#checkpointer?.afterCommit();
  }

  /**
   * Stops the checkpointer and waits for a flush in flight; the
   * connection stays open.
   *
   * @param d The writer's connection, or `undefined` when it never opened.
   */
  async stop(d: DatabaseSync | undefined): Promise<void> {
    if (d) await this.#checkpointer?.stop(d);
    this.#checkpointer = undefined;
    await this.#walSync;
    this.#wal = undefined;
  }

  #flushWal(): void {
    if (this.#walSync || !this.#flush) return;
    this.#wal ??= companionFile(this.#o.database, "-wal");
    const wal = this.#wal;
    if (!wal) {
      // After a commit in WAL mode the file exists: without it (the mode did not take, a URI
      // name) or without permission to read it, the checkpoint syncs the WAL as SQLite does.
      this.#flush = false;
      return;
    }
    this.#walSync = wal.syncData().then(
      () => this.#stats?.add("wal_flushes"),
      () => {}, // the checkpoint's own fsync reports a disk that fails
    ).finally(() => (this.#walSync = undefined));
  }
}
