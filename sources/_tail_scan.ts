/**
 * One look at every file the file-tail source follows or could follow:
 * new files, files renamed away, truncations (a shrink, or a first line
 * that changed) and copies, and where each new file starts.
 *
 * @module
 */

import { decideParked } from "./_tail_copies.ts";
import {
  closeQuietly,
  fingerprint,
  FP_BYTES,
  isTailCheckpoint,
  lastLineEnd,
  newCursor,
  peekTailFile,
  readAt,
  type TailCheckpoint,
  type TailFile,
} from "./_tail_file.ts";
import { dirnameOf, expandGlob, joinPath } from "./_tail_glob.ts";
import type { TailState } from "./_tail_state.ts";

interface _Fresh {
  key: string;
  path: string;
  handle: Deno.FsFile;
  size: number;
  fp: string | null;
}

/** A file to (re)position; `inherit`: the cursor has lines in flight, keep its acknowledged offset. */
interface _Ready {
  f: TailFile;
  start: number | "end";
  inherit?: boolean;
}

/**
 * Looks at every matching file: notices new files, files renamed away,
 * truncations and copies, decides where each new file starts, and saves
 * the checkpoints that changed. The first scan (`initial`) also resumes
 * checkpointed files that left the path while the source was down.
 *
 * @param state The source's state.
 * @param initial Whether this is the first scan since start.
 *
 * @example
 * ```ts ignore
 * import { scanTail } from "./_tail_scan.ts";
 * declare const state: import("./_tail_state.ts").TailState;
 * await scanTail(state, true);
 * ```
 */
