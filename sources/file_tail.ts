/**
 * Follows log files, like `tail -F` with checkpoints: one path or a glob,
 * appends as they come, rotation by rename, copytruncate and truncation,
 * and resumption after a restart or a crash from the last acknowledged line.
 * The pieces: sources/_tail_glob.ts (what to follow), sources/_tail_scan.ts
 * and sources/_tail_copies.ts (new, renamed, truncated and copied files),
 * sources/_tail_read.ts (lines, ids, checkpoints on acknowledgement),
 * sources/_tail_state.ts and sources/_tail_file.ts (the state they share).
 *
 * @module
 */

import type { Source, SourceContext } from "../core/types.ts";
import { finishTailFile, readTailFile } from "./_tail_read.ts";
import { scanTail } from "./_tail_scan.ts";
import { hasGlobMeta, splitGlob } from "./_tail_glob.ts";
import type { TailFile } from "./_tail_file.ts";
import { TailState } from "./_tail_state.ts";

/** Options for {@linkcode fileTailSource}. */
export interface FileTailSourceOptions {
  /**
   * The file to follow, or a glob (`*`, `?` and `[…]` in any path segment,
   * e.g. `/var/log/app/*.jsonl`). Files that start matching while the source
   * runs are picked up. A glob should not match compressed archives.
   * To lose nothing under copytruncate rotation, let it match the copies too
   * (`app.log*`): a copy is recognised and continued, never read twice.
   */
  path: string;
  /**
   * Where to start in a file that has no checkpoint and exists when the
   * source starts. Files that appear later are always read from the
   * beginning. @default {"beginning"}
   */
  startAt?: "beginning" | "end";
  /** Longest line in bytes; longer lines are cut to this, flagged and counted. @default {65536} */
  maxLineBytes?: number;
  /** How often files are checked for rotation and growth without a change notification, in ms. @default {500} */
  pollMs?: number;
  /** Bytes read from a file at a time; each read becomes one batch. @default {262144} */
  readBytes?: number;
  /**
   * How long a file that no longer matches the path (renamed away or
   * deleted) stays open after its last growth, in case its writer still
   * appends; also how long a new file whose content is the start of a
   * followed file waits for that file to be truncated (copytruncate) before
   * it is read as a file of its own; in ms. @default {2000}
   */
  rotateWaitMs?: number;
  /** Host name used in event ids and set as `HOST`. @default {Deno.hostname()} */
  host?: string;
  /** Field that receives the file's path; `null` sets none. @default {"file"} */
  fileField?: string | null;
  /** A name for stats and state. */
  name?: string;
}

const _DIRTY_SCAN_MS = 20;

class _Tail {
  readonly #options: FileTailSourceOptions;
  #state!: TailState;
  #buf: Uint8Array;
  #dirty = false;
  #lastScan = 0;
  #wake: (() => void) | null = null;
  #watcher: Deno.FsWatcher | null = null;
  #watching: Promise<void> | null = null;
  #pump: Promise<void> | null = null;

  constructor(options: FileTailSourceOptions) {
    this.#options = options;
    this.#buf = new Uint8Array(options.readBytes ?? 262144);
  }

