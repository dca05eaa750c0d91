/**
 * The state the file-tail source's pieces share: the followed files, the
 * streams a copy may still claim, the checkpoints in the state store, and
 * the operations that keep them consistent (open, save, forget, drop).
 * sources/_tail_scan.ts finds and classifies files, sources/_tail_read.ts
 * reads and emits their lines, sources/file_tail.ts drives both.
 *
 * @module
 */

import { LineFramer } from "../core/framing.ts";
import type { SourceContext } from "../core/types.ts";
import type { TailGlob } from "./_tail_glob.ts";
import {
  closeQuietly,
  isTailCheckpoint,
  TAIL_BYTES,
  type TailCheckpoint,
  type TailCursor,
  type TailFile,
  type TailOrphan,
} from "./_tail_file.ts";

/** The settings of a file-tail source, defaults applied. */
export interface TailSettings {
  /** Longest line in bytes. */
  maxLine: number;
  /** Poll interval, ms. */
  pollMs: number;
  /** Bytes per read. */
  readBytes: number;
  /** How long a renamed-away or parked file waits, ms. */
  rotateWaitMs: number;
  /** Field that receives the path, or `null`. */
  fileField: string | null;
  /** Where a file found at start without a checkpoint begins. */
  startAt: "beginning" | "end";
  /** Host name in ids and `HOST`. */
  host: string;
  /** What to follow. */
  glob: TailGlob;
}

/**
 * The shared state of one running file-tail source.
 *
 * @example
 * ```ts ignore
 * import { TailState } from "./_tail_state.ts";
 * declare const ctx: import("../core/types.ts").SourceContext;
 * const state = new TailState(ctx, {
 *   maxLine: 65536, pollMs: 500, readBytes: 262144, rotateWaitMs: 2000, fileField: "file",
 *   startAt: "beginning", host: "vm1", glob: { base: "/var/log", segments: ["auth.log"] },
 * });
 * ```
 */
export class TailState {
  /** The source's context. */
  readonly ctx: SourceContext;
  /** Its settings. */
  readonly settings: TailSettings;
  /** Followed files by `dev:inode`. */
  readonly files: Map<string, TailFile> = new Map();
  /** Paths that could not be opened, with the error logged for them. */
  readonly failed: Map<string, string> = new Map();
  /** Finished files whose checkpoint waits for their last acknowledgement. */
  readonly pendingDelete: Set<string> = new Set();
  /** New files found by the first scan and not decided yet (`startAt` applies to them). */
  readonly initialKeys: Set<string> = new Set();
  /** Streams of truncated files that a copy may still claim. */
  orphans: TailOrphan[] = [];
  /** A batch is in `ctx.emit` (a blocked sink may hold it there). */
  emitting = false;
  /** The source is stopping. */
  stopped = false;
  #index = "";

  /**
   * @param ctx The source's context.
   * @param settings Its settings, defaults applied.
   */
  constructor(ctx: SourceContext, settings: TailSettings) {
    this.ctx = ctx;
    this.settings = settings;
  }

  /** Opens a regular file for reading; logs an error once per path and error. */
  async open(path: string): Promise<{ handle: Deno.FsFile; stat: Deno.FileInfo } | null> {
    let handle: Deno.FsFile | undefined;
    try {
      handle = await Deno.open(path, { read: true });
      const stat = await handle.stat();
      if (!stat.isFile) {
        closeQuietly(handle);
        return null;
      }
      this.failed.delete(path);
      return { handle, stat };
    } catch (err) {
      if (handle) closeQuietly(handle);
      if (err instanceof Deno.errors.NotFound) return null;
      const text = String(err);
      if (this.failed.get(path) !== text) {
        this.failed.set(path, text);
        this.ctx.stats.errors++;
        this.ctx.log.error(`file-tail cannot open "${path}"`, { error: text });
      }
      return null;
    }
  }

  /** A new followed file at offset 0 (not registered yet) that becomes the holder of `cursor`. */
  newFile(
    key: string,
    path: string,
    handle: Deno.FsFile,
    size: number,
    cursor: TailCursor,
  ): TailFile {
    const f: TailFile = {
      key,
      path,
      handle,
      cursor,
      framer: new LineFramer({ maxLineBytes: this.settings.maxLine, startOffset: 0 }),
      pos: 0,
      lineStart: 0,
      held: null,
      tail: new Uint8Array(TAIL_BYTES),
      tailLen: 0,
      size,
      state: "active",
      parent: null,
      parkedSize: 0,
      parkedAt: 0,
      eofAt: 0,
      reachedEof: false,
      waitFor: null,
    };
    cursor.holder = f;
    return f;
  }

  /** Moves a file's reading position to `offset` (a line start), forgetting any partial line. */
  async seek(f: TailFile, offset: number): Promise<void> {
    await f.handle.seek(offset, Deno.SeekMode.Start);
    f.pos = offset;
    f.lineStart = offset;
    f.held = null;
    f.tailLen = 0;
    f.framer = new LineFramer({ maxLineBytes: this.settings.maxLine, startOffset: offset });
    f.cursor.emitted = Math.max(f.cursor.emitted, offset);
  }

  /** Writes a file's checkpoint: its cursor's acknowledged offset. */
  save(f: TailFile): void {
    const c = f.cursor;
    const checkpoint: TailCheckpoint = {
      path: f.path,
      origin: c.origin,
      fp: c.fp,
      gen: c.gen,
      offset: c.acked,
    };
    this.ctx.state.set(f.key, checkpoint);
  }

  /** The checkpoints saved by an earlier run, by key. */
  checkpoints(): Map<string, TailCheckpoint> {
    const out = new Map<string, TailCheckpoint>();
    const saved = this.ctx.state.get<string[]>("files") ?? [];
    for (const key of saved) {
      const c = this.ctx.state.get(key);
      if (isTailCheckpoint(c)) out.set(key, c);
    }
    return out;
  }

  /** Keeps the list of checkpoint keys (the state store cannot list its keys). */
  saveIndex(): void {
    const keys = new Set<string>(this.pendingDelete);
    for (const f of this.files.values()) if (f.state !== "parked") keys.add(f.key);
    const list = [...keys].sort();
    const text = list.join(" ");
    if (text === this.#index) return;
    this.#index = text;
    this.ctx.state.set("files", list);
  }

  /** Removes a finished file's checkpoint once everything read from it is acknowledged. */
  forget(f: TailFile): void {
    f.cursor.holder = null;
    this.pendingDelete.delete(f.key);
    if (!this.files.has(f.key)) {
      this.ctx.state.delete(f.key);
      this.saveIndex();
    }
  }

  /** Stops following a file after an error; the next scan opens it again from its checkpoint. */
  drop(f: TailFile): void {
    if (this.files.get(f.key) !== f) return;
    this.files.delete(f.key);
    closeQuietly(f.handle);
    if (f.cursor.holder === f) f.cursor.holder = null;
  }

  /** Closes every file (at stop). */
  closeAll(): void {
    for (const f of this.files.values()) closeQuietly(f.handle);
    this.files.clear();
  }
}