export async function scanTail(state: TailState, initial: boolean): Promise<void> {
  const ctx = state.ctx;
  const { pollMs, rotateWaitMs } = state.settings;
  const seen = new Map<string, { path: string; size: number }>();
  for (const path of await expandGlob(state.settings.glob)) {
    try {
      const st = await Deno.stat(path);
      if (!st.isFile || st.dev === null || st.ino === null) continue;
      const key = `${st.dev}:${st.ino}`;
      if (!seen.has(key)) seen.set(key, { path, size: st.size });
    } catch {
      // vanished between listing and stat
    }
  }
  if (state.stopped) return;

  // 1. Files already open: renamed away, grown, truncated?
  const now = Date.now();
  state.orphans = state.orphans.filter((o) => o.expires > now);
  const orphans = state.orphans;
  const expires = now + rotateWaitMs + 2 * pollMs;
  const truncated: TailFile[] = [];
  for (const f of [...state.files.values()]) {
    const hit = seen.get(f.key);
    if (f.state === "parked" && !hit) {
      // A copy that went away before its original was truncated held nothing unread.
      state.drop(f);
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
      const fp = await fingerprint(await peekTailFile(f, 0, FP_BYTES), false);
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
  const checkpoints = initial ? state.checkpoints() : null;
  const fresh: _Fresh[] = [];
  for (const [key, hit] of seen) {
    if (state.files.has(key)) continue;
    const opened = await state.open(hit.path);
    if (!opened) continue;
    const st = opened.stat;
    const realKey = `${st.dev}:${st.ino}`;
    if (state.files.has(realKey)) {
      closeQuietly(opened.handle);
      continue;
    }
    const head = await readAt(opened.handle, 0, FP_BYTES);
    fresh.push({
      key: realKey,
      path: hit.path,
      handle: opened.handle,
      size: st.size,
      fp: await fingerprint(head, false),
    });
  }
  const ready: _Ready[] = [];
  const unmatched: _Fresh[] = [];
  for (const n of fresh) {
    const saved = ctx.state.get(n.key);
    if (!isTailCheckpoint(saved)) {
      unmatched.push(n);
      continue;
    }
    checkpoints?.delete(n.key);
    const same = saved.fp === null
      ? n.size >= saved.offset
      : saved.fp === n.fp && n.size >= saved.offset;
    if (same) {
      const cursor = newCursor(saved.origin, saved.fp, saved.gen, saved.offset);
      ready.push({
        f: state.newFile(n.key, n.path, n.handle, n.size, cursor),
        start: saved.offset,
      });
    } else {
      // Truncated or replaced while nobody watched: a copy may hold the rest.
      orphans.push({
        cursor: newCursor(saved.origin, saved.fp, saved.gen, saved.offset),
        offset: saved.offset,
        file: null,
        tail: null,
        tailEnd: 0,
        expires,
      });
      const cursor = newCursor(n.key, null, saved.gen + 1, 0);
      ctx.stats.add("truncations");
      ready.push({ f: state.newFile(n.key, n.path, n.handle, n.size, cursor), start: 0 });
    }
  }
  for (const n of unmatched) {
    // Undecided until classified below: a new file may be a copy in the making.
    const f = state.newFile(n.key, n.path, n.handle, n.size, newCursor(n.key, null, 0, 0));
    f.state = "parked";
    f.parkedAt = Date.now();
    state.files.set(f.key, f);
    if (initial) state.initialKeys.add(f.key);
  }

  // 3. New and parked files: a copy that continues a truncated original, a copy
  // of a live file (parked until its original is truncated), or a file of its own.
  for (const p of [...state.files.values()]) {
    if (p.state !== "parked") continue;
    const d = await decideParked(state, p, orphans);
    if (d === null) continue;
    p.state = "active";
    p.parent = null;
    if (d.orphan) {
      orphans.splice(orphans.indexOf(d.orphan), 1);
      p.cursor = d.orphan.cursor;
      p.cursor.holder = p;
      ready.push({ f: p, start: d.orphan.offset, inherit: true });
    } else {
      p.cursor = newCursor(p.key, null, 0, 0);
      p.cursor.holder = p;
      ready.push({ f: p, start: d.start });
    }
    state.initialKeys.delete(p.key);
  }

  // 4. Truncated originals start over.
  for (const f of truncated) {
    const old = f.cursor;
    if (old.holder === f) old.holder = null;
    f.cursor = newCursor(f.key, null, old.gen + 1, 0);
    f.cursor.holder = f;
    ctx.stats.add("truncations");
    ctx.log.info(`"${f.path}" was truncated; reading it again from the start`);
    await state.seek(f, 0);
    state.save(f);
  }

  for (const { f, start, inherit } of ready) {
    let offset = start;
    if (offset === "end") offset = await lastLineEnd(f.handle, f.size, state.settings.maxLine);
    await state.seek(f, offset);
    if (!inherit) f.cursor.acked = offset;
    for (const d of state.files.values()) {
      if (d.state === "draining" && d.path === f.path && d !== f) f.waitFor = d;
    }
    state.files.set(f.key, f);
    state.save(f);
  }

  // 5. At start, checkpoints of files that left the path: finish them if they still exist.
  if (checkpoints) {
    for (const [key, saved] of checkpoints) {
      if (state.files.has(key)) continue;
      const found = await _findRenamed(state, key, saved);
      if (!found) {
        ctx.state.delete(key);
        continue;
      }
      const cursor = newCursor(saved.origin, saved.fp, saved.gen, saved.offset);
      const f = state.newFile(key, found.path, found.handle, found.size, cursor);
      f.state = "draining";
      await state.seek(f, saved.offset);
      state.files.set(key, f);
      state.save(f);
    }
  }
  state.saveIndex();
  ctx.stats.set("files", state.files.size);
}

/** Finds a checkpointed file renamed within its directory (rotated while the source was down). */
async function _findRenamed(
  state: TailState,
  key: string,
  saved: TailCheckpoint,
): Promise<{ path: string; handle: Deno.FsFile; size: number } | null> {
  const dir = dirnameOf(saved.path);
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const path = joinPath(dir, entry.name);
      const st = await Deno.stat(path).catch(() => null);
      if (!st || `${st.dev}:${st.ino}` !== key || st.size <= saved.offset) continue;
      const opened = await state.open(path);
      if (!opened) return null;
      const head = await readAt(opened.handle, 0, FP_BYTES);
      if (saved.fp !== null && (await fingerprint(head, false)) !== saved.fp) {
        closeQuietly(opened.handle);
        return null;
      }
      return { path, handle: opened.handle, size: opened.stat.size };
    }
  } catch {
    // the directory is gone
  }
  return null;
}
