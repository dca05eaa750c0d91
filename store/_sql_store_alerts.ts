/**
 * The SQL server stores' alert reads: pages with keyset paging, export,
 * detail, rules and alerts by hash, with the SQLite store's results (rows,
 * order, cursors).
 *
 * @module
 */

import { alertCursor } from "./cursor.ts";
import { severitySpellings } from "./severity.ts";
import { _limit, _num, _numOrNull, _str } from "./_sqlite_db.ts";
import { type _SqlDb, type _SqlRow, _SqlWhere, _unb64 } from "./_sql_store_db.ts";
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

async function _alertColumns(db: _SqlDb): Promise<string> {
  const id = (await db.cols("alerts")).has("id") ? `a."id"` : "NULL";
  return `a."seq" AS "seq", ${id} AS "id", a."timestamp", a."host", a."severity", a."rule",
    a."file", a."hash", a."message", a."source"`;
}

/** The WHERE clause of an alert filter on `alerts a`. */
export async function _alertWhere(db: _SqlDb, f: AlertFilter): Promise<_SqlWhere> {
  const w = new _SqlWhere(db.d).range(`a."timestamp"`, f);
  if (f.host !== undefined) w.add(`a."host" = ?`, f.host);
  if (f.rule !== undefined) w.add(`a."rule" = ?`, f.rule);
  if (f.source !== undefined) w.add(`a."source" = ?`, f.source);
  if (f.severities !== undefined && f.severities.length > 0) {
    w.in(`a."severity"`, severitySpellings(f.severities));
  }
  if (f.text !== undefined && f.text !== "") {
    const t = f.text.toLowerCase();
    const has = (c: string) => `position(? in lower(coalesce(a."${c}", ''))) > 0`;
    w.add(
      `(${["rule", "message", "file", "hash", "host"].map(has).join(" OR ")})`,
      t,
      t,
      t,
      t,
      t,
    );
  }
  if (f.status !== undefined) {
    if (!["open", "acknowledged", "closed"].includes(f.status)) {
      throw new RangeError(
        `store: "status" must be open, acknowledged or closed, got "${f.status}"`,
      );
    }
    const triaged = await db.has("alert_triage_state");
    if (f.status === "open") {
      if (triaged) {
        w.add(
          `a."seq" NOT IN (SELECT "alert" FROM "alert_triage_state" WHERE "status" <> 'open')`,
        );
      }
    } else if (triaged) {
      w.add(`a."seq" IN (SELECT "alert" FROM "alert_triage_state" WHERE "status" = ?)`, f.status);
    } else w.add("1 = 0");
  }
  return w;
}

