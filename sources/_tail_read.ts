/**
 * Reading a followed file: a chunk at a time, framed into lines, each
 * batch emitted with ids from the file's stream and its line offsets; the
 * checkpoint moves when the batch is acknowledged. A file that left the
 * path is finished: its partial last line goes out, then it is closed.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { LINE_INVALID_UTF8, LINE_TRUNCATED } from "../core/framing.ts";
import {
  closeQuietly,
  cursorIdentity,
  fingerprint,
  FP_BYTES,
  peekTailFile,
  TAIL_BYTES,
  type TailCursor,
  type TailFile,
} from "./_tail_file.ts";
import type { TailState } from "./_tail_state.ts";

/** Lines ready to emit: texts, framing flags, start offsets, and the offset past the last. */
interface _Lines {
  texts: string[];
  flags: number[];
  starts: number[];
  end: number;
}

/**
 * Reads one chunk of a file into `buf` and emits the lines it completes.
 * A read error drops the file (the next scan reopens it from its
 * checkpoint), counted and logged.
 *
 * @param state The source's state.
 * @param f The file.
 * @param buf The read buffer.
 * @returns The bytes read (0 at the end of the file).
 *
 * @example
 * ```ts ignore
 * import { readTailFile } from "./_tail_read.ts";
 * declare const state: import("./_tail_state.ts").TailState;
 * declare const f: import("./_tail_file.ts").TailFile;
 * const n = await readTailFile(state, f, new Uint8Array(262144));
 * ```
 */
export async function readTailFile(
  state: TailState,
  f: TailFile,
  buf: Uint8Array,
): Promise<number> {
  let n: number | null;
  try {
    n = await f.handle.read(buf);
  } catch (err) {
    state.ctx.stats.errors++;
    state.ctx.log.error(`file-tail cannot read "${f.path}"; reopening it`, {
      error: String(err),
    });
    state.drop(f);
    return 0;
  }
  if (n === null || n === 0) return 0;
  const chunk = buf.subarray(0, n);
  const base = f.pos;
  f.pos += n;
  _keepTail(f, chunk);
  const framed = f.framer.push(chunk);
  const lines: _Lines = { texts: [], flags: [], starts: [], end: f.lineStart };
  if (f.held) {
    const nl = chunk.indexOf(10);
    if (nl < 0) return n;
    lines.texts.push(f.held.text);
    lines.flags.push(f.held.flag);
    lines.starts.push(f.held.start);
    lines.end = base + nl + 1;
    f.held = null;
  }
  const count = framed.lines.length;
  for (let i = 0; i < count; i++) {
    const flag = framed.flags?.[i] ?? 0;
    const lineEnd = framed.ends[i] as number;
    if (flag & LINE_TRUNCATED && i === count - 1 && lineEnd === f.pos && chunk[n - 1] !== 10) {
      // Cut before its newline: the framer skips the rest, and the line's true
      // end (where the next line starts) is known only when the newline comes.
      f.held = { text: framed.lines[i] as string, flag, start: lines.end };
      break;
    }
    lines.texts.push(framed.lines[i] as string);
    lines.flags.push(flag);
    lines.starts.push(lines.end);
    lines.end = lineEnd;
  }
  if (lines.texts.length === 0) return n;
  f.lineStart = lines.end;
  if (f.held) f.held.start = lines.end;
  await _emit(state, f, lines);
  return n;
}

/**
 * A file that left the path and stayed idle: emits its partial last line,
 * closes it, and removes its checkpoint once all of it is acknowledged.
 *
 * @param state The source's state.
 * @param f The draining file.
 *
 * @example
 * ```ts ignore
 * import { finishTailFile } from "./_tail_read.ts";
 * declare const state: import("./_tail_state.ts").TailState;
 * declare const f: import("./_tail_file.ts").TailFile;
 * await finishTailFile(state, f);
 * ```
 */
export async function finishTailFile(state: TailState, f: TailFile): Promise<void> {
  const framed = f.framer.flush();
  const lines: _Lines = { texts: [], flags: [], starts: [], end: f.lineStart };
  if (f.held) {
    lines.texts.push(f.held.text);
    lines.flags.push(f.held.flag);
    lines.starts.push(f.held.start);
    lines.end = f.pos;
    f.held = null;
  }
  for (let i = 0; i < framed.lines.length; i++) {
    lines.texts.push(framed.lines[i] as string);
    lines.flags.push(framed.flags?.[i] ?? 0);
    lines.starts.push(lines.end);
    lines.end = framed.ends[i] as number;
  }
  if (lines.texts.length) {
    f.lineStart = lines.end;
    await _emit(state, f, lines);
  }
  if (state.files.get(f.key) !== f) return;
  state.files.delete(f.key);
  closeQuietly(f.handle);
  state.ctx.stats.add("rotations");
  const cursor = f.cursor;
  cursor.closed = true;
  if (cursor.acked >= cursor.emitted) state.forget(f);
  else state.pendingDelete.add(f.key);
  state.saveIndex();
  state.ctx.stats.set("files", state.files.size);
}

/** Keeps the last {@linkcode TAIL_BYTES} read, to recognise a copy of the file. */
function _keepTail(f: TailFile, chunk: Uint8Array): void {
  const n = chunk.length;
  if (n >= TAIL_BYTES) {
    f.tail.set(chunk.subarray(n - TAIL_BYTES));
    f.tailLen = TAIL_BYTES;
  } else {
    const keep = Math.min(f.tailLen, TAIL_BYTES - n);
    f.tail.copyWithin(0, f.tailLen - keep, f.tailLen);
    f.tail.set(chunk, keep);
    f.tailLen = keep + n;
  }
}

async function _emit(state: TailState, f: TailFile, lines: _Lines): Promise<void> {
  const ctx = state.ctx;
  const cursor = f.cursor;
  if (cursor.fp === null) {
    const head = await peekTailFile(f, 0, FP_BYTES);
    cursor.fp = await fingerprint(head, true);
  }
  const { host, fileField: field } = state.settings;
  const prefix = `${host}:${cursorIdentity(cursor)}:`;
  const receivedAt = Date.now();
  const path = f.path;
  const { texts, flags, starts, end } = lines;
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
  state.emitting = true;
  try {
    await ctx.emit(batch, () => _acked(state, cursor, end));
  } finally {
    state.emitting = false;
  }
}

function _acked(state: TailState, cursor: TailCursor, end: number): void {
  if (end > cursor.acked) cursor.acked = end;
  const f = cursor.holder;
  if (cursor.closed) {
    if (cursor.acked >= cursor.emitted && f) state.forget(f);
    return;
  }
  if (f && f.cursor === cursor) state.save(f);
}
