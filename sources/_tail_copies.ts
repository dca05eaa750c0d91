/**
 * Copytruncate and copies: whether a new file continues a truncated
 * original (it takes over that stream of lines), copies a live file (it
 * waits, parked, until the original is truncated or time runs out), or is
 * a file of its own.
 *
 * @module
 */

import {
  bytesEqual,
  fingerprint,
  FP_BYTES,
  peekTailFile,
  TAIL_BYTES,
  type TailFile,
  type TailOrphan,
} from "./_tail_file.ts";
import type { TailState } from "./_tail_state.ts";

/** Where a new or parked file starts: a stream it takes over, or an offset of its own. */
export interface TailDecision {
  /** The truncated stream this file continues. */
  orphan?: TailOrphan;
  /** Where it starts reading. */
  start: number | "end";
}

/**
 * Decides where a new or parked file starts: `null` keeps it parked, an
 * orphan hands it that stream, a number or `"end"` starts it afresh.
 *
 * @param state The source's state.
 * @param p The parked file.
 * @param orphans The streams a copy may still claim.
 * @returns The decision, or `null` to look again at the next scan.
 *
 * @example
 * ```ts ignore
 * import { decideParked } from "./_tail_copies.ts";
 * declare const state: import("./_tail_state.ts").TailState;
 * declare const parked: import("./_tail_file.ts").TailFile;
 * const d = await decideParked(state, parked, state.orphans);
 * ```
 */
export async function decideParked(
  state: TailState,
  p: TailFile,
  orphans: TailOrphan[],
): Promise<TailDecision | null> {
  const parent = p.parent;
  const wait = state.settings.rotateWaitMs;
  if (parent === null) {
    const fp = await fingerprint(await peekTailFile(p, 0, FP_BYTES), false);
    // No complete first line yet: nothing to read, and it may be a copy being written.
    if (fp === null) return null;
    const orphan = await _continuationOf(orphans, p, fp);
    if (orphan) return { orphan, start: orphan.offset };
    const live = await _copiedFrom(state, p, fp);
    if (live === "wait") return null;
    if (live) {
      p.parent = live;
      p.parkedSize = p.size;
      p.parkedAt = Date.now();
      return null;
    }
    const initial = state.initialKeys.has(p.key);
    return { start: initial && state.settings.startAt === "end" ? "end" : 0 };
  }
  const orphan = orphans.find((o) => o.file === parent);
  if (orphan) {
    if (p.size >= orphan.offset && (await _tailMatches(orphan, p))) {
      return { orphan, start: orphan.offset };
    }
    // A copy of what was read already: nothing in it is unread.
    return { start: p.size };
  }
  if (state.files.get(parent.key) !== parent || parent.state !== "active") {
    return { start: p.size };
  }
  const prefix = await _isPrefixOf(p, parent);
  if (prefix === "wait") return null;
  if (!prefix) return { start: 0 };
  if (p.size !== p.parkedSize) {
    // Still being copied.
    p.parkedSize = p.size;
    p.parkedAt = Date.now();
    return null;
  }
  // A copy whose original was not truncated soon after: a file of its own.
  if (Date.now() - p.parkedAt >= wait) return { start: 0 };
  return null;
}

/** An orphaned stream that this new file continues (a copy made by copytruncate). */
async function _continuationOf(
  orphans: TailOrphan[],
  p: TailFile,
  fp: string,
): Promise<TailOrphan | undefined> {
  for (const o of orphans) {
    if (o.cursor.fp !== fp || p.size < o.offset) continue;
    if (await _tailMatches(o, p)) return o;
  }
  return undefined;
}

/** Compares the last bytes read from a truncated original with the copy's bytes at the same place. */
async function _tailMatches(o: TailOrphan, p: TailFile): Promise<boolean> {
  if (!o.tail || o.tail.length === 0) return true;
  const from = o.tailEnd - o.tail.length;
  const to = Math.min(o.tailEnd, p.size);
  if (to <= from) return true;
  const bytes = await peekTailFile(p, from, to - from);
  return bytesEqual(bytes, o.tail.subarray(0, to - from));
}

/** A live file this new file is a copy of; `"wait"` when that file is being truncated right now. */
async function _copiedFrom(
  state: TailState,
  p: TailFile,
  fp: string,
): Promise<TailFile | null | "wait"> {
  for (const f of state.files.values()) {
    if (f === p || f.state !== "active" || f.cursor.fp !== fp) continue;
    const prefix = await _isPrefixOf(p, f);
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
async function _isPrefixOf(p: TailFile, f: TailFile): Promise<boolean | "wait"> {
  const size = p.size;
  if (size === 0 || f.size < size) return false;
  const n = Math.min(size, TAIL_BYTES);
  const same = bytesEqual(await peekTailFile(p, 0, n), await peekTailFile(f, 0, n)) &&
    (size <= n ||
      bytesEqual(await peekTailFile(p, size - n, n), await peekTailFile(f, size - n, n)));
  if (same) return true;
  const now = await f.handle.stat().catch(() => null);
  return now !== null && now.size < f.size ? "wait" : false;
}