function _toAlert(r: _SqlRow, status: TriageStatus): AlertRow {
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

/** Rows to alerts with their triage status (open when never triaged). */
export async function _alertRows(db: _SqlDb, rows: _SqlRow[]): Promise<AlertRow[]> {
  const st = new Map<number, TriageStatus>();
  const seqs = rows.map((r) => _num(r.seq));
  if (seqs.length && await db.has("alert_triage_state")) {
    for (let i = 0; i < seqs.length; i += 500) {
      const part = seqs.slice(i, i + 500);
      const got = await db.all(
        `SELECT "alert", "status" FROM "alert_triage_state" WHERE "alert" IN (${
          part.map(() => "?").join(",")
        })`,
        part,
      );
      for (const r of got) st.set(_num(r.alert), r.status as TriageStatus);
    }
  }
  return rows.map((r) => _toAlert(r, st.get(_num(r.seq)) ?? "open"));
}

function _decodeCursor(cursor: string): [string, number] {
  const v = _unb64(cursor);
  if (
    Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && Number.isSafeInteger(v[1]) &&
    !Number.isNaN(Date.parse(v[0]))
  ) return [v[0], v[1]];
  throw new RangeError(`store: not a cursor of this store: "${cursor.slice(0, 80)}"`);
}

/** One page of alerts, newest first. */
export async function _alerts(db: _SqlDb, q: AlertQuery = {}): Promise<AlertPage> {
  if (!await db.has("alerts")) return { rows: [], next: null };
  const limit = _limit(q.limit, 50, 1000);
  const w = await _alertWhere(db, q);
  if (q.cursor !== undefined) {
    const [ts, seq] = _decodeCursor(q.cursor);
    w.add(`(a."timestamp", a."seq") < (?, ?)`, db.d.timeArg(Date.parse(ts)), seq);
  }
  const rows = await db.all(
    `SELECT ${await _alertColumns(db)} FROM "alerts" a ${w.clause}
     ORDER BY a."timestamp" DESC, a."seq" DESC LIMIT ?`,
    [...w.args, limit + 1],
  );
  const more = rows.length > limit;
  if (more) rows.length = limit;
  const out = await _alertRows(db, rows);
  const last = out.at(-1);
  return { rows: out, next: more && last ? alertCursor(last) : null };
}

/** Every alert of a filter, newest first, a page at a time. */
export async function* _exportAlerts(
  db: () => _SqlDb,
  filter: AlertFilter = {},
  pageSize = 1000,
): AsyncGenerator<AlertRow[]> {
  const limit = _limit(pageSize, 1000, 1000);
  let cursor: string | undefined;
  for (;;) {
    const page = await _alerts(db(), {
      ...filter,
      limit,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    if (page.rows.length) yield page.rows;
    if (page.next === null) return;
    cursor = page.next;
  }
}

/** An `objects` row as the store gives it. */
export function _objectRow(r: _SqlRow): ObjectRow {
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

/** The columns of an {@linkcode ObjectRow}. */
export const _OBJECT_COLUMNS =
  `"seq", "synced_at", "host", "kind", "path", "size", "sha256", "remote", "encrypted"`;

/** One alert in full. */
export async function _alert(db: _SqlDb, seq: number): Promise<AlertDetail | undefined> {
  if (!Number.isSafeInteger(seq) || !await db.has("alerts")) return undefined;
  const r = await db.get(
    `SELECT ${await _alertColumns(db)}, a."raw" FROM "alerts" a WHERE a."seq" = ?`,
    [seq],
  );
  if (!r) return undefined;
  const [alert] = await _alertRows(db, [r]) as [AlertRow];
  const hash = alert.hash?.trim();
  const objects = hash && await db.has("objects")
    ? (await db.all(
      `SELECT ${_OBJECT_COLUMNS} FROM "objects" WHERE "sha256" IN (?, ?)
       ORDER BY "synced_at"${db.d.collate} DESC LIMIT 100`,
      [hash, hash.toLowerCase()],
    )).map(_objectRow)
    : [];
  const triage = await db.has("alert_triage") ? await _triageRows(db, seq) : [];
  return { alert, raw: String(r.raw ?? ""), objects, triage };
}

/** An alert's triage history, oldest first. */
export async function _triageRows(db: { all: _SqlDb["all"] }, alert: number): Promise<TriageRow[]> {
  return (await db.all(
    `SELECT "alert", "status", "note", "by", "at" FROM "alert_triage" WHERE "alert" = ?
     ORDER BY "seq"`,
    [alert],
  )).map((t) => ({
    alert: _num(t.alert),
    status: t.status as TriageStatus,
    note: String(t.note),
    by: String(t.by),
    at: String(t.at),
  }));
}

/** How many alerts name each SHA-256 in their `hash` field (any case). */
export async function _alertsForHashes(
  db: _SqlDb,
  sha256s: readonly string[],
  filter: { host?: string } = {},
): Promise<HashAlertsRow[]> {
  const wanted = [...new Set(sha256s.map((h) => String(h).trim().toLowerCase()))];
  for (const h of wanted) {
    if (!/^[0-9a-f]{64}$/.test(h)) {
      throw new RangeError(`store: a SHA-256 must be 64 hex digits, got "${h.slice(0, 80)}"`);
    }
  }
  if (wanted.length === 0 || !await db.has("alerts")) return [];
  const out: HashAlertsRow[] = [];
  const host = filter.host !== undefined ? `"host" = ? AND ` : "";
  for (let i = 0; i < wanted.length; i += 500) {
    const part = wanted.slice(i, i + 500);
    const rows = await db.all(
      `SELECT lower(trim("hash")) AS "sha256", count(*) AS "alerts", max("timestamp") AS "last"
       FROM "alerts" WHERE ${host}lower(trim("hash")) IN (${part.map(() => "?").join(",")})
       GROUP BY lower(trim("hash")) ORDER BY 1`,
      filter.host !== undefined ? [filter.host, ...part] : part,
    );
    for (const r of rows) {
      out.push({ sha256: String(r.sha256), alerts: _num(r.alerts), last: String(r.last) });
    }
  }
  return out;
}

/** Hits per rule, most first. */
export async function _rules(
  db: _SqlDb,
  f: TimeRange & { limit?: number } = {},
): Promise<RuleRow[]> {
  if (!await db.has("alerts")) return [];
  const w = new _SqlWhere(db.d).range(`"timestamp"`, f);
  const c = db.d.collate;
  const rows = await db.all(
    `SELECT coalesce("rule", '(none)') AS "rule", count(*) AS "hits",
            count(DISTINCT "host") AS "hosts", min("timestamp") AS "first",
            max("timestamp") AS "last"
     FROM "alerts" ${w.clause} GROUP BY "rule"
     ORDER BY count(*) DESC, coalesce("rule", '(none)')${c} LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  );
  if (rows.length === 0) return [];
  // Each rule's severities in the order first met (by seq), as SQLite's group_concat(DISTINCT).
  const sw = new _SqlWhere(db.d).range(`"timestamp"`, f);
  const sev = new Map<string, Array<[string, number]>>();
  for (
    const r of await db.all(
      `SELECT coalesce("rule", '(none)') AS "rule", lower("severity") AS "s", min("seq") AS "m"
       FROM "alerts" ${sw.clause} ${sw.sql.length ? "AND" : "WHERE"} "severity" IS NOT NULL
       GROUP BY "rule", lower("severity")`,
      sw.args,
    )
  ) {
    const k = String(r.rule);
    let list = sev.get(k);
    if (!list) sev.set(k, list = []);
    list.push([String(r.s), _num(r.m)]);
  }
  return rows.map((r) => ({
    rule: String(r.rule),
    hits: _num(r.hits),
    hosts: _num(r.hosts),
    severities: (sev.get(String(r.rule)) ?? []).sort((a, b) => a[1] - b[1]).map(([s]) => s),
    first: String(r.first),
    last: String(r.last),
  }));
}
