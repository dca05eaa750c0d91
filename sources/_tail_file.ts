/**
 * What the file-tail source knows of each followed file: its checkpoint,
 * the cursor of its stream of lines, its reading position, and the few
 * byte-level operations on it (fingerprints, reads at an offset, seeks).
 *
 * @module
 */

import type { LineFramer } from "../core/framing.ts";

/** Bytes of a file's first line that fingerprint it. */
export const FP_BYTES = 1024;
/** Bytes kept from the end of what was read, to recognise a copy of a file. */
export const TAIL_BYTES = 4096;

/** The checkpoint of one file, stored under its `dev:inode`. */
export interface TailCheckpoint {
  /** The path the file had when last seen. */
  path: string;
  /** `dev:inode` of the file the line offsets belong to (a copy inherits its original's). */
  origin: string;
  /** Fingerprint of the first line (up to {@linkcode FP_BYTES}); `null` while the file has none. */
  fp: string | null;
  /** How many times this file was truncated and refilled. */
  gen: number;
  /** Offset just past the last acknowledged line. */
  offset: number;
}

/** The identity of a stream of lines and how far it is acknowledged. */
export interface TailCursor {
  /** `dev:inode` of the file the offsets belong to. */
  origin: string;
  /** Fingerprint of the first line; `null` until known. */
  fp: string | null;
  /** Truncations so far. */
  gen: number;
  /** Offset past the last acknowledged line. */
  acked: number;
  /** Offset past the last emitted line. */
  emitted: number;
  /** The file whose checkpoint this cursor writes; `null` once dropped. */
  holder: TailFile | null;
  /** The file was finished: its checkpoint is removed once everything is acknowledged. */
  closed: boolean;
}

/** An over-long line cut before its newline. */
export interface TailHeld {
  /** The line's text, as cut. */
  text: string;
  /** Its framing flags. */
  flag: number;
  /** Where it starts. */
  start: number;
}

/** A followed file. */
export interface TailFile {
  /** `dev:inode`. */
  key: string;
  /** Its path when last seen. */
  path: string;
  /** The open handle. */
  handle: Deno.FsFile;
  /** The stream of lines it writes the checkpoint of. */
  cursor: TailCursor;
  /** Frames its bytes into lines. */
  framer: LineFramer;
  /** Next byte to read (the handle's position). */
  pos: number;
  /** Start of the next line to emit. */
  lineStart: number;
  /** An over-long line whose newline has not been seen yet: its true end is unknown. */
  held: TailHeld | null;
  /** The last bytes read, ending at `pos` (to recognise a copy of this file). */
  tail: Uint8Array;
  /** Bytes of `tail` in use. */
  tailLen: number;
  /** Its size at the last look. */
  size: number;
  /** Followed, renamed away and being finished, or a new file not decided yet. */
  state: "active" | "draining" | "parked";
  /** For a parked copy: the live file it copies. */
  parent: TailFile | null;
  /** A parked file's size at the last look. */
  parkedSize: number;
  /** When a parked copy last grew. */
  parkedAt: number;
  /** Draining: when the file was first seen at its end without growth (0: not yet). */
  eofAt: number;
  /** Draining: its end was reached once. */
  reachedEof: boolean;
  /** A file renamed away from this file's path, to finish first. */
  waitFor: TailFile | null;
}

/** A stream of lines whose file was truncated or replaced; a copy of it may take it over. */
export interface TailOrphan {
  /** The stream. */
  cursor: TailCursor;
  /** Where the copy must continue. */
  offset: number;
  /** The original, when it is still open. */
  file: TailFile | null;
  /** The last bytes read from the original, ending at `tailEnd` (a copy must hold the same). */
  tail: Uint8Array | null;
  /** Where `tail` ends. */
  tailEnd: number;
  /** When a copy can no longer claim it. */
  expires: number;
}

// Web Crypto rather than node:crypto: the same SHA-256 without loading Node's
// compatibility layer, which costs a VM several MB of resident memory.
async function _hash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  let hex = "";
  for (let i = 0; i < 6; i++) hex += (digest[i] as number).toString(16).padStart(2, "0");
  return hex;
}

/**
 * Fingerprints the first line of a file (at most {@linkcode FP_BYTES}).
 * Once the first line is complete these bytes never change in an
 * append-only file, so the fingerprint, and with it every event id, is the
 * same whenever it is computed.
 *
 * @param head The file's first bytes.
 * @param final Whether a first line without its newline counts (the file is done).
 * @returns 12 hex digits, or `null` while the first line is incomplete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fingerprint } from "./_tail_file.ts";
 * const bytes = new TextEncoder().encode("first\nsecond");
 * assert.equal((await fingerprint(bytes, false))?.length, 12);
 * assert.equal(await fingerprint(bytes.subarray(0, 3), false), null);
 * ```
 */
