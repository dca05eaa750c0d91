/**
 * The alerts page's rows across the database and the Parquet archive: when
 * a filter's time range reaches days the archive holds (rows `--retain-db`
 * moved out), the archived alerts of the same filter are read through the
 * reader `sluice query … --archive` uses (archive/read.ts, DuckDB loaded only
 * then) and merged with the database's, newest first. Paging is keyset over
 * both: the cursor holds the store's own cursor for the database side and
 * the (time, row id) of the last row shown for the archive side.
 *
 * @module
 */

import {
  archivedAlerts,
  type ArchiveKey,
  compareNewestFirst,
  mergeNewestFirst,
} from "../archive/read.ts";
import { _b64, _unb64, alertCursor } from "../store/cursor.ts";
import type { AlertFilter, AlertPage, AlertRow, SiemStore } from "../store/types.ts";

/** What the archive gave a page. */
export type ArchiveState =
  /** No archive directory, or none of its days is in the range. */
  | { kind: "none" }
  /** Archived alerts were read (`count` of them shown on this page). */
  | { kind: "included"; count: number }
  /** The range reaches archived days, but the filter asks for triage the archive does not keep. */
  | { kind: "unfiltered" }
  /** Reading the archive failed: the page holds the database's rows only. */
  | { kind: "failed"; error: string };

/**
 * One page of alerts spanning the database and the archive.
 *
 * @example
 * ```ts
 * import type { SpanPage } from "./alerts_span.ts";
 * const page: SpanPage = { rows: [], archived: new Set(), next: null, archive: { kind: "none" } };
 * ```
 */
export interface SpanPage {
  /** Newest first. */
  rows: AlertRow[];
  /** The `seq` of the rows read from the archive. */
  archived: ReadonlySet<number>;
  /** The next page's cursor, or `null` at the end. */
  next: string | null;
  /** Whether and how the archive took part. */
  archive: ArchiveState;
  /**
   * The database's text scan stopped at its time budget (store `AlertPage.partial`):
   * alerts newer than `searchedTo` were searched, older ones not yet; `next` goes on.
   */
  partial?: { searchedTo: string };
}

/** Where each side resumes: a store cursor / archive key, `null` from the start, `false` when done. */
interface _Cursor {
  l: string | null | false;
  a: ArchiveKey | null | false;
}

const _PREFIX = "s.";

function _encode(c: _Cursor): string {
  return _PREFIX + _b64(c);
}

function _decode(text: string): _Cursor {
  const v = _unb64(text.slice(_PREFIX.length)) as { l?: unknown; a?: unknown } | undefined;
  const l = v?.l;
  const a = v?.a as { timestamp?: unknown; seq?: unknown } | null | false | undefined;
  const lOk = l === null || l === false || (typeof l === "string" && l.length <= 1000);
  const aOk = a === null || a === false ||
    (typeof a?.timestamp === "string" && a.timestamp.length <= 64 &&
      Number.isFinite(Date.parse(a.timestamp)) && Number.isSafeInteger(a.seq));
  if (lOk && aOk) {
    return {
      l: l as string | null | false,
      a: a && { timestamp: a.timestamp as string, seq: a.seq as number },
    };
  }
  throw new RangeError("alerts: not a cursor of this page");
}

const _DAY = 86_400_000;

/** The (time, seq) a store cursor holds, when it is the SQLite store's `[time, seq]`. */
function _storeKey(cursor: string): ArchiveKey | undefined {
  const v = _unb64(cursor);
  return Array.isArray(v) && typeof v[0] === "string" && Number.isSafeInteger(v[1])
    ? { timestamp: v[0], seq: v[1] }
    : undefined;
}

/**
 * The days the archive holds alerts of in a time range, newest first: its
 * `alerts/date=YYYY-MM-DD/` directories are listed (no DuckDB), so a page
 * whose range the database alone holds never loads it.
 *
 * @param dir The archive directory.
 * @param filter The range (`since`, `until` in ms; open when left out).
 * @returns `YYYY-MM-DD` days; none when there is no archive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { archiveDays } from "./alerts_span.ts";
 * assert.deepEqual(await archiveDays("/nonexistent", {}), []);
 * ```
 */
export async function archiveDays(
  dir: string,
  filter: { since?: number; until?: number },
): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(`${dir}/alerts`)) {
      const m = /^date=(\d{4}-\d{2}-\d{2})$/.exec(e.name);
      if (!m || !e.isDirectory) continue;
      const day = Date.parse(`${m[1]}T00:00:00Z`);
      if (filter.since !== undefined && day + _DAY <= filter.since) continue;
      if (filter.until !== undefined && day >= filter.until) continue;
      out.push(m[1] as string);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw err;
  }
  return out.sort().reverse();
}

