/**
 * The SQLite store's live tail (rows stored after a cursor, by rowid, with
 * `sluice tail`'s filters), a host's timeline, and the read-only SQL escape
 * hatch.
 *
 * @module
 */

import type { SQLInputValue } from "node:sqlite";
import { severityNumber } from "../core/event.ts";
import type { SiemCategory } from "../siem/categorize.ts";
import { tailCategories as _tailCategories } from "./tail_filter.ts";
import { SIEM_TABLES } from "../siem/schema.ts";
import { severitySpellings } from "./severity.ts";
import { type _Db, _iso, _num, type _Row } from "./_sqlite_db.ts";
import type { EventRow, SqlResult, TailBatch, TailFilter } from "./types.ts";

function _timeColumn(cols: ReadonlySet<string>): string {
  return cols.has("timestamp") ? "timestamp" : "synced_at";
}

function _values(r: _Row): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === "_seq") continue;
    out[k] = v === null || typeof v === "string" || typeof v === "number"
      ? v
      : typeof v === "bigint"
      ? Number(v)
      : v instanceof Uint8Array
      ? `<${v.length} bytes>`
      : String(v);
  }
  return out;
}

function _encode(cursor: Record<string, number>): string {
  return btoa(JSON.stringify(cursor)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function _decode(cursor: string): Record<string, number> {
  try {
    const v = JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const out: Record<string, number> = {};
      for (const [k, n] of Object.entries(v)) {
        if (Number.isSafeInteger(n)) out[k] = n as number;
      }
      return out;
    }
  } catch {
    // fall through
  }
  throw new RangeError(`store: not a tail cursor of this store: "${cursor.slice(0, 80)}"`);
}

interface _TailTable {
  table: string;
  category: SiemCategory;
  time: string;
  where: string[];
  args: SQLInputValue[];
}

/** The tables a filter reads, with their conditions (tables not created yet left out). */
function _plan(db: _Db, filter: TailFilter): _TailTable[] {
  const severities = filter.severities ?? [];
  const names = severitySpellings(severities);
  const nums = new Set<number>();
  for (const s of severities) {
    const n = severityNumber(s.trim().toLowerCase());
    if (n !== undefined) nums.add(n);
  }
  const out: _TailTable[] = [];
  for (const category of _tailCategories(filter.categories)) {
    const table = SIEM_TABLES[category];
    const cols = db.cols(table);
    if (cols.size === 0) continue;
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    if (filter.host !== undefined) {
      where.push("host = ?");
      args.push(filter.host);
    }
    if (severities.length > 0) {
      if (category === "alerts") {
        where.push(`severity IN (${names.map(() => "?").join(", ")})`);
        args.push(...names);
      } else if (category === "system" && nums.size) {
        where.push(`severity IN (${[...nums].map(() => "?").join(", ")})`);
        args.push(...nums);
      } else continue;
    }
    out.push({ table, category, time: _timeColumn(cols), where, args });
  }
  return out;
}

/** The starting cursor: after every row now, or before the first row at or after `since`. */
export function _tailStart(db: _Db, filter: TailFilter & { since?: number } = {}): string {
  const cursor: Record<string, number> = {};
  for (const t of _plan(db, filter)) {
    const top = _num(db.get(`SELECT coalesce(max(rowid), 0) AS m FROM "${t.table}"`)?.m);
    if (filter.since === undefined) {
      cursor[t.table] = top;
      continue;
    }
    const first = db.get(`SELECT min(rowid) AS r FROM "${t.table}" WHERE "${t.time}" >= ?`, [
      _iso(filter.since),
    ])?.r;
    cursor[t.table] = first === null || first === undefined ? top : _num(first) - 1;
  }
  return _encode(cursor);
}

/** The rows after a cursor that pass the filter, in time order, and the next cursor. */
export function _tailRead(
  db: _Db,
  cursor: string,
  filter: TailFilter = {},
  limit = 10_000,
): TailBatch {
  const at = _decode(cursor);
  const rows: EventRow[] = [];
  for (const t of _plan(db, filter)) {
    const top = _num(db.get(`SELECT coalesce(max(rowid), 0) AS m FROM "${t.table}"`)?.m);
    // A table created after the tail started: everything in it is new.
    const last = at[t.table] ?? 0;
    if (top <= last) {
      at[t.table] = last;
      continue;
    }
    const got = db.all(
      `SELECT rowid AS "_seq", * FROM "${t.table}" WHERE ${
        ["rowid > ?", "rowid <= ?", ...t.where].join(" AND ")
      } ORDER BY rowid LIMIT ?`,
      [last, top, ...t.args, limit],
    );
    // A full page leaves the rest for the next read.
    at[t.table] = got.length >= limit ? _num(got.at(-1)?._seq) : top;
    for (const r of got) {
      rows.push({
        table: t.table,
        category: t.category,
        seq: _num(r._seq),
        time: String(r[t.time] ?? ""),
        values: _values(r),
      });
    }
  }
  rows.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return { rows, cursor: _encode(at) };
}

/** A host's latest events of every kind but heartbeats, newest first. */
export function _timeline(
  db: _Db,
  host: string,
  range: { since?: number; until?: number },
  limit: number,
): EventRow[] {
  const rows: EventRow[] = [];
  for (const category of _tailCategories([])) {
    const table = SIEM_TABLES[category];
    const cols = db.cols(table);
    if (!cols.has("host")) continue;
    const time = _timeColumn(cols);
    const args: SQLInputValue[] = [host];
    let where = "host = ?";
    if (range.since !== undefined) {
      where += ` AND "${time}" >= ?`;
      args.push(_iso(range.since));
    }
    if (range.until !== undefined) {
      where += ` AND "${time}" < ?`;
      args.push(_iso(range.until));
    }
    for (
      const r of db.all(
        `SELECT rowid AS "_seq", * FROM "${table}" WHERE ${where}
         ORDER BY "${time}" DESC, rowid DESC LIMIT ?`,
        [...args, limit],
      )
    ) {
      rows.push({
        table,
        category,
        seq: _num(r._seq),
        time: String(r[time] ?? ""),
        values: _values(r),
      });
    }
  }
  rows.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.seq - a.seq));
  return rows.slice(0, limit);
}

/** The index of the first `;` that ends a statement with more text after it, or -1. */
export function _secondStatement(sql: string): number {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      i = sql.indexOf(close, i + 1);
      if (i < 0) return -1;
      i++;
      continue;
    }
    if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      if (nl < 0) return -1;
      i = nl + 1;
      continue;
    }
    if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) return -1;
      i = end + 2;
      continue;
    }
    if (c === ";") {
      const rest = sql.slice(i + 1).replace(/--[^\n]*|\/\*[\s\S]*?\*\/|[\s;]/g, "");
      return rest === "" ? -1 : i;
    }
    i++;
  }
  return -1;
}

/** Runs one read-only statement on the read connection (never cached: it is the user's text). */
export function _sql(db: _Db, statement: string): SqlResult {
  if (_secondStatement(statement) >= 0) {
    throw new RangeError("store: give one statement at a time");
  }
  const stmt = db.db.prepare(statement);
  const columns = stmt.columns().map((c) => c.name);
  return { columns, rows: stmt.all().map((r) => ({ ...r })) };
}
