/**
 * The SQLite store's alert reads: pages with keyset paging, export, detail,
 * rules, overview and series.
 *
 * @module
 */

import { _unb64, alertCursor } from "./cursor.ts";
import type { SQLInputValue } from "node:sqlite";
import { severitySpellings } from "./severity.ts";
import { _scanAlerts } from "./_sqlite_text_scan.ts";
import {
  type _Db,
  type _iso,
  _limit,
  _num,
  _numOrNull,
  type _Row,
  _str,
  _Where,
} from "./_sqlite_db.ts";
import type {
  AlertDetail,
  AlertFilter,
  AlertPage,
  AlertQuery,
  AlertRow,
  HashAlertsRow,
  ObjectRow,
  RuleRow,
  TimeRange,
  TriageRow,
  TriageStatus,
} from "./types.ts";

/** The tables events are counted in (heartbeats are the agents' pulse, not events). */
export const _EVENT_TABLES: ReadonlyArray<
  readonly [
    table: string,
    category: "auth" | "firewall" | "docker" | "system" | "addrwatch" | "object",
    time: string,
  ]
> = [
  ["auth_events", "auth", "timestamp"],
  ["firewall_events", "firewall", "timestamp"],
  ["docker_events", "docker", "timestamp"],
  ["system_events", "system", "timestamp"],
  ["addrwatch", "addrwatch", "timestamp"],
  ["objects", "object", "synced_at"],
];

function _alertColumns(db: _Db): string {
  const id = db.cols("alerts").has("id") ? "a.id" : "NULL";
  return `a.rowid AS seq, ${id} AS id, a.timestamp, a.host, a.severity, a.rule, a.file, a.hash,
    a.message, a.source`;
}

const _TEXT_COLUMNS = ["a.rule", "a.message", "a.file", "a.hash", "a.host"];

/**
 * The free-text condition: the text anywhere in rule, message, file, hash or
 * host, ASCII letters in any case, `%` `_` `\` literal. LIKE does it with no
 * copy of each value (lower() made one per column per row): 1.6-2.5x less CPU
 * over a day of 1,000,000 alerts. LIKE stops at a NUL and folds ASCII only,
 * so a text holding a NUL or a letter past ASCII is matched with instr() on
 * lower-cased values, as before (SQLite's lower() folds ASCII only too).
 *
 * With the store's text index (store/_sqlite_text_index.ts) the rows are
 * first narrowed to the index's candidates and the rows above its mark; the
 * predicate above still decides, so the answer is the scan's.
 */
function _textMatch(db: _Db, text: string): [string, ...SQLInputValue[]] {
  const [match, needle] = _textPredicate(text);
  const c = db.textIndex?.candidates(needle);
  if (!c) return match;
  const [sql, ...args] = match;
  return [
    `${_NARROWED} UNION ALL SELECT rowid FROM alerts WHERE rowid > ?) AND ${sql}`,
    JSON.stringify(c.rowids),
    c.hi,
    ...args,
  ];
}

/** The text condition alone (no index), and the needle the index is asked for. */
function _textPredicate(text: string): [[string, ...SQLInputValue[]], string] {
  let match: [string, ...SQLInputValue[]];
  let needle = text;
  if (text.includes("\0") || /[^\p{ASCII}]/u.test(text)) {
    const t = needle = text.toLowerCase();
    match = [
      `(${_TEXT_COLUMNS.map((c) => `instr(lower(coalesce(${c}, '')), ?) > 0`).join(" OR ")})`,
      ..._TEXT_COLUMNS.map(() => t),
    ];
  } else {
    const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    match = [
      `(${_TEXT_COLUMNS.map((c) => `${c} LIKE ? ESCAPE '\\'`).join(" OR ")})`,
      ..._TEXT_COLUMNS.map(() => pattern),
    ];
  }
  return [match, needle];
}

const _NARROWED = "a.rowid IN (SELECT value FROM json_each(?)";

/** Whether a condition is the text index's narrowing (rowids to read). */
function _narrowed(sql: string): boolean {
  return sql.startsWith(_NARROWED);
}

