/**
 * Follows log files, like `tail -F` with checkpoints: one path or a glob,
 * appends as they come, rotation by rename, copytruncate and truncation,
 * and resumption after a restart or a crash from the last acknowledged line.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { LINE_INVALID_UTF8, LINE_TRUNCATED, LineFramer } from "../core/framing.ts";
import type { Source, SourceContext } from "../core/types.ts";

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

/** The checkpoint of one file, stored under its `dev:inode`. */
interface _Checkpoint {
  /** The path the file had when last seen. */
  path: string;
  /** `dev:inode` of the file the line offsets belong to (a copy inherits its original's). */
  origin: string;
  /** Fingerprint of the first line (up to {@linkcode _FP_BYTES}); `null` while the file has none. */
  fp: string | null;
  /** How many times this file was truncated and refilled. */
  gen: number;
  /** Offset just past the last acknowledged line. */
  offset: number;
}

/** The identity of a stream of lines and how far it is acknowledged. */
interface _Cursor {
  origin: string;
  fp: string | null;
  gen: number;
  /** Offset past the last acknowledged line. */
  acked: number;
  /** Offset past the last emitted line. */
  emitted: number;
  /** The file whose checkpoint this cursor writes; `null` once dropped. */
  holder: _File | null;
  /** The file was finished: its checkpoint is removed once everything is acknowledged. */
  closed: boolean;
}

interface _Held {
  text: string;
  flag: number;
  start: number;
}

interface _File {
  key: string;
  path: string;
  handle: Deno.FsFile;
  cursor: _Cursor;
  framer: LineFramer;
  /** Next byte to read (the handle's position). */
  pos: number;
  /** Start of the next line to emit. */
  lineStart: number;
  /** An over-long line whose newline has not been seen yet: its true end is unknown. */
  held: _Held | null;
  /** The last bytes read, ending at `pos` (to recognise a copy of this file). */
  tail: Uint8Array;
  tailLen: number;
  size: number;
  state: "active" | "draining" | "parked";
  /** For a parked copy: the live file it copies. */
  parent: _File | null;
  parkedSize: number;
  /** When a parked copy last grew. */
  parkedAt: number;
  /** Draining: when the file was first seen at its end without growth (0: not yet). */
  eofAt: number;
  reachedEof: boolean;
  /** A file renamed away from this file's path, to finish first. */
  waitFor: _File | null;
}

/** A stream of lines whose file was truncated or replaced; a copy of it may take it over. */
interface _Orphan {
  cursor: _Cursor;
  /** Where the copy must continue. */
  offset: number;
  /** The original, when it is still open. */
  file: _File | null;
  /** The last bytes read from the original, ending at `tailEnd` (a copy must hold the same). */
  tail: Uint8Array | null;
  tailEnd: number;
  /** When a copy can no longer claim it. */
  expires: number;
}

const _FP_BYTES = 1024;
const _TAIL_BYTES = 4096;
const _DIRTY_SCAN_MS = 20;

// Web Crypto rather than node:crypto: the same SHA-256 without loading Node's
// compatibility layer, which costs a VM several MB of resident memory.
async function _hash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  let hex = "";
  for (let i = 0; i < 6; i++) hex += (digest[i] as number).toString(16).padStart(2, "0");
  return hex;
}

/**
 * Fingerprints the first line of a file (at most {@linkcode _FP_BYTES}).
 * Once the first line is complete these bytes never change in an
 * append-only file, so the fingerprint, and with it every event id, is the
 * same whenever it is computed.
 */
async function _fingerprint(head: Uint8Array, final: boolean): Promise<string | null> {
  const nl = head.indexOf(10);
  let n: number;
  if (nl >= 0 && nl < _FP_BYTES) n = nl + 1;
  else if (head.length >= _FP_BYTES) n = _FP_BYTES;
  else if (final && head.length > 0) n = head.length;
  else return null;
  return await _hash(head.subarray(0, n));
}

function _identity(c: _Cursor): string {
  return c.gen ? `${c.origin}:${c.fp}.${c.gen}` : `${c.origin}:${c.fp}`;
}

