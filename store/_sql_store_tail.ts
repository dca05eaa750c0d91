/**
 * The SQL server stores' live tail (rows stored after a cursor, by `seq`,
 * with `sluice tail`'s filters), a host's timeline, and the read-only SQL
 * escape hatch, with the SQLite store's results.
 *
 * @module
 */

import { severityNumber } from "../core/event.ts";
import type { SiemCategory } from "../siem/categorize.ts";
import { SIEM_TABLES } from "../siem/schema.ts";
import { severitySpellings } from "./severity.ts";
import { tailCategories } from "./tail_filter.ts";
import { _num } from "./_sqlite_db.ts";
import { _secondStatement } from "./_sqlite_tail.ts";
import { _b64, _plain, type _SqlDb, type _SqlRow, _SqlWhere, _unb64 } from "./_sql_store_db.ts";
import type { EventRow, SqlResult, TailBatch, TailFilter } from "./types.ts";

function _decode(cursor: string): Record<string, number> {
  const v = _unb64(cursor);
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(v)) if (Number.isSafeInteger(n)) out[k] = n as number;
    return out;
  }
  throw new RangeError(`store: not a tail cursor of this store: "${cursor.slice(0, 80)}"`);
}

interface _TailTable {
  table: string;
  category: SiemCategory;
  time: string;
  /** The table's columns, `seq` left out, quoted for a select list. */
  select: string;
  where: string[];
  args: unknown[];
}

/** The tables a filter reads, with their conditions (tables not created yet left out). */
async function _plan(db: _SqlDb, filter: TailFilter, categories?: SiemCategory[]) {
  const severities = filter.severities ?? [];
  const names = severitySpellings(severities);
  const nums = new Set<number>();
  for (const s of severities) {
    const n = severityNumber(s.trim().toLowerCase());
    if (n !== undefined) nums.add(n);
  }
  const out: _TailTable[] = [];
  for (const category of categories ?? tailCategories(filter.categories)) {
    const table = SIEM_TABLES[category];
    const cols = await db.ordered(table);
    if (cols.length === 0) continue;
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.host !== undefined) {
      if (!cols.includes("host")) continue;
      where.push(`"host" = ?`);
      args.push(filter.host);
    }
    if (severities.length > 0) {
      if (category === "alerts") {
        where.push(`"severity" IN (${names.map(() => "?").join(", ")})`);
        args.push(...names);
      } else if (category === "system" && nums.size) {
        where.push(`"severity" IN (${[...nums].map(() => "?").join(", ")})`);
        args.push(...nums);
      } else continue;
    }
    out.push({
      table,
      category,
      time: cols.includes("timestamp") ? "timestamp" : "synced_at",
      select: cols.map((c) => `"${c.replaceAll('"', '""')}"`).join(", "),
      where,
      args,
    });
  }
  return out;
}

function _values(r: _SqlRow): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(r)) if (k !== "_seq") out[k] = _plain(v);
  return out;
}

async function _top(db: _SqlDb, table: string): Promise<number> {
  return _num((await db.get(`SELECT coalesce(max("seq"), 0) AS "m" FROM "${table}"`))?.m);
}

/** The starting cursor: after every row now, or before the first row at or after `since`. */
export async function _tailStart(
  db: _SqlDb,
  filter: TailFilter & { since?: number } = {},
): Promise<string> {
  const cursor: Record<string, number> = {};
  for (const t of await _plan(db, filter)) {
    const top = await _top(db, t.table);
    if (filter.since === undefined) {
      cursor[t.table] = top;
      continue;
    }
    const w = new _SqlWhere(db.d).range(`"${t.time}"`, {
      since: filter.since,
    });
    const first = (await db.get(`SELECT min("seq") AS "r" FROM "${t.table}" ${w.clause}`, w.args))
      ?.r;
    cursor[t.table] = first === null || first === undefined ? top : _num(first) - 1;
  }
  return _b64(cursor);
}

/** The rows after a cursor that pass the filter, in time order, and the next cursor. */
export async function _tailRead(
  db: _SqlDb,
  cursor: string,
  filter: TailFilter = {},
  limit = 10_000,
): Promise<TailBatch> {
  const at = _decode(cursor);
  const rows: EventRow[] = [];
  for (const t of await _plan(db, filter)) {
    const top = await _top(db, t.table);
    // A table created after the tail started: everything in it is new.
    const last = at[t.table] ?? 0;
    if (top <= last) {
      at[t.table] = last;
      continue;
    }
    const got = await db.all(
      `SELECT "seq" AS "_seq", ${t.select} FROM "${t.table}" WHERE ${
        [`"seq" > ?`, `"seq" <= ?`, ...t.where].join(" AND ")
      } ORDER BY "seq" LIMIT ?`,
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
  return { rows, cursor: _b64(at) };
}

/** A host's latest events of every kind but heartbeats, newest first. */
export async function _timeline(
  db: _SqlDb,
  host: string,
  range: { since?: number; until?: number },
  limit: number,
): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  for (const t of await _plan(db, {}, tailCategories([]))) {
    if (!t.select.includes(`"host"`)) continue;
    const w = new _SqlWhere(db.d).add(`"host" = ?`, host).range(`"${t.time}"`, range);
    const time = t.time === "timestamp" ? `"timestamp"` : `"${t.time}"${db.d.collate}`;
    for (
      const r of await db.all(
        `SELECT "seq" AS "_seq", ${t.select} FROM "${t.table}" ${w.clause}
         ORDER BY ${time} DESC, "seq" DESC LIMIT ?`,
        [...w.args, limit],
      )
    ) {
      rows.push({
        table: t.table,
        category: t.category,
        seq: _num(r._seq),
        time: String(r[t.time] ?? ""),
        values: _values(r),
      });
    }
  }
  rows.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : b.seq - a.seq));
  return rows.slice(0, limit);
}

/** Runs one statement in a read-only transaction (never cached: it is the user's text). */
export async function _sql(db: _SqlDb, statement: string): Promise<SqlResult> {
  if (_secondStatement(statement) >= 0) {
    throw new RangeError("store: give one statement at a time");
  }
  const r = await db.d.readOnly(statement);
  return {
    columns: r.columns,
    rows: r.rows.map((row) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) out[k] = _plain(v);
      return out;
    }),
  };
}