/** The WHERE clause of an alert filter on `alerts a`. */
export function _alertWhere(
  db: _Db,
  f: AlertFilter,
  severities = true,
  // `null`: leave the text out (the bounded scan matches it itself).
  text: [string, ...SQLInputValue[]] | null | undefined = f.text !== undefined && f.text !== ""
    ? _textMatch(db, f.text)
    : undefined,
): _Where {
  // With the text index's rowids the query reads those rows by rowid: the other columns' indexes
  // are turned off (a unary +), or the planner would walk one of them, checking each row.
  const c = text && _narrowed(text[0]) ? (col: string) => `+${col}` : (col: string) => col;
  const w = new _Where().range(c("a.timestamp"), f);
  if (f.host !== undefined) w.add(`${c("a.host")} = ?`, f.host);
  if (f.rule !== undefined) w.add(`${c("a.rule")} = ?`, f.rule);
  if (f.source !== undefined) w.add(`${c("a.source")} = ?`, f.source);
  if (severities && f.severities !== undefined && f.severities.length > 0) {
    w.in(c("a.severity"), severitySpellings(f.severities));
  }
  if (text) w.add(...text);
  if (f.status !== undefined) {
    if (!["open", "acknowledged", "closed"].includes(f.status)) {
      throw new RangeError(
        `store: "status" must be open, acknowledged or closed, got "${f.status}"`,
      );
    }
    const triaged = db.has("alert_triage_state");
    if (f.status === "open") {
      if (triaged) {
        w.add(`a.rowid NOT IN (SELECT alert FROM alert_triage_state WHERE status <> 'open')`);
      }
    } else if (triaged) {
      w.add(`a.rowid IN (SELECT alert FROM alert_triage_state WHERE status = ?)`, f.status);
    } else w.add("0");
  }
  return w;
}

function _toAlert(r: _Row, status: TriageStatus): AlertRow {
  return {
    seq: _num(r.seq),
    id: _str(r.id),
    timestamp: String(r.timestamp),
    host: _str(r.host),
    severity: _str(r.severity),
    rule: _str(r.rule),
    file: _str(r.file),
    hash: _str(r.hash),
    message: _str(r.message),
    source: _str(r.source),
    status,
  };
}

/** The triage status of each alert (open when never triaged). */
function _statuses(db: _Db, seqs: number[]): Map<number, TriageStatus> {
  const out = new Map<number, TriageStatus>();
  if (seqs.length === 0 || !db.has("alert_triage_state")) return out;
  // One statement for any count: the list goes in as one JSON argument (a placeholder per
  // value would make a new statement text, and a new prepare, for every page length).
  const rows = db.all(
    `SELECT alert, status FROM alert_triage_state
     WHERE alert IN (SELECT value FROM json_each(?))`,
    [JSON.stringify(seqs)],
  ) as Array<{ alert: number; status: TriageStatus }>;
  for (const r of rows) out.set(_num(r.alert), r.status);
  return out;
}

/** Rows to alerts with their triage status. */
export function _alertRows(db: _Db, rows: _Row[]): AlertRow[] {
  const st = _statuses(db, rows.map((r) => _num(r.seq)));
  return rows.map((r) => _toAlert(r, st.get(_num(r.seq)) ?? "open"));
}

function _decodeCursor(cursor: string): [string, number] {
  const v = _unb64(cursor);
  if (
    Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && Number.isSafeInteger(v[1])
  ) return [v[0], v[1]];
  throw new RangeError(`store: not a cursor of this store: "${cursor.slice(0, 80)}"`);
}

/** One page of alerts, newest first. */
export function _alerts(db: _Db, q: AlertQuery = {}): AlertPage {
  if (!db.has("alerts")) return { rows: [], next: null };
  const limit = _limit(q.limit, 50, 1000);
  const spellings = q.severities?.length ? severitySpellings(q.severities) : [];
  const text = q.text !== undefined && q.text !== "" ? _textMatch(db, q.text) : undefined;
  const after = q.cursor !== undefined ? _decodeCursor(q.cursor) : undefined;
  if (text && !_narrowed(text[0])) {
    // No index for this text: a bounded scan, in chunks, with a continuation.
    return _scanAlerts(db, {
      where: _alertWhere(db, q, spellings.length === 0, null),
      text,
      spellings,
      after,
      limit,
      columns: _alertColumns(db),
      toAlerts: (rows) => _alertRows(db, rows),
    });
  }
  const w = _alertWhere(db, q, spellings.length === 0, text);
  if (after !== undefined) {
    const [ts, seq] = after;
    const by = w.sql.some(_narrowed) ? "+a.timestamp" : "a.timestamp";
    w.add(`(${by}, a.rowid) < (?, ?)`, ts, seq);
  }
  const order = `ORDER BY a.timestamp DESC, a.rowid DESC LIMIT ?`;
  let rows: _Row[];
  if (spellings.length === 0) {
    rows = db.all(`SELECT ${_alertColumns(db)} FROM alerts a ${w.clause} ${order}`, [
      ...w.args,
      limit + 1,
    ]);
  } else {
    // One ordered arm per stored spelling, merged: each arm walks (severity, timestamp) newest
    // first and stops at the page, where "severity IN (…)" would sort every match.
    const where = [...w.sql, w.sql.some(_narrowed) ? "+a.severity = ?" : "a.severity = ?"].join(
      " AND ",
    );
    const arms = spellings.map(() =>
      `SELECT * FROM (SELECT ${_alertColumns(db)} FROM alerts a WHERE ${where} ${order})`
    );
    const args: SQLInputValue[] = [];
    for (const s of spellings) args.push(...w.args, s, limit + 1);
    rows = db.all(
      `${arms.join(" UNION ALL ")} ORDER BY timestamp DESC, seq DESC LIMIT ?`,
      [...args, limit + 1],
    );
  }
  const more = rows.length > limit;
  if (more) rows.length = limit;
  const out = _alertRows(db, rows);
  const last = out.at(-1);
  return { rows: out, next: more && last ? alertCursor(last) : null };
}