function _isCheckpoint(value: unknown): value is _Checkpoint {
  if (!value || typeof value !== "object") return false;
  const c = value as Record<string, unknown>;
  return typeof c.path === "string" && typeof c.origin === "string" &&
    (c.fp === null || typeof c.fp === "string") && Number.isInteger(c.gen) &&
    Number.isInteger(c.offset) && (c.offset as number) >= 0;
}

function _hasMeta(segment: string): boolean {
  return /[*?[]/.test(segment);
}

function _segmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] as string;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith("!")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = close;
    } else re += ch.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  // As in a shell, a wildcard does not match a leading dot.
  return new RegExp(segment.startsWith(".") ? `^${re}$` : `^(?!\\.)${re}$`);
}

function _join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function _dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function _equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Reads up to `length` bytes at `offset`; the caller restores the handle's position. */
async function _readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** The offset just past the last newline of a file, for `startAt: "end"`. */
async function _lastLineEnd(file: Deno.FsFile, size: number, window: number): Promise<number> {
  if (size === 0) return 0;
  const from = Math.max(0, size - window);
  const bytes = await _readAt(file, from, size - from);
  const nl = bytes.lastIndexOf(10);
  if (nl >= 0) return from + nl + 1;
  return from === 0 ? 0 : size;
}

class _Tail {
  readonly #options: FileTailSourceOptions;
  readonly #maxLine: number;
  readonly #pollMs: number;
  readonly #readBytes: number;
  readonly #rotateWaitMs: number;
  readonly #fileField: string | null;
  #host = "";
  #base = "";
  #segments: string[] = [];
  #ctx!: SourceContext;
  #buf: Uint8Array;
  readonly #files = new Map<string, _File>();
  /** Paths that could not be opened, with the error logged for them. */
  readonly #failed = new Map<string, string>();
  #stopped = false;
  #dirty = false;
  #lastScan = 0;
  #wake: (() => void) | null = null;
  #watcher: Deno.FsWatcher | null = null;
  #watching: Promise<void> | null = null;
  #pump: Promise<void> | null = null;
  #emitting = false;
  #index = "";
  readonly #pendingDelete = new Set<string>();
  /** Streams of truncated files that a copy may still claim. */
  #orphans: _Orphan[] = [];
  /** New files found by the first scan and not decided yet (`startAt` applies to them). */
  readonly #initialKeys = new Set<string>();

  constructor(options: FileTailSourceOptions) {
    this.#options = options;
    this.#maxLine = options.maxLineBytes ?? 65536;
    this.#pollMs = options.pollMs ?? 500;
    this.#readBytes = options.readBytes ?? 262144;
    this.#rotateWaitMs = options.rotateWaitMs ?? 2000;
    this.#fileField = options.fileField === undefined ? "file" : options.fileField;
    this.#buf = new Uint8Array(this.#readBytes);
  }

