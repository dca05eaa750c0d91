/**
 * The SQLite store's bounded text scan: a text filter the text index cannot
 * serve (1-2 characters, a NUL, the index behind or off) is matched by
 * reading the filter's other rows newest first, in keyset chunks, until the
 * page is full, the rows run out or a time budget is spent. A page cut by
 * the budget says so (`partial`), and its `next` cursor is the last row
 * examined, so the next page continues the scan where it stopped: no row is
 * skipped or shown twice, and an export that follows `next` gets every match.
 *
 * @module
 */

import type { SQLInputValue } from "node:sqlite";
import { alertCursor } from "./cursor.ts";
import { type _Db, _num, type _Row, type _Where } from "./_sqlite_db.ts";
import type { AlertPage } from "./types.ts";

/**
 * How a text scan is bounded.
 *
 * @example
 * ```ts
 * import type { TextScanOptions } from "./_sqlite_text_scan.ts";
 * const o: TextScanOptions = { budgetMs: 100, chunk: 2000 };
 * ```
 */
export interface TextScanOptions {
  /** Time a page may scan for, in ms (at least one chunk is always read). Default 100. */
  budgetMs?: number;
  /** Rows read per statement. Default 2000. */
  chunk?: number;
}

/**
 * The default budget of a page's scan, ms.
 *
 * @example
 * ```ts
 * import { TEXT_SCAN_BUDGET_MS } from "./_sqlite_text_scan.ts";
 * console.log(TEXT_SCAN_BUDGET_MS); // 100
 * ```
 */
export const TEXT_SCAN_BUDGET_MS = 100;
/**
 * The default rows per chunk.
 *
 * @example
 * ```ts
 * import { TEXT_SCAN_CHUNK } from "./_sqlite_text_scan.ts";
 * console.log(TEXT_SCAN_CHUNK); // 2000
 * ```
 */
export const TEXT_SCAN_CHUNK = 2000;

const _options = new WeakMap<_Db, Required<TextScanOptions>>();

/**
 * Sets the bounds of a database's text scans (tests and the bench shrink them).
 *
 * @param db The store's database.
 * @param o The bounds; a bound left out keeps its default.
 *
 * @example
 * ```ts ignore
 * _setTextScan(db, { budgetMs: 1, chunk: 100 });
 * ```
 */
export function _setTextScan(db: _Db, o: TextScanOptions): void {
  const budgetMs = o.budgetMs ?? TEXT_SCAN_BUDGET_MS;
  const chunk = Math.floor(o.chunk ?? TEXT_SCAN_CHUNK);
  if (!(budgetMs >= 0) || !(chunk >= 1)) {
    throw new RangeError("store: a text scan needs budgetMs >= 0 and chunk >= 1");
  }
  _options.set(db, { budgetMs, chunk });
}

/**
 * What a scan is asked (store/_sqlite_alerts.ts builds it).
 *
 * @example
 * ```ts ignore
 * const q: _ScanQuery = { where: new _Where(), text: ["(a.message LIKE ? ESCAPE '\\')", "%zq%"],
 *   spellings: [], after: undefined, limit: 50, columns: "a.rowid AS seq, a.*", toAlerts };
 * ```
 */
export interface _ScanQuery {
  /** The other filters (no text), on `alerts a`. */
  where: _Where;
  /** The text condition on `alerts a` (no index narrowing). */
  text: readonly [string, ...SQLInputValue[]];
  /** Stored severity spellings to merge one ordered arm each of; empty: no severity filter. */
  spellings: readonly string[];
  /** Where the page starts: below this (timestamp, seq). */
  after: [string, number] | undefined;
  /** Rows per page. */
  limit: number;
  /** The full columns of a row, on `alerts a`. */
  columns: string;
  /** Rows to alerts with their triage status. */
  toAlerts: (rows: _Row[]) => AlertPage["rows"];
}

