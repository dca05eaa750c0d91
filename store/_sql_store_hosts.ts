/**
 * The SQL server stores' reads of hosts, auth, firewall and objects, with
 * the SQLite store's results.
 *
 * @module
 */

import { _authEventRow, _limit, _num, _numOrNull, _str } from "./_sqlite_db.ts";
import { _status } from "./_sqlite_hosts.ts";
import { _OBJECT_COLUMNS, _objectRow } from "./_sql_store_alerts.ts";
import { type _SqlDb, _SqlWhere } from "./_sql_store_db.ts";
import type {
  AuthEventRow,
  AuthFilter,
  AuthSourceRow,
  AuthUserRow,
  FirewallFilter,
  FirewallPortRow,
  FirewallSourceRow,
  HostRow,
  HostsQuery,
  ObjectFilter,
  ObjectRow,
} from "./types.ts";

function _services(v: unknown): string[] {
  if (typeof v !== "string" || v === "") return [];
  try {
    const parsed = JSON.parse(v);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [v];
  }
}

/**
 * The VM registry with status; alert counts unless `counts` is false.
 * `only` restricts to one host.
 */
export async function _hosts(
  db: _SqlDb,
  q: HostsQuery = {},
  options: { counts?: boolean; only?: string } = {},
): Promise<HostRow[]> {
  let have = await db.cols("vms");
  if (have.size === 0) return [];
  // The agentless collector adds the status columns while the store is open.
  if (!have.has("status")) have = await db.cols("vms", true);
  const now = q.now ?? Date.now();
  const fallback = q.intervalMs ?? 60_000;
  const col = (c: string) => (have.has(c) ? `v."${c}"` : `NULL AS "${c}"`);
  const reach = (
    c: string,
    as: string,
  ) => (have.has(c) ? `v."${c}" AS "${as}"` : `NULL AS "${as}"`);
  const w = new _SqlWhere(db.d);
  const only = options.only ?? q.host;
  if (only !== undefined) w.add(`v."host" = ?`, only);
  const rows = await db.all(
    `SELECT v."host", ${
      ["first_seen", "last_seen", "source_ip", "version", "interval_s", "heartbeats", "services"]
        .map(col).join(", ")
    }, ${reach("status", "reach")}, ${reach("status_reason", "reach_reason")}, ${
      reach("status_at", "reach_at")
    } FROM "vms" v ${w.clause} ORDER BY v."host"${db.d.collate} LIMIT ?`,
    [...w.args, _limit(q.limit, 1000)],
  );
  const counting = options.counts !== false && await db.has("alerts");
  const aw = new _SqlWhere(db.d).add(`"host" = ?`, null).range(`"timestamp"`, q);
  const countSql = `SELECT count(*) AS "n" FROM "alerts" ${aw.clause}`;
  const out: HostRow[] = [];
  for (const r of rows) {
    const interval = typeof r.interval_s === "number" && r.interval_s > 0
      ? r.interval_s * 1000
      : fallback;
    const alerts = counting
      ? _num((await db.get(countSql, [r.host ?? null, ...aw.args.slice(1)]))?.n)
      : 0;
    out.push({
      host: String(r.host),
      status: _status(r.last_seen, now, interval),
      first_seen: _str(r.first_seen),
      last_seen: _str(r.last_seen),
      source_ip: _str(r.source_ip),
      version: _str(r.version),
      interval_s: _numOrNull(r.interval_s),
      heartbeats: _numOrNull(r.heartbeats),
      services: _services(r.services),
      alerts,
      reach: _str(r.reach),
      reach_reason: _str(r.reach_reason),
      reach_at: _str(r.reach_at),
    });
  }
  return out;
}

// pam_unix repeats each failed password: counting it would count attempts twice.
const _FAILED = `"outcome" = 'failure' AND coalesce("method", '') <> 'pam_unix'`;

function _authWhere(db: _SqlDb, f: AuthFilter): _SqlWhere {
  const w = new _SqlWhere(db.d).range(`"timestamp"`, f);
  if (f.host !== undefined) w.add(`"host" = ?`, f.host);
  if (f.srcIp !== undefined) w.add(`"src_ip" = ?`, f.srcIp);
  return w;
}

