/**
 * The JSONL sink's memory of what it already wrote, so a replayed event
 * (a VM restarted from its last checkpoint, a RELP batch resent after the
 * central died before acknowledging it) is not appended a second time.
 *
 * Event ids of replayable sources grow with their position:
 * `vm1:<file identity>:000000001234` (file tail), `vm1:journald:<seq id>:<seqnum>`,
 * `heartbeat:vm1:<ms>`. The sink keeps, per origin (the id without that
 * number), the highest number written: a high-water mark. An event at or below
 * its origin's mark was written before and is skipped.
 *
 * Durability without a write per batch: the marks and the size of every file
 * written are saved in the sink's state (`ctx.state`, written atomically about
 * once a second). After a crash, the lines appended after the last save are
 * read back from the files themselves (their `ID`), so a crash between a line
 * and its mark duplicates nothing. A torn last line (a write cut by the crash)
 * is cut off: its event was never acknowledged and comes again. A file the
 * saved state does not know (state lost, a file made after the last save) is
 * read back from its last `recoverBytes` when first opened.
 *
 * @module
 */

import type { ComponentStats } from "../core/stats.ts";
import type { StateStore } from "../core/state.ts";
import { checkVersion } from "../core/_state_version.ts";

/** The state key the marks are saved under. */
const _KEY = "jsonl_marks";

/** A sequence number: the last id component of at least 12 hex digits. */
const _MIN_SEQ = 12;

/** One batch's marks, applied once it is written. */
export interface MarksBatch {
  /** Highest number per origin in the batch. */
  pending: Map<string, string>;
  /** Ids let through so far. */
  accepted: string[];
  /** The same as a set, made when an origin goes backwards within the batch. */
  ids: Set<string> | undefined;
}

interface _Saved {
  v: 1;
  marks: Record<string, string>;
  files: Record<string, { ino: number | null; size: number }>;
}