/**
 * The newest `limit` archived alerts before `key`, read over a window of
 * days that widens (1, 4, 16 … days, then the whole range) until it holds
 * `limit` rows: DuckDB then skips the row groups of older days instead of
 * sorting the whole archive for every page. The window only bounds the
 * time from below; the answer is the same as one read of the whole range.
 */
async function _archived(
  dir: string,
  filter: AlertFilter,
  limit: number,
  key: ArchiveKey | undefined,
  days: readonly string[],
): Promise<AlertRow[]> {
  const keyDay = key?.timestamp.slice(0, 10);
  const older = keyDay === undefined ? days : days.filter((d) => d <= keyDay);
  for (let w = 1; w < older.length; w *= 4) {
    const start = Date.parse(`${older[w - 1]}T00:00:00Z`);
    const since = Math.max(filter.since ?? -Infinity, start);
    const rows = await archivedAlerts(dir, { ...filter, since }, limit, key);
    if (rows.length >= limit) return rows;
  }
  return await archivedAlerts(dir, filter, limit, key);
}

/**
 * One page of alerts of a filter, newest first, from the database and,
 * when the range reaches archived days, the archive. Without archived days
 * in the range the page and its cursor are the store's own. A failing
 * archive read gives the database's rows and `archive.kind = "failed"`
 * (the following pages leave the archive out), never an exception.
 *
 * @param store The SIEM store.
 * @param archiveDir The archive directory (`undefined`: database only).
 * @param filter The filter.
 * @param limit Rows per page.
 * @param cursor The cursor of a previous page.
 * @returns The page.
 * @throws {RangeError} When the cursor is not one of these pages' (or the store's).
 *
 * @example
 * ```ts ignore
 * const page = await alertsSpanning(store, "data/archives", { since: Date.now() - 60 * 86_400_000 }, 50);
 * ```
 */
export async function alertsSpanning(
  store: SiemStore,
  archiveDir: string | undefined,
  filter: AlertFilter,
  limit: number,
  cursor?: string,
): Promise<SpanPage> {
  let at: _Cursor;
  // The first page lists the archive's days once, to know whether it spans them and to read them.
  let listed: string[] | undefined;
  if (cursor !== undefined && cursor.startsWith(_PREFIX)) at = _decode(cursor);
  else {
    // A directory that cannot be listed counts as holding the range: the read then says why.
    listed = archiveDir === undefined
      ? []
      : await archiveDays(archiveDir, filter).catch(() => undefined);
    const spans = listed === undefined || listed.length > 0;
    if (!spans || cursor !== undefined || filter.status !== undefined) {
      const page = await store.alerts({ ...filter, limit, ...(cursor ? { cursor } : {}) });
      const archive: ArchiveState = spans && filter.status !== undefined
        ? { kind: "unfiltered" }
        : { kind: "none" };
      return {
        rows: page.rows,
        archived: new Set(),
        next: page.next,
        archive,
        ...(page.partial ? { partial: page.partial } : {}),
      };
    }
    at = { l: null, a: null };
  }
  let archive: ArchiveState = { kind: "none" };
  const live: AlertPage = at.l === false
    ? { rows: [], next: null }
    : await store.alerts({ ...filter, limit, ...(at.l ? { cursor: at.l } : {}) });
  // A database page cut short by its text scan's budget has only searched down to its `next`:
  // an archived row older than that may not be shown yet (a database row above it may be
  // unsearched), so the archive waits until the database's scan has passed it.
  const scanned = live.partial && live.next ? _storeKey(live.next) : undefined;
  let fromArchive: AlertRow[] = [];
  let archiveDone = at.a === false;
  if (at.a !== false && archiveDir !== undefined) {
    try {
      const days = listed ?? await archiveDays(archiveDir, filter);
      fromArchive = await _archived(archiveDir, filter, limit + 1, at.a ?? undefined, days);
    } catch (err) {
      archive = { kind: "failed", error: err instanceof Error ? err.message : String(err) };
      archiveDone = true;
    }
  }
  const shownArchive = scanned
    ? fromArchive.filter((r) => compareNewestFirst(r, scanned) < 0)
    : fromArchive;
  const rows = mergeNewestFirst(live.rows, shownArchive, limit);
  const liveSeqs = new Set(live.rows.map((r) => r.seq));
  const archived = new Set(rows.filter((r) => !liveSeqs.has(r.seq)).map((r) => r.seq));
  const liveTaken = rows.length - archived.size;
  if (archive.kind !== "failed" && at.a !== false) {
    archive = { kind: "included", count: archived.size };
  }
  // The database side resumes after the last of its rows shown.
  let l: _Cursor["l"];
  if (at.l === false) l = false;
  else if (liveTaken === live.rows.length) l = live.next ?? false;
  else if (liveTaken === 0) l = at.l;
  // Rows merge in order, so the database's rows shown are its first liveTaken, and every store
  // resumes after a row from that row's alertCursor (store/cursor.ts).
  else l = alertCursor(live.rows[liveTaken - 1] as AlertRow);
  // The archive side resumes after the last row shown, whichever side it came from.
  const archivedLeft = fromArchive.some((r) => !liveSeqs.has(r.seq) && !archived.has(r.seq));
  const last = rows.at(-1);
  let a: _Cursor["a"];
  if (archiveDone || !archivedLeft) a = false;
  else a = last ? { timestamp: last.timestamp, seq: last.seq } : at.a;
  const next = l === false && a === false ? null : _encode({ l, a });
  // Still partial when the page ends where the database's scan stopped.
  const partial = live.partial && liveTaken === live.rows.length ? live.partial : undefined;
  return { rows, archived, next, archive, ...(partial ? { partial } : {}) };
}