/** SSH logins by source address, most failures first. */
export async function _authSources(db: _SqlDb, f: AuthFilter = {}): Promise<AuthSourceRow[]> {
  if (!await db.has("auth_events")) return [];
  const w = _authWhere(db, f).add(`"src_ip" IS NOT NULL`);
  const failures = `sum(CASE WHEN ${_FAILED} THEN 1 ELSE 0 END)`;
  return (await db.all(
    `SELECT "src_ip", ${failures} AS "failures",
            sum(CASE WHEN "outcome" = 'success' THEN 1 ELSE 0 END) AS "successes",
            count(DISTINCT CASE WHEN ${_FAILED} OR "outcome" = 'invalid_user' THEN "user" END)
              AS "users",
            count(DISTINCT "host") AS "hosts", min("timestamp") AS "first",
            max("timestamp") AS "last"
     FROM "auth_events" ${w.clause}
     GROUP BY "src_ip" ${f.failedOnly ? `HAVING ${failures} > 0` : ""}
     ORDER BY 2 DESC, 3 DESC, "src_ip"${db.d.collate} LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  )).map((r) => ({
    src_ip: String(r.src_ip),
    failures: _num(r.failures),
    successes: _num(r.successes),
    users: _num(r.users),
    hosts: _num(r.hosts),
    first: String(r.first),
    last: String(r.last),
  }));
}

/** SSH logins by user name, most failures first. */
export async function _authUsers(db: _SqlDb, f: AuthFilter = {}): Promise<AuthUserRow[]> {
  if (!await db.has("auth_events")) return [];
  const w = _authWhere(db, f).add(`"user" IS NOT NULL`);
  const failures = `sum(CASE WHEN ${_FAILED} THEN 1 ELSE 0 END)`;
  return (await db.all(
    `SELECT "user", ${failures} AS "failures",
            sum(CASE WHEN "outcome" = 'success' THEN 1 ELSE 0 END) AS "successes",
            sum(CASE WHEN "outcome" = 'invalid_user' OR "invalid_user" = 1 THEN 1 ELSE 0 END)
              AS "invalid",
            count(DISTINCT "src_ip") AS "sources", max("timestamp") AS "last"
     FROM "auth_events" ${w.clause}
     GROUP BY "user" ${f.failedOnly ? `HAVING ${failures} > 0` : ""}
     ORDER BY 2 DESC, 3 DESC, "user"${db.d.collate} LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  )).map((r) => ({
    user: String(r.user),
    failures: _num(r.failures),
    successes: _num(r.successes),
    invalid: _num(r.invalid),
    sources: _num(r.sources),
    last: String(r.last),
  }));
}

/** Auth events, newest first. */
export async function _authEvents(db: _SqlDb, f: AuthFilter = {}): Promise<AuthEventRow[]> {
  if (!await db.has("auth_events")) return [];
  const w = _authWhere(db, f);
  if (f.failedOnly) w.add(_FAILED);
  return (await db.all(
    `SELECT "seq", "timestamp", "host", "program", "outcome", "user", "src_ip", "port", "method",
            "invalid_user"
     FROM "auth_events" ${w.clause} ORDER BY "timestamp" DESC, "seq" DESC LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  )).map(_authEventRow);
}

function _fwWhere(db: _SqlDb, f: FirewallFilter): _SqlWhere {
  const w = new _SqlWhere(db.d).range(`"timestamp"`, f);
  if (f.host !== undefined) w.add(`"host" = ?`, f.host);
  if (f.action !== undefined) w.add(`"action" = ?`, f.action);
  return w;
}

/** Firewall events by source address, most first. */
export async function _firewallSources(
  db: _SqlDb,
  f: FirewallFilter = {},
): Promise<FirewallSourceRow[]> {
  if (!await db.has("firewall_events")) return [];
  const w = _fwWhere(db, f).add(`"src" IS NOT NULL`);
  return (await db.all(
    `SELECT "src", count(*) AS "events", count(DISTINCT "dpt") AS "ports",
            count(DISTINCT "host") AS "hosts", min("timestamp") AS "first",
            max("timestamp") AS "last"
     FROM "firewall_events" ${w.clause} GROUP BY "src"
     ORDER BY count(*) DESC, "src"${db.d.collate} LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  )).map((r) => ({
    src: String(r.src),
    events: _num(r.events),
    ports: _num(r.ports),
    hosts: _num(r.hosts),
    first: String(r.first),
    last: String(r.last),
  }));
}

/** Firewall events by destination port, most first. */
export async function _firewallPorts(
  db: _SqlDb,
  f: FirewallFilter = {},
): Promise<FirewallPortRow[]> {
  if (!await db.has("firewall_events")) return [];
  const w = _fwWhere(db, f);
  // SQLite sorts NULL first in ascending order; both servers are told to.
  const nullsFirst = db.d.kind === "postgres" ? `"dpt" NULLS FIRST` : `"dpt" IS NULL DESC, "dpt"`;
  return (await db.all(
    `SELECT "dpt", "proto", count(*) AS "events", count(DISTINCT "src") AS "sources"
     FROM "firewall_events" ${w.clause} GROUP BY "dpt", "proto"
     ORDER BY count(*) DESC, ${nullsFirst}, "proto"${db.d.collate} LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  )).map((r) => ({
    dpt: _numOrNull(r.dpt),
    proto: _str(r.proto),
    events: _num(r.events),
    sources: _num(r.sources),
  }));
}

/** Stored objects, newest first. */
export async function _objects(db: _SqlDb, f: ObjectFilter = {}): Promise<ObjectRow[]> {
  if (!await db.has("objects")) return [];
  const w = new _SqlWhere(db.d).range(`"synced_at"`, f);
  if (f.sha256Prefix !== undefined) {
    const h = f.sha256Prefix.trim().toLowerCase();
    if (!/^[0-9a-f]{1,64}$/.test(h)) {
      throw new RangeError(`store: "sha256Prefix" must be hex digits, got "${f.sha256Prefix}"`);
    }
    if (h.length === 64) w.add(`"sha256" = ?`, h);
    else w.add(`"sha256"${db.d.collate} >= ? AND "sha256"${db.d.collate} < ?`, h, `${h}g`);
  }
  if (f.host !== undefined) w.add(`"host" = ?`, f.host);
  return (await db.all(
    `SELECT ${_OBJECT_COLUMNS} FROM "objects" ${w.clause}
     ORDER BY "synced_at"${db.d.collate} DESC, "seq" DESC LIMIT ?`,
    [...w.args, _limit(f.limit, 100)],
  )).map(_objectRow);
}