/** The highest of two sequence numbers (equal-length digit strings compare as text). */
function _greater(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

function _isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

/** Origins' patterns kept at most (a central hears a few senders; past this all are forgotten). */
const _MAX_PATTERNS = 256;

/**
 * A pattern matching `origin` (ending with `:`) followed by at least
 * `_MIN_SEQ` lowercase hex digits and nothing else: for an id it matches,
 * `splitId(id)` is `[origin, the digits]`, without splitting. One regular
 * expression test is 3–5 times cheaper than comparing the prefix and the
 * digits by `charCodeAt` on the sliced strings a RELP source's ids are
 * (~60 against ~260 ns an id; five JSONL sinks check every event).
 */
function _originPattern(origin: string): RegExp {
  const literal = origin.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  return new RegExp(`^${literal}[0-9a-f]{${_MIN_SEQ},}$`);
}

/**
 * Splits an id into its origin and sequence number: the last `:`-separated
 * component of at least 12 lowercase hex digits is the number, the rest (with
 * a marker where the number was) the origin. `undefined` when there is none.
 *
 * @param id An event id.
 * @returns The origin and the number, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitId } from "./_jsonl_dedup.ts";
 * assert.deepEqual(splitId("vm1:ab:000000001234"), ["vm1:ab:", "000000001234"]);
 * assert.deepEqual(splitId("vm1:ab:000000001234:rule"), ["vm1:ab:#:rule", "000000001234"]);
 * assert.equal(splitId("vm1:42"), undefined);
 * ```
 */
export function splitId(id: string): [origin: string, seq: string] | undefined {
  let end = id.length;
  while (end > 0) {
    const start = id.lastIndexOf(":", end - 1) + 1;
    if (end - start >= _MIN_SEQ) {
      let hex = true;
      for (let i = start; i < end; i++) {
        if (!_isHex(id.charCodeAt(i))) {
          hex = false;
          break;
        }
      }
      if (hex) {
        const seq = id.slice(start, end);
        return [
          end === id.length ? id.slice(0, start) : `${id.slice(0, start)}#${id.slice(end)}`,
          seq,
        ];
      }
    }
    end = start - 1;
  }
  return undefined;
}

/** High-water marks of one JSONL sink, saved in its state and recovered from its files. */
export class JsonlMarks {
  #marks = new Map<string, string>();
  #files = new Map<string, { ino: number | null; size: number }>();
  /** Files read back (or known current) in this process. */
  #recovered = new Set<string>();
  #maxOrigins: number;
  #maxFiles: number;
  #recoverBytes: number;
  #stats: ComponentStats | undefined;
  #state: StateStore | undefined;
  #changed = false;
  /** The origin of the last id split when it ends with `:`, and its pattern (see {@linkcode _originPattern}). */
  #origin = "";
  #pattern: RegExp | undefined;
  #patterns = new Map<string, RegExp>();

  constructor(options: { maxOrigins: number; recoverBytes: number; maxFiles?: number }) {
    this.#maxOrigins = options.maxOrigins;
    this.#recoverBytes = options.recoverBytes;
    this.#maxFiles = options.maxFiles ?? 4096;
  }

  /** Whether {@linkcode JsonlMarks.recover} has run for a file (or the file is known current). */
  ready(path: string): boolean {
    return this.#recovered.has(path);
  }

  /** Loads the saved marks and reads back what the saved files gained since. */
  async open(state: StateStore, stats: ComponentStats): Promise<void> {
    this.#state = state;
    this.#stats = stats;
    const saved = state.get<_Saved>(_KEY);
    // Marks of a newer format are not dropped and overwritten: the sink stops (a downgrade).
    if (typeof saved?.v === "number") {
      checkVersion(`jsonlSink ${stats.name}`, `${_KEY} in its state`, saved.v, 1, "marks format");
    }
    if (saved?.v !== 1) return;
    for (const [origin, seq] of Object.entries(saved.marks ?? {})) {
      if (typeof seq === "string") this.#marks.set(origin, seq);
    }
    for (const [path, file] of Object.entries(saved.files ?? {})) {
      this.#files.set(path, file);
      await this.recover(path);
    }
  }

  /**
   * Reads back a file's lines written after the last save (or its last
   * `recoverBytes` when the save does not know it), once per process.
   */
  async recover(path: string): Promise<void> {
    if (this.#recovered.has(path)) return;
    this.#recovered.add(path);
    const known = this.#files.get(path);
    let stat: Deno.FileInfo;
    try {
      stat = await Deno.stat(path);
    } catch {
      return;
    }
    if (known && known.ino !== null && stat.ino !== null && known.ino !== stat.ino) {
      // Rotated after the save: the lines written since then are in `.1` past the saved
      // size, and in the new file.
      const rotated = await Deno.stat(`${path}.1`).catch(() => undefined);
      if (rotated?.ino === known.ino) await this.#scan(`${path}.1`, known.size, false, true);
      await this.#scan(path, 0, true, true);
      return;
    }
    if (known && known.size <= stat.size) await this.#scan(path, known.size, true, true);
    else await this.#scan(path, Math.max(0, stat.size - this.#recoverBytes), true, false);
  }

  /** Reads ids back from `from` on; `exact` when `from` is a line start. */
  async #scan(path: string, from: number, cutTorn: boolean, exact: boolean): Promise<void> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: cutTorn });
    } catch {
      return;
    }
    try {
      const size = (await file.stat()).size;
      if (size <= from) return;
      await file.seek(from, Deno.SeekMode.Start);
      const bytes = new Uint8Array(size - from);
      let at = 0;
      while (at < bytes.length) {
        const n = await file.read(bytes.subarray(at));
        if (n === null) break;
        at += n;
      }
      let end = at;
      if (end > 0 && bytes[end - 1] !== 10) {
        const nl = bytes.lastIndexOf(10, end - 1);
        end = nl + 1;
        if (cutTorn && (exact || nl >= 0)) {
          // A line the crash cut: never acknowledged, so it comes again whole.
          await file.truncate(from + end);
          this.#stats?.add("torn_lines_cut");
        }
      }
      // A read from the middle of a file starts inside a line: skip to the next one.
      let start = 0;
      if (from > 0 && !exact) start = bytes.indexOf(10) + 1;
      const text = new TextDecoder().decode(bytes.subarray(start, end));
      let read = 0;
      for (const line of text.split("\n")) {
        if (line === "") continue;
        let id: unknown;
        try {
          id = (JSON.parse(line) as { ID?: unknown }).ID;
        } catch {
          continue;
        }
        if (typeof id !== "string") continue;
        const split = splitId(id);
        if (!split) continue;
        const mark = this.#marks.get(split[0]);
        if (mark === undefined || _greater(split[1], mark)) this.#marks.set(split[0], split[1]);
        read++;
      }
      if (read) {
        this.#stats?.add("marks_recovered", read);
        this.#changed = true;
      }
    } finally {
      file.close();
    }
  }

  /** Starts a batch: its marks apply with {@linkcode JsonlMarks.commit} once it is written. */
  begin(): MarksBatch {
    return { pending: new Map(), accepted: [], ids: undefined };
  }

  /** Whether an event with this id was written before, or earlier in this batch. */
  seen(id: string | undefined, batch: MarksBatch): boolean {
    if (id === undefined) return false;
    let origin = this.#origin;
    let seq: string;
    if (this.#pattern !== undefined && this.#pattern.test(id)) {
      // What splitId would give: the ids of one sender share their origin, whose string is reused.
      seq = id.slice(origin.length);
    } else {
      const split = splitId(id);
      if (!split) return false;
      [origin, seq] = split;
      if (origin.endsWith(":")) this.#follow(origin);
    }
    const mark = this.#marks.get(origin);
    if (mark !== undefined && !_greater(seq, mark)) return true;
    const batchMark = batch.pending.get(origin);
    if (batchMark === undefined || _greater(seq, batchMark)) {
      batch.pending.set(origin, seq);
      batch.accepted.push(id);
      batch.ids?.add(id);
      return false;
    }
    // Out of order within the batch (a resend queued behind the original): compare whole ids.
    batch.ids ??= new Set(batch.accepted);
    if (batch.ids.has(id)) return true;
    batch.ids.add(id);
    batch.accepted.push(id);
    return false;
  }

  /** Makes `origin` the one tried first; its pattern is made once and kept. */
  #follow(origin: string): void {
    let pattern = this.#patterns.get(origin);
    if (pattern === undefined) {
      if (this.#patterns.size >= _MAX_PATTERNS) this.#patterns.clear();
      pattern = _originPattern(origin);
      this.#patterns.set(origin, pattern);
    }
    this.#origin = origin;
    this.#pattern = pattern;
  }

  /** Applies a written batch's marks. */
  commit(batch: MarksBatch): void {
    if (batch.pending.size === 0) return;
    for (const [origin, seq] of batch.pending) {
      const mark = this.#marks.get(origin);
      if (mark !== undefined && !_greater(seq, mark)) continue;
      // Re-inserted at the end: the origins least recently written go first when over the cap.
      this.#marks.delete(origin);
      this.#marks.set(origin, seq);
    }
    while (this.#marks.size > this.#maxOrigins) {
      this.#marks.delete(this.#marks.keys().next().value as string);
      this.#stats?.add("marks_evicted");
    }
    this.#changed = true;
  }

  /** Notes a file's identity and size after writing to it (or opening it). */
  file(path: string, ino: number | null, size: number): void {
    this.#recovered.add(path);
    const known = this.#files.get(path);
    if (known && known.ino === ino && known.size === size) return;
    this.#files.delete(path);
    this.#files.set(path, { ino, size });
    while (this.#files.size > this.#maxFiles) {
      this.#files.delete(this.#files.keys().next().value as string);
    }
    this.#changed = true;
  }

  /** Saves marks and file sizes in the state (written within its flush interval). */
  save(): void {
    if (!this.#changed || !this.#state) return;
    this.#changed = false;
    const saved: _Saved = {
      v: 1,
      marks: Object.fromEntries(this.#marks),
      files: Object.fromEntries(this.#files),
    };
    this.#state.set(_KEY, saved);
  }

  /** Saves and writes the state now (at close). */
  async flush(): Promise<void> {
    this.save();
    await this.#state?.flush();
  }
}
