/**
 * The SQL server stores' reads for correlation rules shared between
 * centrals ({@linkcode SiemStore.authWindow}, {@linkcode SiemStore.incidents}),
 * with the SQLite store's results.
 *
 * @module
 */

import { _authEventRow, _limit } from "./_sqlite_db.ts";
import { type _SqlDb, _SqlWhere } from "./_sql_store_db.ts";
import { _incidentRow } from "./_rules_common.ts";
import type { AuthEventRow, AuthWindowQuery, IncidentQuery, IncidentRow } from "./types.ts";

/** The auth events of some source addresses in a range, oldest first (the `src_ip` index). */
export async function _authWindow(db: _SqlDb, q: AuthWindowQuery): Promise<AuthEventRow[]> {
  if (q.srcIps.length === 0 || !await db.has("auth_events")) return [];
  const w = new _SqlWhere(db.d).in(`"src_ip"`, q.srcIps).range(`"timestamp"`, q);
  const min = _limit(q.minRows, 1);
  if (min > 1) {
    w.add(
      `"src_ip" IN (SELECT "src_ip" FROM "auth_events" ${w.clause} GROUP BY "src_ip"
        HAVING count(*) >= ?)`,
      ...w.args,
      min,
    );
  }
  return (await db.all(
    `SELECT "seq", "timestamp", "host", "program", "outcome", "user", "src_ip", "port", "method",
            "invalid_user"
     FROM "auth_events" ${w.clause} ORDER BY "timestamp", "seq" LIMIT ?`,
    [...w.args, _limit(q.limit, 10_000)],
  )).map(_authEventRow);
}

/** The incidents (correlation alerts) of some rules in a range, oldest first (the (rule, timestamp) index). */
export async function _incidents(db: _SqlDb, q: IncidentQuery): Promise<IncidentRow[]> {
  if (q.rules.length === 0 || !await db.has("alerts")) return [];
  const w = new _SqlWhere(db.d).in(`"rule"`, q.rules).range(`"timestamp"`, q)
    .add(`"id" LIKE 'incident:%'`);
  return (await db.all(
    `SELECT "id", "timestamp", "rule", "raw" FROM "alerts" ${w.clause}
     ORDER BY "timestamp", "seq" LIMIT ?`,
    [...w.args, _limit(q.limit, 10_000)],
  )).map(_incidentRow);
}
