/**
 * The SQLite store's UI-owned tables (see `ui_schema.ts`), on a writable
 * connection of their own, opened only when first used, so a read-only
 * `sluice query` never creates anything.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SessionRow, TriageRow, TriageStatus, UiTables, UserRole, UserRow } from "./types.ts";
import { UI_TABLES } from "./ui_schema.ts";
import { openVersionedTables } from "../core/_state_version.ts";

/** The version of the UI tables (users, sessions, triage) this code makes, kept as `schema.ui`. */
const UI_TABLES_VERSION = 1;

const _ROLES: ReadonlySet<string> = new Set(["admin", "viewer"]);
const _STATUSES: ReadonlySet<string> = new Set(["open", "acknowledged", "closed"]);

function _q(ident: string): string {
  return `"${ident.replaceAll('"', '""')}"`;
}

/** The DDL of the UI-owned tables for SQLite (STRICT tables, IF NOT EXISTS). */
export function _uiDdl(): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(UI_TABLES)) {
    const cols = Object.entries(spec.columns).map(([c, t]) =>
      `${_q(c)} ${t.startsWith("integer") ? "INTEGER" : "TEXT"}${
        t.endsWith("not null") ? " NOT NULL" : ""
      }`
    );
    if (spec.primaryKey) cols.push(`PRIMARY KEY (${spec.primaryKey.map(_q).join(", ")})`);
    out.push(`CREATE TABLE IF NOT EXISTS ${_q(name)} (${cols.join(", ")}) STRICT`);
    for (const index of spec.indexes ?? []) {
      out.push(
        `CREATE INDEX IF NOT EXISTS ${_q(`${name}_${index.join("_")}`)} ON ${_q(name)} (${
          index.map(_q).join(", ")
        })`,
      );
    }
  }
  return out;
}

function _iso(ms: number | undefined): string {
  return new Date(ms ?? Date.now()).toISOString();
}

function _role(role: unknown): UserRole {
  if (typeof role !== "string" || !_ROLES.has(role)) {
    throw new RangeError(`store: "role" must be admin or viewer, got "${String(role)}"`);
  }
  return role as UserRole;
}

/**
 * The UI tables over a writable connection to `database`, opened lazily.
 *
 * @param database The SQLite file (the SIEM database).
 * @param busyTimeoutMs How long a write waits for the central's lock.
 * @param reader A connection to the same file for the reads (the store's read-only one).
 * @returns The tables and a close function.
 */
