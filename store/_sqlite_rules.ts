/**
 * The SQLite store's reads for correlation rules shared between centrals
 * ({@linkcode SiemStore.authWindow}, {@linkcode SiemStore.incidents}).
 *
 * @module
 */

import { _authEventRow, type _Db, _limit, _Where } from "./_sqlite_db.ts";
import { _incidentRow } from "./_rules_common.ts";
import type { AuthEventRow, AuthWindowQuery, IncidentQuery, IncidentRow } from "./types.ts";

/** The auth events of some source addresses in a range, oldest first. */
export function _authWindow(db: _Db, q: AuthWindowQuery): AuthEventRow[] {
  if (q.srcIps.length === 0 || !db.has("auth_events")) return [];
  const w = new _Where().in("src_ip", q.srcIps).range("timestamp", q);
  const min = _limit(q.minRows, 1);
  if (min > 1) {
    w.add(
      `src_ip IN (SELECT src_ip FROM auth_events ${w.clause} GROUP BY src_ip HAVING count(*) >= ?)`,
      ...w.args,
      min,
    );
  }
  return db.all(
    `SELECT rowid AS seq, timestamp, host, program, outcome, user, src_ip, port, method,
            invalid_user
     FROM auth_events ${w.clause} ORDER BY timestamp, rowid LIMIT ?`,
    [...w.args, _limit(q.limit, 10_000)],
  ).map(_authEventRow);
}

/** The incidents (correlation alerts) of some rules in a range, oldest first. */
export function _incidents(db: _Db, q: IncidentQuery): IncidentRow[] {
  if (q.rules.length === 0 || !db.has("alerts")) return [];
  const w = new _Where().in("rule", q.rules).range("timestamp", q).add(`id LIKE 'incident:%'`);
  return db.all(
    `SELECT id, timestamp, rule, raw FROM alerts ${w.clause} ORDER BY timestamp, rowid LIMIT ?`,
    [...w.args, _limit(q.limit, 10_000)],
  ).map(_incidentRow);
}