export async function fingerprint(head: Uint8Array, final: boolean): Promise<string | null> {
  const nl = head.indexOf(10);
  let n: number;
  if (nl >= 0 && nl < FP_BYTES) n = nl + 1;
  else if (head.length >= FP_BYTES) n = FP_BYTES;
  else if (final && head.length > 0) n = head.length;
  else return null;
  return await _hash(head.subarray(0, n));
}

/**
 * A new cursor, acknowledged (and emitted) up to `acked`.
 *
 * @param origin `dev:inode` of the file the offsets belong to.
 * @param fp Its first line's fingerprint, `null` when unknown.
 * @param gen Truncations so far.
 * @param acked Offset past the last acknowledged line.
 * @returns The cursor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newCursor } from "./_tail_file.ts";
 * assert.equal(newCursor("8:12", null, 0, 100).emitted, 100);
 * ```
 */
export function newCursor(
  origin: string,
  fp: string | null,
  gen: number,
  acked: number,
): TailCursor {
  return { origin, fp, gen, acked, emitted: acked, holder: null, closed: false };
}

/**
 * The part of an event id that names a cursor's stream.
 *
 * @param c The cursor.
 * @returns `origin:fp`, with `.gen` after a truncation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cursorIdentity, newCursor } from "./_tail_file.ts";
 * assert.equal(cursorIdentity(newCursor("8:12", "abc", 1, 0)), "8:12:abc.1");
 * ```
 */
export function cursorIdentity(c: TailCursor): string {
  return c.gen ? `${c.origin}:${c.fp}.${c.gen}` : `${c.origin}:${c.fp}`;
}

/**
 * Whether a value read from the state store is a checkpoint.
 *
 * @param value The stored value.
 * @returns Whether it has every field, well typed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isTailCheckpoint } from "./_tail_file.ts";
 * assert.equal(isTailCheckpoint({ path: "/a", origin: "1:2", fp: null, gen: 0, offset: 5 }), true);
 * assert.equal(isTailCheckpoint({ path: "/a", offset: -1 }), false);
 * ```
 */
export function isTailCheckpoint(value: unknown): value is TailCheckpoint {
  if (!value || typeof value !== "object") return false;
  const c = value as Record<string, unknown>;
  return typeof c.path === "string" && typeof c.origin === "string" &&
    (c.fp === null || typeof c.fp === "string") && Number.isInteger(c.gen) &&
    Number.isInteger(c.offset) && (c.offset as number) >= 0;
}

/**
 * Whether two byte arrays hold the same bytes.
 *
 * @param a One.
 * @param b The other.
 * @returns Whether they are equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesEqual } from "./_tail_file.ts";
 * assert.equal(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reads up to `length` bytes at `offset`; the caller restores the handle's
 * position.
 *
 * @param file An open file.
 * @param offset Where to read.
 * @param length How much at most.
 * @returns The bytes (fewer at the end of the file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readAt } from "./_tail_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello");
 * using file = await Deno.open(path);
 * assert.equal(new TextDecoder().decode(await readAt(file, 1, 10)), "ello");
 * await Deno.remove(path);
 * ```
 */
export async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
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

/**
 * The offset just past the last newline of a file, for `startAt: "end"`.
 *
 * @param file An open file.
 * @param size Its size.
 * @param window How far back from the end to look.
 * @returns The offset (the size when no newline is within the window).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lastLineEnd } from "./_tail_file.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "a\nb\npartial");
 * using file = await Deno.open(path);
 * assert.equal(await lastLineEnd(file, 11, 1024), 4);
 * await Deno.remove(path);
 * ```
 */
export async function lastLineEnd(
  file: Deno.FsFile,
  size: number,
  window: number,
): Promise<number> {
  if (size === 0) return 0;
  const from = Math.max(0, size - window);
  const bytes = await readAt(file, from, size - from);
  const nl = bytes.lastIndexOf(10);
  if (nl >= 0) return from + nl + 1;
  return from === 0 ? 0 : size;
}

/**
 * Closes a handle that may be closed already.
 *
 * @param handle The handle.
 *
 * @example
 * ```ts
 * import { closeQuietly } from "./_tail_file.ts";
 * const file = await Deno.open(Deno.execPath());
 * closeQuietly(file);
 * closeQuietly(file); // no error
 * ```
 */
export function closeQuietly(handle: Deno.FsFile): void {
  try {
    handle.close();
  } catch {
    // already closed
  }
}

/**
 * Reads bytes of a followed file without moving its reading position.
 *
 * @param f The file.
 * @param offset Where to read.
 * @param length How much at most.
 * @returns The bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { peekTailFile, type TailFile } from "./_tail_file.ts";
 * const file = await Deno.open(Deno.execPath());
 * const f = { handle: file, pos: 0 } as TailFile;
 * assert.equal((await peekTailFile(f, 0, 4)).length, 4);
 * file.close();
 * ```
 */
export async function peekTailFile(
  f: TailFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  try {
    return await readAt(f.handle, offset, length);
  } finally {
    await f.handle.seek(f.pos, Deno.SeekMode.Start);
  }
}