export function _sqliteUi(
  database: string,
  busyTimeoutMs: number,
  reader?: DatabaseSync,
): { ui: UiTables; close(): void } {
  let db: DatabaseSync | undefined;
  let closed = false;
  function conn(): DatabaseSync {
    if (closed) throw new Error("store: closed");
    if (db) return db;
    const d = new DatabaseSync(database);
    try {
      d.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      d.exec("PRAGMA journal_mode = WAL");
      // Small tables (users, sessions, triage): 256 KiB of page cache, not the default 2 MB.
      d.exec("PRAGMA cache_size = -256");
      // Versioned as schema.ui in sluice_meta (docs/deploy.md "Upgrades"): made or upgraded once
      // in one transaction; tables a newer sluice made are refused before anything is written.
      openVersionedTables(d, {
        component: "dashboard",
        database,
        name: "ui",
        version: UI_TABLES_VERSION,
        ddl: _uiDdl(),
      });
    } catch (err) {
      d.close();
      throw err;
    }
    db = d;
    return d;
  }
  // Prepared once per text: node:sqlite in Deno 2.9.6 keeps every prepared statement until the
  // connection closes (measured 2.6 KB each), and a session check runs three per request.
  const stmts = new Map<string, StatementSync>();
  function st(sql: string): StatementSync {
    let s = stmts.get(sql);
    if (!s) {
      s = conn().prepare(sql);
      stmts.set(sql, s);
    }
    return s;
  }
  // The reads go through the store's read connection when it is given. Measured (issue 21): while
  // two connections to one file took turns in this process (the session check on this one, then a
  // page's sorted read on the other), the process's malloc'd memory grew by about 5 MB more than
  // with either alone (by 48 KB per turn until it levelled off). Node:sqlite in Deno 2.9.6, SQLite
  // 3's caches, not found. This connection then serves the writes only (a login, a session kept
  // alive once a minute, triage).
  const readStmts = new Map<string, StatementSync>();
  function rd(sql: string): StatementSync {
    if (!reader) return st(sql);
    // The tables are made on this connection's first use, before the reader looks for them.
    conn();
    let s = readStmts.get(sql);
    if (!s) {
      s = reader.prepare(sql);
      readStmts.set(sql, s);
    }
    return s;
  }
  function tx<T>(f: () => T): T {
    const d = conn();
    d.exec("BEGIN IMMEDIATE");
    try {
      const r = f();
      d.exec("COMMIT");
      return r;
    } catch (err) {
      d.exec("ROLLBACK");
      throw err;
    }
  }
  const userCols = `name, role, password_hash, created`;
  const raw: UiTables = {
    getUser(name) {
      const row = rd(`SELECT ${userCols} FROM users WHERE name = ?`).get(name);
      return Promise.resolve(row ? { ...(row as unknown as UserRow) } : undefined);
    },
    listUsers() {
      const rows = rd(`SELECT ${userCols} FROM users ORDER BY name`).all();
      return Promise.resolve(rows.map((r) => ({ ...(r as unknown as UserRow) })));
    },
    addUser({ name, role, passwordHash, now }) {
      _role(role);
      const r = st(
        `INSERT INTO users (name, role, password_hash, created) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING`,
      ).run(name, role, passwordHash, _iso(now));
      return Promise.resolve(Number(r.changes) === 1);
    },
    updateUser(name, change) {
      if (change.role !== undefined) _role(change.role);
      const r = st(
        `UPDATE users SET role = coalesce(?, role), password_hash = coalesce(?, password_hash)
         WHERE name = ?`,
      ).run(change.role ?? null, change.passwordHash ?? null, name);
      return Promise.resolve(Number(r.changes) === 1);
    },
    deleteUser(name) {
      return Promise.resolve(tx(() => {
        st(`DELETE FROM ui_sessions WHERE user = ?`).run(name);
        return Number(st(`DELETE FROM users WHERE name = ?`).run(name).changes) === 1;
      }));
    },
    countUsers(role) {
      const row = role === undefined
        ? rd(`SELECT count(*) AS n FROM users`).get()
        : rd(`SELECT count(*) AS n FROM users WHERE role = ?`).get(_role(role));
      return Promise.resolve(Number((row as { n: number }).n));
    },
    addSession({ tokenHash, user, expiresAt, csrfSecret }) {
      st(
        `INSERT INTO ui_sessions (token_hash, user, expires, csrf_secret) VALUES (?, ?, ?, ?)`,
      ).run(tokenHash, user, _iso(expiresAt), csrfSecret);
      return Promise.resolve();
    },
    getSession(tokenHash, now) {
      const row = rd(
        `SELECT token_hash, user, expires, csrf_secret FROM ui_sessions
         WHERE token_hash = ? AND expires > ?`,
      ).get(tokenHash, _iso(now));
      return Promise.resolve(row ? { ...(row as unknown as SessionRow) } : undefined);
    },
    touchSession(tokenHash, expiresAt) {
      const r = st(`UPDATE ui_sessions SET expires = ? WHERE token_hash = ?`).run(
        _iso(expiresAt),
        tokenHash,
      );
      return Promise.resolve(Number(r.changes) === 1);
    },
    deleteSession(tokenHash) {
      st(`DELETE FROM ui_sessions WHERE token_hash = ?`).run(tokenHash);
      return Promise.resolve();
    },
    deleteExpiredSessions(now) {
      const r = st(`DELETE FROM ui_sessions WHERE expires <= ?`).run(_iso(now));
      return Promise.resolve(Number(r.changes));
    },
    deleteSessionsOf(name, exceptTokenHash) {
      const r = exceptTokenHash === undefined
        ? st(`DELETE FROM ui_sessions WHERE user = ?`).run(name)
        : st(`DELETE FROM ui_sessions WHERE user = ? AND token_hash <> ?`).run(
          name,
          exceptTokenHash,
        );
      return Promise.resolve(Number(r.changes));
    },
    triage({ alert, status, note = "", by, now }) {
      if (!_STATUSES.has(status)) {
        throw new RangeError(
          `store: "status" must be open, acknowledged or closed, got "${String(status)}"`,
        );
      }
      if (!Number.isSafeInteger(alert) || alert < 1) {
        throw new RangeError(`store: "alert" must be an alert's seq, got "${String(alert)}"`);
      }
      const at = _iso(now);
      return Promise.resolve(tx(() => {
        const exists = st(`SELECT 1 AS x FROM alerts WHERE rowid = ?`).get(alert);
        if (!exists) throw new RangeError(`store: no alert with seq ${alert}`);
        st(`INSERT INTO alert_triage (alert, status, note, by, at) VALUES (?, ?, ?, ?, ?)`)
          .run(alert, status, note, by, at);
        st(
          `INSERT INTO alert_triage_state (alert, status) VALUES (?, ?)
           ON CONFLICT (alert) DO UPDATE SET status = excluded.status`,
        ).run(alert, status);
        return { alert, status: status as TriageStatus, note, by, at };
      }));
    },
    triageHistory(alert) {
      const rows = rd(
        `SELECT alert, status, note, by, at FROM alert_triage WHERE alert = ? ORDER BY rowid`,
      ).all(alert);
      return Promise.resolve(rows.map((r) => ({ ...(r as unknown as TriageRow) })));
    },
  };
  // Every method answers with a promise, a refused argument with a rejected one.
  const ui = Object.fromEntries(
    Object.entries(raw).map(([k, f]) => [
      k,
      (...args: unknown[]) => {
        try {
          return (f as (...a: unknown[]) => Promise<unknown>)(...args);
        } catch (err) {
          return Promise.reject(err);
        }
      },
    ]),
  ) as unknown as UiTables;
  return {
    ui,
    close() {
      closed = true;
      stmts.clear();
      readStmts.clear();
      db?.close();
      db = undefined;
    },
  };
}