  start(ctx: SourceContext): void {
    this.#ctx = ctx;
    this.#host = this.#options.host ?? _hostname();
    const raw = this.#options.path;
    const pattern = raw.startsWith("/") ? raw : _join(Deno.cwd(), raw);
    const parts = pattern.split("/").filter((p) => p !== "" && p !== ".");
    let literal = 0;
    while (literal < parts.length - 1 && !_hasMeta(parts[literal] as string)) literal++;
    this.#base = "/" + parts.slice(0, literal).join("/");
    this.#segments = parts.slice(literal);
    this.#pump = this.#run().catch((err) => {
      ctx.stats.errors++;
      ctx.log.error("file-tail stopped on an unexpected error", { error: String(err) });
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.#watcher?.close();
    this.#watcher = null;
    await this.#watching;
    // A pump blocked in emit() by a sink that cannot write must not hold the stop up:
    // its lines are not acknowledged and are read again after a restart.
    const pump = this.#pump ?? Promise.resolve();
    while (!(await _settlesWithin(pump, 100))) {
      if (this.#emitting && this.#ctx.signal.aborted) break;
    }
    for (const f of this.#files.values()) _close(f.handle);
    this.#files.clear();
  }

  #watch(): void {
    if (this.#watcher || this.#stopped) return;
    const recursive = this.#segments.slice(0, -1).some(_hasMeta);
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(this.#base, { recursive });
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
    this.#watch();
    await this.#scan(true);
    this.#lastScan = Date.now();
    let idle = false;
    while (!this.#stopped) {
      const now = Date.now();
      // After an idle wait a change is looked at at once (a truncation must be seen
      // before the refill is read); while busy, at most every few ms.
      if (
        (this.#dirty && (idle || now - this.#lastScan >= _DIRTY_SCAN_MS)) ||
        now - this.#lastScan >= this.#pollMs
      ) {
        this.#dirty = false;
        if (!this.#watcher) this.#watch();
        await this.#scan(false);
        this.#lastScan = Date.now();
      }
      let progressed = false;
      let draining = false;
      for (const f of this.#ordered()) {
        if (this.#stopped) break;
        if (f.state === "parked" || this.#files.get(f.key) !== f) continue;
        const w = f.waitFor;
        if (w && this.#files.get(w.key) === w && w.state === "draining" && !w.reachedEof) continue;
        const n = await this.#read(f);
        if (n > 0) {
          progressed = true;
          f.eofAt = 0;
        } else if (f.state === "draining" && this.#files.get(f.key) === f) {
          draining = true;
          f.reachedEof = true;
          if (f.eofAt === 0) f.eofAt = Date.now();
          else if (Date.now() - f.eofAt >= this.#rotateWaitMs) await this.#finish(f);
        }
      }
      idle = !progressed;
      if (progressed || this.#stopped) continue;
      const since = Date.now() - this.#lastScan;
      let wait = this.#dirty ? _DIRTY_SCAN_MS - since : this.#pollMs - since;
      if (draining) wait = Math.min(wait, Math.max(10, this.#rotateWaitMs / 4));
      await this.#sleep(wait);
    }
  }

  /** Files renamed away are finished before the files that replaced them. */
  #ordered(): _File[] {
    const out: _File[] = [];
    for (const f of this.#files.values()) if (f.state === "draining") out.push(f);
    for (const f of this.#files.values()) if (f.state !== "draining") out.push(f);
    return out;
  }

  async #expand(): Promise<string[]> {
    let paths = [this.#base];
    const segs = this.#segments;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i] as string;
      const last = i === segs.length - 1;
      if (!_hasMeta(seg)) {
        paths = paths.map((p) => _join(p, seg));
        continue;
      }
      const re = _segmentRegExp(seg);
      const next: string[] = [];
      for (const dir of paths) {
        try {
          for await (const entry of Deno.readDir(dir)) {
            if (!re.test(entry.name)) continue;
            if (!last && entry.isFile) continue;
            next.push(_join(dir, entry.name));
          }
        } catch {
          // a directory that vanished or cannot be read matches nothing
        }
      }
      paths = next.sort();
    }
    return paths;
  }

  async #open(path: string): Promise<{ handle: Deno.FsFile; stat: Deno.FileInfo } | null> {
    let handle: Deno.FsFile | undefined;
    try {
      handle = await Deno.open(path, { read: true });
      const stat = await handle.stat();
      if (!stat.isFile) {
        _close(handle);
        return null;
      }
      this.#failed.delete(path);
      return { handle, stat };
    } catch (err) {
      if (handle) _close(handle);
      if (err instanceof Deno.errors.NotFound) return null;
      const text = String(err);
      if (this.#failed.get(path) !== text) {
        this.#failed.set(path, text);
        this.#ctx.stats.errors++;
        this.#ctx.log.error(`file-tail cannot open "${path}"`, { error: text });
      }
      return null;
    }
  }

  #newFile(key: string, path: string, handle: Deno.FsFile, size: number, cursor: _Cursor): _File {
    const f: _File = {
      key,
      path,
      handle,
      cursor,
      framer: new LineFramer({ maxLineBytes: this.#maxLine, startOffset: 0 }),
      pos: 0,
      lineStart: 0,
      held: null,
      tail: new Uint8Array(_TAIL_BYTES),
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

  /** Moves a file's reading position to `offset`, forgetting any partial line. */
  async #seek(f: _File, offset: number): Promise<void> {
    await f.handle.seek(offset, Deno.SeekMode.Start);
    f.pos = offset;
    f.lineStart = offset;
    f.held = null;
    f.tailLen = 0;
    f.framer = new LineFramer({ maxLineBytes: this.#maxLine, startOffset: offset });
    f.cursor.emitted = Math.max(f.cursor.emitted, offset);
  }

  /** Reads bytes of a tracked file without moving its reading position. */
  async #peek(f: _File, offset: number, length: number): Promise<Uint8Array> {
    try {
      return await _readAt(f.handle, offset, length);
    } finally {
      await f.handle.seek(f.pos, Deno.SeekMode.Start);
    }
  }

  #save(f: _File): void {
    const c = f.cursor;
    const checkpoint: _Checkpoint = {
      path: f.path,
      origin: c.origin,
      fp: c.fp,
      gen: c.gen,
      offset: c.acked,
    };
    this.#ctx.state.set(f.key, checkpoint);
  }

  #checkpoints(): Map<string, _Checkpoint> {
    const out = new Map<string, _Checkpoint>();
    const saved = this.#ctx.state.get<string[]>("files") ?? [];
    for (const key of saved) {
      const c = this.#ctx.state.get(key);
      if (_isCheckpoint(c)) out.set(key, c);
    }
    return out;
  }

  /** Keeps the list of checkpoint keys (the state store cannot list its keys). */
  #saveIndex(): void {
    const keys = new Set<string>(this.#pendingDelete);
    for (const f of this.#files.values()) if (f.state !== "parked") keys.add(f.key);
    const list = [...keys].sort();
    const text = list.join(" ");
    if (text === this.#index) return;
    this.#index = text;
    this.#ctx.state.set("files", list);
  }

  /**
   * Looks at every matching file: notices new files, files renamed away,
   * truncations (a shrink, or a first line that changed) and copies, and
   * decides where each new file starts.
   */
  async #scan(initial: boolean): Promise<void> {
    const ctx = this.#ctx;
    const seen = new Map<string, { path: string; size: number }>();
    for (const path of await this.#expand()) {
      try {
        const st = await Deno.stat(path);
        if (!st.isFile || st.dev === null || st.ino === null) continue;
        const key = `${st.dev}:${st.ino}`;
        if (!seen.has(key)) seen.set(key, { path, size: st.size });
      } catch {
        // vanished between listing and stat
      }
    }
    if (this.#stopped) return;

    // 1. Files already open: renamed away, grown, truncated?
    const now = Date.now();
    this.#orphans = this.#orphans.filter((o) => o.expires > now);
    const orphans = this.#orphans;
    const expires = now + this.#rotateWaitMs + 2 * this.#pollMs;
    const truncated: _File[] = [];
    for (const f of [...this.#files.values()]) {
      const hit = seen.get(f.key);
      if (f.state === "parked" && !hit) {
        // A copy that went away before its original was truncated held nothing unread.
        this.#drop(f);
        continue;
      }
      if (hit) {
        f.path = hit.path;
        if (f.state === "draining") {
          f.state = "active";
          f.eofAt = 0;
        }
      } else if (f.state !== "draining") {
        f.state = "draining";
        f.eofAt = 0;
        f.reachedEof = false;
      }
      let size: number;
      try {
        size = (await f.handle.stat()).size;
      } catch {
        continue;
      }
      f.size = size;
      if (f.state === "parked") continue;
      let shrunk = size < f.pos;
      if (!shrunk && f.cursor.fp !== null) {
        // Truncated and refilled past our offset between two looks: the first line changed.
        const fp = await _fingerprint(await this.#peek(f, 0, _FP_BYTES), false);
        shrunk = fp !== null && fp !== f.cursor.fp;
      }
      if (shrunk) {
        truncated.push(f);
        orphans.push({
          cursor: f.cursor,
          offset: f.lineStart,
          file: f,
          tail: f.tail.slice(0, f.tailLen),
          tailEnd: f.pos,
          expires,
        });
      }
    }

    // 2. Files not open yet.
    const checkpoints = initial ? this.#checkpoints() : null;
    const fresh: Array<
      { key: string; path: string; handle: Deno.FsFile; size: number; fp: string | null }
    > = [];
    for (const [key, hit] of seen) {
      if (this.#files.has(key)) continue;
      const opened = await this.#open(hit.path);
      if (!opened) continue;
      const st = opened.stat;
      const realKey = `${st.dev}:${st.ino}`;
      if (this.#files.has(realKey)) {
        _close(opened.handle);
        continue;
      }
      const head = await _readAt(opened.handle, 0, _FP_BYTES);
      fresh.push({
        key: realKey,
        path: hit.path,
        handle: opened.handle,
        size: st.size,
        fp: await _fingerprint(head, false),
      });
    }
    /** Files to (re)position; `inherit`: the cursor has lines in flight, keep its acknowledged offset. */
    const ready: Array<{ f: _File; start: number | "end"; inherit?: boolean }> = [];
    const unmatched: typeof fresh = [];
    for (const n of fresh) {
      const saved = ctx.state.get(n.key);
      if (!_isCheckpoint(saved)) {
        unmatched.push(n);
        continue;
      }
      checkpoints?.delete(n.key);
      const same = saved.fp === null
        ? n.size >= saved.offset
        : saved.fp === n.fp && n.size >= saved.offset;
      if (same) {
        const cursor = _cursor(saved.origin, saved.fp, saved.gen, saved.offset);
        ready.push({
          f: this.#newFile(n.key, n.path, n.handle, n.size, cursor),
          start: saved.offset,
        });
      } else {
        // Truncated or replaced while nobody watched: a copy may hold the rest.
        orphans.push({
          cursor: _cursor(saved.origin, saved.fp, saved.gen, saved.offset),
          offset: saved.offset,
          file: null,
          tail: null,
          tailEnd: 0,
          expires,
        });
        const cursor = _cursor(n.key, null, saved.gen + 1, 0);
        ctx.stats.add("truncations");
        ready.push({ f: this.#newFile(n.key, n.path, n.handle, n.size, cursor), start: 0 });
      }
    }
    for (const n of unmatched) {
      // Undecided until classified below: a new file may be a copy in the making.
      const f = this.#newFile(n.key, n.path, n.handle, n.size, _cursor(n.key, null, 0, 0));
      f.state = "parked";
      f.parkedAt = Date.now();
      this.#files.set(f.key, f);
      if (initial) this.#initialKeys.add(f.key);
    }

    // 3. New and parked files: a copy that continues a truncated original, a copy
    // of a live file (parked until its original is truncated), or a file of its own.
    for (const p of [...this.#files.values()]) {
      if (p.state !== "parked") continue;
      const d = await this.#decide(p, orphans);
      if (d === null) continue;
      p.state = "active";
      p.parent = null;
      if (d.orphan) {
        orphans.splice(orphans.indexOf(d.orphan), 1);
        p.cursor = d.orphan.cursor;
        p.cursor.holder = p;
        ready.push({ f: p, start: d.orphan.offset, inherit: true });
      } else {
        p.cursor = _cursor(p.key, null, 0, 0);
        p.cursor.holder = p;
        ready.push({ f: p, start: d.start });
      }
      this.#initialKeys.delete(p.key);
    }

    // 4. Truncated originals start over.
    for (const f of truncated) {
      const old = f.cursor;
      if (old.holder === f) old.holder = null;
      f.cursor = _cursor(f.key, null, old.gen + 1, 0);
      f.cursor.holder = f;
      ctx.stats.add("truncations");
      ctx.log.info(`"${f.path}" was truncated; reading it again from the start`);
      await this.#seek(f, 0);
      this.#save(f);
    }

    for (const { f, start, inherit } of ready) {
      let offset = start;
      if (offset === "end") offset = await _lastLineEnd(f.handle, f.size, this.#maxLine);
      await this.#seek(f, offset);
      if (!inherit) f.cursor.acked = offset;
      for (const d of this.#files.values()) {
        if (d.state === "draining" && d.path === f.path && d !== f) f.waitFor = d;
      }
      this.#files.set(f.key, f);
      this.#save(f);
    }

    // 5. At start, checkpoints of files that left the path: finish them if they still exist.
    if (checkpoints) {
      for (const [key, saved] of checkpoints) {
        if (this.#files.has(key)) continue;
        const found = await this.#findRenamed(key, saved);
        if (!found) {
          ctx.state.delete(key);
          continue;
        }
        const cursor = _cursor(saved.origin, saved.fp, saved.gen, saved.offset);
        const f = this.#newFile(key, found.path, found.handle, found.size, cursor);
        f.state = "draining";
        await this.#seek(f, saved.offset);
        this.#files.set(key, f);
        this.#save(f);
      }
    }
    this.#saveIndex();
    ctx.stats.set("files", this.#files.size);
  }

  /**
   * Decides where a new or parked file starts: `null` keeps it parked, an
   * orphan hands it that stream, a number or `"end"` starts it afresh.
   */
  async #decide(
    p: _File,
    orphans: _Orphan[],
  ): Promise<{ orphan?: _Orphan; start: number | "end" } | null> {
    const parent = p.parent;
    if (parent === null) {
      const fp = await _fingerprint(await this.#peek(p, 0, _FP_BYTES), false);
      // No complete first line yet: nothing to read, and it may be a copy being written.
      if (fp === null) return null;
      const orphan = await this.#continuationOf(orphans, p, fp);
      if (orphan) return { orphan, start: orphan.offset };
      const live = await this.#copiedFrom(p, fp);
      if (live === "wait") return null;
      if (live) {
        p.parent = live;
        p.parkedSize = p.size;
        p.parkedAt = Date.now();
        return null;
      }
      const initial = this.#initialKeys.has(p.key);
      return { start: initial && this.#options.startAt === "end" ? "end" : 0 };
    }
    const orphan = orphans.find((o) => o.file === parent);
    if (orphan) {
      if (p.size >= orphan.offset && (await this.#tailMatches(orphan, p))) {
        return { orphan, start: orphan.offset };
      }
      // A copy of what was read already: nothing in it is unread.
      return { start: p.size };
    }
    if (this.#files.get(parent.key) !== parent || parent.state !== "active") {
      return { start: p.size };
    }
    const prefix = await this.#isPrefixOf(p, parent);
    if (prefix === "wait") return null;
    if (!prefix) return { start: 0 };
    if (p.size !== p.parkedSize) {
      // Still being copied.
      p.parkedSize = p.size;
      p.parkedAt = Date.now();
      return null;
    }
    // A copy whose original was not truncated soon after: a file of its own.
    if (Date.now() - p.parkedAt >= this.#rotateWaitMs) return { start: 0 };
    return null;
  }

  /** An orphaned stream that this new file continues (a copy made by copytruncate). */
  async #continuationOf(orphans: _Orphan[], p: _File, fp: string): Promise<_Orphan | undefined> {
    for (const o of orphans) {
      if (o.cursor.fp !== fp || p.size < o.offset) continue;
      if (await this.#tailMatches(o, p)) return o;
    }
    return undefined;
  }

  /** Compares the last bytes read from a truncated original with the copy's bytes at the same place. */
  async #tailMatches(o: _Orphan, p: _File): Promise<boolean> {
    if (!o.tail || o.tail.length === 0) return true;
    const from = o.tailEnd - o.tail.length;
    const to = Math.min(o.tailEnd, p.size);
    if (to <= from) return true;
    const bytes = await this.#peek(p, from, to - from);
    return _equal(bytes, o.tail.subarray(0, to - from));
  }

  /** A live file this new file is a copy of; `"wait"` when that file is being truncated right now. */
  async #copiedFrom(p: _File, fp: string): Promise<_File | null | "wait"> {
    for (const f of this.#files.values()) {
      if (f === p || f.state !== "active" || f.cursor.fp !== fp) continue;
      const prefix = await this.#isPrefixOf(p, f);
      if (prefix === "wait") return "wait";
      if (prefix) return f;
    }
    return null;
  }

  /**
   * Whether a file's content equals the start of another (compared at both
   * ends); `"wait"` when the other shrank since the scan began (copytruncate
   * under way): the next scan sees the truncation and decides.
   */
  async #isPrefixOf(p: _File, f: _File): Promise<boolean | "wait"> {
    const size = p.size;
    if (size === 0 || f.size < size) return false;
    const n = Math.min(size, _TAIL_BYTES);
    const same = _equal(await this.#peek(p, 0, n), await this.#peek(f, 0, n)) &&
      (size <= n || _equal(await this.#peek(p, size - n, n), await this.#peek(f, size - n, n)));
    if (same) return true;
    const now = await f.handle.stat().catch(() => null);
    return now !== null && now.size < f.size ? "wait" : false;
  }

  /** Finds a checkpointed file renamed within its directory (rotated while the source was down). */
  async #findRenamed(
    key: string,
    saved: _Checkpoint,
  ): Promise<{ path: string; handle: Deno.FsFile; size: number } | null> {
    const dir = _dirname(saved.path);
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (!entry.isFile) continue;
        const path = _join(dir, entry.name);
        const st = await Deno.stat(path).catch(() => null);
        if (!st || `${st.dev}:${st.ino}` !== key || st.size <= saved.offset) continue;
        const opened = await this.#open(path);
        if (!opened) return null;
        const head = await _readAt(opened.handle, 0, _FP_BYTES);
        if (saved.fp !== null && (await _fingerprint(head, false)) !== saved.fp) {
          _close(opened.handle);
          return null;
        }
        return { path, handle: opened.handle, size: opened.stat.size };
      }
    } catch {
      // the directory is gone
    }
    return null;
  }

  /** Reads one chunk of a file and emits the lines it completes; returns the bytes read. */
  async #read(f: _File): Promise<number> {
    let n: number | null;
    try {
      n = await f.handle.read(this.#buf);
    } catch (err) {
      this.#ctx.stats.errors++;
      this.#ctx.log.error(`file-tail cannot read "${f.path}"; reopening it`, {
        error: String(err),
      });
      this.#drop(f);
      return 0;
    }
    if (n === null || n === 0) return 0;
    const chunk = this.#buf.subarray(0, n);
    const base = f.pos;
    f.pos += n;
    if (n >= _TAIL_BYTES) {
      f.tail.set(chunk.subarray(n - _TAIL_BYTES));
      f.tailLen = _TAIL_BYTES;
    } else {
      const keep = Math.min(f.tailLen, _TAIL_BYTES - n);
      f.tail.copyWithin(0, f.tailLen - keep, f.tailLen);
      f.tail.set(chunk, keep);
      f.tailLen = keep + n;
    }
    const framed = f.framer.push(chunk);
    const texts: string[] = [];
    const flags: number[] = [];
    const starts: number[] = [];
    let end = f.lineStart;
    if (f.held) {
      const nl = chunk.indexOf(10);
      if (nl < 0) return n;
      texts.push(f.held.text);
      flags.push(f.held.flag);
      starts.push(f.held.start);
      end = base + nl + 1;
      f.held = null;
    }
    const count = framed.lines.length;
    for (let i = 0; i < count; i++) {
      const flag = framed.flags?.[i] ?? 0;
      const lineEnd = framed.ends[i] as number;
      if (
        flag & LINE_TRUNCATED && i === count - 1 && lineEnd === f.pos && chunk[n - 1] !== 10
      ) {
        // Cut before its newline: the framer skips the rest, and the line's true
        // end (where the next line starts) is known only when the newline comes.
        f.held = { text: framed.lines[i] as string, flag, start: end };
        break;
      }
      texts.push(framed.lines[i] as string);
      flags.push(flag);
      starts.push(end);
      end = lineEnd;
    }
    if (texts.length === 0) return n;
    f.lineStart = end;
    if (f.held) f.held.start = end;
    await this.#emit(f, texts, flags, starts, end);
    return n;
  }

  async #emit(
    f: _File,
    texts: string[],
    flags: number[],
    starts: number[],
    end: number,
  ): Promise<void> {
    const ctx = this.#ctx;
    const cursor = f.cursor;
    if (cursor.fp === null) {
      const head = await this.#peek(f, 0, _FP_BYTES);
      cursor.fp = await _fingerprint(head, true);
    }
    const prefix = `${this.#host}:${_identity(cursor)}:`;
    const receivedAt = Date.now();
    const host = this.#host;
    const field = this.#fileField;
    const path = f.path;
    const batch: LogEvent[] = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const fields: Record<string, unknown> = {};
      if (field !== null) fields[field] = path;
      const flag = flags[i] as number;
      if (flag) {
        if (flag & LINE_TRUNCATED) {
          fields["sluice_truncated"] = true;
          ctx.stats.add("truncated_lines");
        }
        if (flag & LINE_INVALID_UTF8) {
          fields["sluice_invalid_utf8"] = true;
          ctx.stats.add("invalid_utf8_lines");
        }
      }
      batch[i] = {
        message: texts[i] as string,
        fields,
        receivedAt,
        host,
        id: prefix + String(starts[i]).padStart(12, "0"),
      };
    }
    ctx.stats.received += batch.length;
    cursor.emitted = end;
    this.#emitting = true;
    try {
      await ctx.emit(batch, () => this.#acked(cursor, end));
    } finally {
      this.#emitting = false;
    }
  }

  #acked(cursor: _Cursor, end: number): void {
    if (end > cursor.acked) cursor.acked = end;
    const f = cursor.holder;
    if (cursor.closed) {
      if (cursor.acked >= cursor.emitted && f) this.#forget(f);
      return;
    }
    if (f && f.cursor === cursor) this.#save(f);
  }

  /** A file that left the path and stayed idle: emits its partial last line, closes it. */
  async #finish(f: _File): Promise<void> {
    const framed = f.framer.flush();
    const texts: string[] = [];
    const flags: number[] = [];
    const starts: number[] = [];
    let end = f.lineStart;
    if (f.held) {
      texts.push(f.held.text);
      flags.push(f.held.flag);
      starts.push(f.held.start);
      end = f.pos;
      f.held = null;
    }
    for (let i = 0; i < framed.lines.length; i++) {
      texts.push(framed.lines[i] as string);
      flags.push(framed.flags?.[i] ?? 0);
      starts.push(end);
      end = framed.ends[i] as number;
    }
    if (texts.length) {
      f.lineStart = end;
      await this.#emit(f, texts, flags, starts, end);
    }
    if (this.#files.get(f.key) !== f) return;
    this.#files.delete(f.key);
    _close(f.handle);
    this.#ctx.stats.add("rotations");
    const cursor = f.cursor;
    cursor.closed = true;
    if (cursor.acked >= cursor.emitted) this.#forget(f);
    else this.#pendingDelete.add(f.key);
    this.#saveIndex();
    this.#ctx.stats.set("files", this.#files.size);
  }

  /** Removes a finished file's checkpoint once everything read from it is acknowledged. */
  #forget(f: _File): void {
    f.cursor.holder = null;
    this.#pendingDelete.delete(f.key);
    if (!this.#files.has(f.key)) {
      this.#ctx.state.delete(f.key);
      this.#saveIndex();
    }
  }

  /** Stops following a file after an error; the next scan opens it again from its checkpoint. */
  #drop(f: _File): void {
    if (this.#files.get(f.key) !== f) return;
    this.#files.delete(f.key);
    _close(f.handle);
    if (f.cursor.holder === f) f.cursor.holder = null;
  }
}

function _cursor(origin: string, fp: string | null, gen: number, acked: number): _Cursor {
  return { origin, fp, gen, acked, emitted: acked, holder: null, closed: false };
}

function _close(handle: Deno.FsFile): void {
  try {
    handle.close();
  } catch {
    // already closed
  }
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