/** Archived rows read per DuckDB query of an export. */
const _EXPORT_CHUNK = 5000;

/**
 * Every alert of a filter, newest first, a page at a time, across the
 * database and, when the range reaches archived days, the archive: the
 * store's export and the archive (read {@linkcode _EXPORT_CHUNK} rows per
 * query) merged as two sorted streams. A failing archive read ends the
 * archive's part (`archive.kind = "failed"` from that page on); the
 * database's rows still come.
 *
 * @param store The SIEM store.
 * @param archiveDir The archive directory (`undefined`: database only).
 * @param filter The filter.
 * @param pageSize Rows per page.
 * @returns Pages (`next` is always `null`: the generator is the cursor).
 *
 * @example
 * ```ts ignore
 * for await (const page of exportSpanning(store, "data/archives", {}, 1000)) console.log(page.rows.length);
 * ```
 */
export async function* exportSpanning(
  store: SiemStore,
  archiveDir: string | undefined,
  filter: AlertFilter,
  pageSize = 1000,
): AsyncGenerator<SpanPage> {
  const days = archiveDir === undefined
    ? []
    : await archiveDays(archiveDir, filter).catch(() => ["?"]);
  const live = store.exportAlerts(filter, pageSize)[Symbol.asyncIterator]();
  if (days.length === 0 || filter.status !== undefined || archiveDir === undefined) {
    const archive: ArchiveState = days.length ? { kind: "unfiltered" } : { kind: "none" };
    let sent = false;
    try {
      for (;;) {
        const next = await live.next();
        if (next.done) break;
        sent = true;
        yield { rows: next.value, archived: new Set(), next: null, archive };
      }
      if (!sent) yield { rows: [], archived: new Set(), next: null, archive };
    } finally {
      await live.return?.();
    }
    return;
  }
  let archive: ArchiveState = { kind: "included", count: 0 };
  let liveBuf: AlertRow[] = [];
  let li = 0;
  let liveDone = false;
  let archBuf: AlertRow[] = [];
  let ai = 0;
  let archDone = false;
  let key: ArchiveKey | undefined;
  try {
    for (;;) {
      const rows: AlertRow[] = [];
      const archived = new Set<number>();
      while (rows.length < pageSize) {
        if (li === liveBuf.length && !liveDone) {
          const next = await live.next();
          if (next.done) liveDone = true;
          else (liveBuf = next.value, li = 0);
        }
        if (ai === archBuf.length && !archDone) {
          ai = 0;
          try {
            archBuf = await _archived(archiveDir, filter, _EXPORT_CHUNK, key, days);
            archDone = archBuf.length < _EXPORT_CHUNK;
            const last = archBuf.at(-1);
            if (last) key = { timestamp: last.timestamp, seq: last.seq };
          } catch (err) {
            archive = { kind: "failed", error: err instanceof Error ? err.message : String(err) };
            archBuf = [];
            archDone = true;
          }
        }
        const l = liveBuf[li];
        const a = archBuf[ai];
        if (l === undefined && a === undefined) break;
        if (l !== undefined && a !== undefined && l.seq === a.seq) ai++;
        else if (a !== undefined && (l === undefined || compareNewestFirst(a, l) < 0)) {
          rows.push(a);
          archived.add(a.seq);
          ai++;
        } else (rows.push(l as AlertRow), li++);
      }
      if (archive.kind === "included") archive = { kind: "included", count: archived.size };
      yield { rows, archived, next: null, archive };
      if (rows.length < pageSize) return;
    }
  } finally {
    await live.return?.();
  }
}