/** Every alert of a filter, newest first, a page at a time. */
export async function* _exportAlerts(
  db: _Db,
  filter: AlertFilter = {},
  pageSize = 1000,
): AsyncGenerator<AlertRow[]> {
  const limit = _limit(pageSize, 1000, 1000);
  let cursor: string | undefined;
  for (;;) {
    const page = _alerts(db, { ...filter, limit, ...(cursor !== undefined ? { cursor } : {}) });
    if (page.rows.length) yield page.rows;
    if (page.next === null) return;
    cursor = page.next;
    // Lets other requests in between pages of a long export.
    await Promise.resolve();
  }
}

export function _objectRow(r: _Row): ObjectRow {
  return {
    seq: _num(r.seq),
    synced_at: String(r.synced_at),
    host: _str(r.host),
    kind: _str(r.kind),
    path: _str(r.path),
    size: _numOrNull(r.size),
    sha256: _str(r.sha256),
    remote: _str(r.remote),
    encrypted: _numOrNull(r.encrypted),
  };
}

export const _OBJECT_COLUMNS =
  `rowid AS seq, synced_at, host, kind, path, size, sha256, remote, encrypted`;

/** One alert in full. */
export function _alert(db: _Db, seq: number): AlertDetail | undefined {
  if (!Number.isSafeInteger(seq) || !db.has("alerts")) return undefined;
  const r = db.get(`SELECT ${_alertColumns(db)}, a.raw FROM alerts a WHERE a.rowid = ?`, [seq]);
  if (!r) return undefined;
  const [alert] = _alertRows(db, [r]) as [AlertRow];
  const hash = alert.hash?.trim();
  const objects = hash && db.has("objects")
    ? db.all(
      `SELECT ${_OBJECT_COLUMNS} FROM objects WHERE sha256 IN (?, ?) ORDER BY synced_at DESC
       LIMIT 100`,
      [hash, hash.toLowerCase()],
    ).map(_objectRow)
    : [];
  const triage = db.has("alert_triage")
    ? db.all(
      `SELECT alert, status, note, by, at FROM alert_triage WHERE alert = ? ORDER BY rowid`,
      [seq],
    ).map((t) => ({ ...t }) as unknown as TriageRow)
    : [];
  return { alert, raw: String(r.raw ?? ""), objects, triage };
}

/** How many alerts name each SHA-256 in their `hash` field (any case). */
export function _alertsForHashes(
  db: _Db,
  sha256s: readonly string[],
  filter: { host?: string } = {},
): HashAlertsRow[] {
  const wanted = [...new Set(sha256s.map((h) => String(h).trim().toLowerCase()))];
  for (const h of wanted) {
    if (!/^[0-9a-f]{64}$/.test(h)) {
      throw new RangeError(`store: a SHA-256 must be 64 hex digits, got "${h.slice(0, 80)}"`);
    }
  }
  if (wanted.length === 0 || !db.has("alerts")) return [];
  const out: HashAlertsRow[] = [];
  // alerts.hash has no index (it would slow every insert): one scan, of one host's alerts (its
  // index) when given. The list goes in as one JSON argument, so one statement serves any length.
  const host = filter.host !== undefined ? "host = ? AND " : "";
  const rows = db.all(
    `SELECT lower(trim(hash)) AS sha256, count(*) AS alerts, max(timestamp) AS last
     FROM alerts WHERE ${host}lower(trim(hash)) IN (SELECT value FROM json_each(?))
     GROUP BY 1 ORDER BY 1`,
    filter.host !== undefined ? [filter.host, JSON.stringify(wanted)] : [JSON.stringify(wanted)],
  );
  for (const r of rows) {
    out.push({ sha256: String(r.sha256), alerts: _num(r.alerts), last: String(r.last) });
  }
  return out;
}

/** Hits per rule, most first. */
export function _rules(db: _Db, f: TimeRange & { limit?: number } = {}): RuleRow[] {
  if (!db.has("alerts")) return [];
  const w = new _Where().range("timestamp", f);
  return db.all(
    `SELECT coalesce(rule, '(none)') AS rule, count(*) AS hits, count(DISTINCT host) AS hosts,
            group_concat(DISTINCT lower(severity)) AS severities,
            min(timestamp) AS first, max(timestamp) AS last
     FROM alerts ${w.clause} GROUP BY +rule ORDER BY hits DESC, rule LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  ).map((r) => ({
    rule: String(r.rule),
    hits: _num(r.hits),
    hosts: _num(r.hosts),
    severities: r.severities === null ? [] : String(r.severities).split(","),
    first: String(r.first),
    last: String(r.last),
  }));
}