/** One chunk: (seq, timestamp, hit) of the next `chunk` rows of the filter below the key. */
function _chunk(
  db: _Db,
  q: _ScanQuery,
  key: [string, number] | undefined,
  chunk: number,
): Array<{ seq: number; ts: string; hit: boolean }> {
  const [hit, ...hitArgs] = q.text;
  const sql = [...q.where.sql];
  const args: SQLInputValue[] = [...q.where.args];
  if (key) {
    sql.push("(a.timestamp, a.rowid) < (?, ?)");
    args.push(...key);
  }
  const cols = `a.rowid AS seq, a.timestamp AS ts, ${hit} AS hit`;
  const order = "ORDER BY a.timestamp DESC, a.rowid DESC LIMIT ?";
  let rows: _Row[];
  if (q.spellings.length === 0) {
    const where = sql.length ? `WHERE ${sql.join(" AND ")}` : "";
    rows = db.all(`SELECT ${cols} FROM alerts a ${where} ${order}`, [
      ...hitArgs,
      ...args,
      chunk,
    ]);
  } else {
    // One ordered arm per stored spelling, merged, as the page without a text does.
    const where = [...sql, "a.severity = ?"].join(" AND ");
    const arms = q.spellings.map(() =>
      `SELECT * FROM (SELECT ${cols} FROM alerts a WHERE ${where} ${order})`
    );
    const all: SQLInputValue[] = [];
    for (const s of q.spellings) all.push(...hitArgs, ...args, s, chunk);
    rows = db.all(`${arms.join(" UNION ALL ")} ORDER BY ts DESC, seq DESC LIMIT ?`, [
      ...all,
      chunk,
    ]);
  }
  return rows.map((r) => ({ seq: _num(r.seq), ts: String(r.ts), hit: Boolean(r.hit) }));
}

/**
 * One page of a text filter by a bounded scan (see the module's note).
 *
 * @param db The store's database.
 * @param q The filter, split into the other conditions and the text's.
 * @returns The page; `partial` when the budget stopped the scan before the page filled.
 *
 * @example
 * ```ts ignore
 * const page = _scanAlerts(db, { where, text, spellings: [], after: undefined, limit: 50, columns, toAlerts });
 * ```
 */
export function _scanAlerts(db: _Db, q: _ScanQuery): AlertPage {
  const { budgetMs, chunk } = _options.get(db) ??
    { budgetMs: TEXT_SCAN_BUDGET_MS, chunk: TEXT_SCAN_CHUNK };
  const started = performance.now();
  const hits: Array<{ seq: number; ts: string }> = [];
  let key = q.after;
  let last: { seq: number; ts: string } | undefined;
  let stop: "full" | "done" | "budget";
  for (;;) {
    const rows = _chunk(db, q, key, chunk);
    let full = false;
    for (const r of rows) {
      last = r;
      if (r.hit && hits.push(r) > q.limit) {
        full = true;
        break;
      }
    }
    if (full) {
      stop = "full";
      break;
    }
    if (rows.length < chunk) {
      stop = "done";
      break;
    }
    key = last ? [last.ts, last.seq] : key;
    if (performance.now() - started >= budgetMs) {
      stop = "budget";
      break;
    }
  }
  if (hits.length > q.limit) hits.length = q.limit;
  const full = hits.length === 0 ? [] : db.all(
    `SELECT ${q.columns} FROM alerts a WHERE a.rowid IN (SELECT value FROM json_each(?))`,
    [JSON.stringify(hits.map((h) => h.seq))],
  );
  const bySeq = new Map(full.map((r) => [_num(r.seq), r]));
  const rows = q.toAlerts(hits.map((h) => bySeq.get(h.seq)).filter((r) => r !== undefined));
  if (stop === "full") {
    const end = hits.at(-1) as { seq: number; ts: string };
    return { rows, next: alertCursor({ timestamp: end.ts, seq: end.seq }) };
  }
  if (stop === "done" || !last) return { rows, next: null };
  return {
    rows,
    next: alertCursor({ timestamp: last.ts, seq: last.seq }),
    partial: { searchedTo: last.ts },
  };
}