  start(ctx: SourceContext): void {
    const o = this.#options;
    this.#state = new TailState(ctx, {
      maxLine: o.maxLineBytes ?? 65536,
      pollMs: o.pollMs ?? 500,
      readBytes: this.#buf.length,
      rotateWaitMs: o.rotateWaitMs ?? 2000,
      fileField: o.fileField === undefined ? "file" : o.fileField,
      startAt: o.startAt ?? "beginning",
      host: o.host ?? _hostname(),
      glob: splitGlob(o.path, Deno.cwd()),
    });
    this.#pump = this.#run().catch((err) => {
      ctx.stats.errors++;
      ctx.log.error("file-tail stopped on an unexpected error", { error: String(err) });
    });
  }

  async stop(): Promise<void> {
    const state = this.#state;
    if (!state) return;
    state.stopped = true;
    this.#wake?.();
    this.#watcher?.close();
    this.#watcher = null;
    await this.#watching;
    // A pump blocked in emit() by a sink that cannot write must not hold the stop up:
    // its lines are not acknowledged and are read again after a restart.
    const pump = this.#pump ?? Promise.resolve();
    while (!(await _settlesWithin(pump, 100))) {
      if (state.emitting && state.ctx.signal.aborted) break;
    }
    state.closeAll();
  }

  #watch(): void {
    const state = this.#state;
    if (this.#watcher || state.stopped) return;
    const { base, segments } = state.settings.glob;
    const recursive = segments.slice(0, -1).some(hasGlobMeta);
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(base, { recursive });
    } catch {
      return; // the directory does not exist yet: polling finds it, the next scan retries
    }
    this.#watcher = watcher;
    this.#watching = (async () => {
      try {
        for await (const event of watcher) {
          if (event.kind === "access") continue;
          this.#dirty = true;
          this.#wake?.();
        }
      } catch {
        // the watcher failed: polling remains
      }
      if (this.#watcher === watcher) this.#watcher = null;
    })();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    const state = this.#state;
    const { pollMs, rotateWaitMs } = state.settings;
    this.#watch();
    await scanTail(state, true);
    this.#lastScan = Date.now();
    let idle = false;
    while (!state.stopped) {
      const now = Date.now();
      // After an idle wait a change is looked at at once (a truncation must be seen
      // before the refill is read); while busy, at most every few ms.
      if (
        (this.#dirty && (idle || now - this.#lastScan >= _DIRTY_SCAN_MS)) ||
        now - this.#lastScan >= pollMs
      ) {
        this.#dirty = false;
        if (!this.#watcher) this.#watch();
        await scanTail(state, false);
        this.#lastScan = Date.now();
      }
      let progressed = false;
      let draining = false;
      for (const f of _ordered(state.files)) {
        if (state.stopped) break;
        if (f.state === "parked" || state.files.get(f.key) !== f) continue;
        const w = f.waitFor;
        if (w && state.files.get(w.key) === w && w.state === "draining" && !w.reachedEof) continue;
        const n = await readTailFile(state, f, this.#buf);
        if (n > 0) {
          progressed = true;
          f.eofAt = 0;
        } else if (f.state === "draining" && state.files.get(f.key) === f) {
          draining = true;
          f.reachedEof = true;
          if (f.eofAt === 0) f.eofAt = Date.now();
          else if (Date.now() - f.eofAt >= rotateWaitMs) await finishTailFile(state, f);
        }
      }
      idle = !progressed;
      if (progressed || state.stopped) continue;
      const since = Date.now() - this.#lastScan;
      let wait = this.#dirty ? _DIRTY_SCAN_MS - since : pollMs - since;
      if (draining) wait = Math.min(wait, Math.max(10, rotateWaitMs / 4));
      await this.#sleep(wait);
    }
  }
}

/** Files renamed away are finished before the files that replaced them. */
function _ordered(files: Map<string, TailFile>): TailFile[] {
  const out: TailFile[] = [];
  for (const f of files.values()) if (f.state === "draining") out.push(f);
  for (const f of files.values()) if (f.state !== "draining") out.push(f);
  return out;
}

/** Waits for a promise at most `ms`; `true` when it settled. */
function _settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true, () => true), timeout]).finally(() =>
    clearTimeout(timer)
  );
}

function _hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Follows one file or every file matching a glob and emits one event per
 * line. Appends are picked up through directory change notifications with a
 * poll as a safety net. A file is known by its device and inode plus a
 * fingerprint of its first line, so it is followed across renames, a
 * replaced file is read anew, and a truncated file (copytruncate) is read
 * again from its start and counted under `truncations`.
 *
 * Each file's offset is checkpointed in the state directory once the lines
 * before it are acknowledged, so a restart, or a crash, resumes without
 * loss; lines read but not acknowledged are read again with the same event
 * id, `<host>:<dev>:<inode>:<fingerprint>:<line start offset>`. A partial
 * last line waits for its newline. Lines longer than `maxLineBytes` are cut
 * and get `sluice_truncated`, invalid UTF-8 is kept as U+FFFD and gets
 * `sluice_invalid_utf8`; both are counted (`truncated_lines`,
 * `invalid_utf8_lines`).
 *
 * @param options The path or glob, where to start, limits.
 * @returns The source.
 * @throws {TypeError} When `path` is not a non-empty string or `startAt` is unknown.
 * @throws {RangeError} When a number option is out of range.
 *
 * @example Follow JSON alerts from the start of the file
 * ```ts
 * import { fileTailSource } from "./file_tail.ts";
 * const source = fileTailSource({ path: "/var/log/yara/alerts.jsonl", startAt: "beginning" });
 * ```
 */
export function fileTailSource(options: FileTailSourceOptions): Source {
  if (typeof options?.path !== "string" || options.path === "") {
    throw new TypeError(
      `fileTailSource: "path" must be a non-empty string, got ${JSON.stringify(options?.path)}`,
    );
  }
  if (
    options.startAt !== undefined && options.startAt !== "beginning" && options.startAt !== "end"
  ) {
    throw new TypeError(
      `fileTailSource: "startAt" must be "beginning" or "end", got ${
        JSON.stringify(options.startAt)
      }`,
    );
  }
  const positive = (name: keyof FileTailSourceOptions, min: number) => {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < min)) {
      throw new RangeError(
        `fileTailSource: "${name}" must be an integer of at least ${min}, got ${
          JSON.stringify(value)
        }`,
      );
    }
  };
  positive("maxLineBytes", 1);
  positive("pollMs", 1);
  positive("readBytes", 1);
  positive("rotateWaitMs", 0);
  let tail: _Tail | undefined;
  return {
    kind: "file-tail",
    ...(options.name ? { name: options.name } : {}),
    start(ctx) {
      tail = new _Tail(options);
      tail.start(ctx);
      return Promise.resolve();
    },
    async stop() {
      await tail?.stop();
    },
  };
}
