/**
 * The `responses` table: every decision active response made, with who or
 * what asked, why, until when, where it was applied, its state and the
 * result of its commands. The table is the truth the firewall is reconciled
 * to on start.
 *
 * States: `pending` (recorded, not yet applied), `applied`, `failed` (the
 * command failed; retried while the decision lives), `dry-run` (what would
 * have been done), `expired`, `revoked`, `refused` (allowlisted, too wide,
 * not an address).
 *
 * @example
 * ```ts
 * import { DecisionTable } from "./decisions.ts";
 * const table = new DecisionTable(":memory:");
 * table.close();
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { openVersionedTables } from "../core/_state_version.ts";

/** A decision's state. */
export type DecisionState =
  | "pending"
  | "applied"
  | "failed"
  | "dry-run"
  | "expired"
  | "revoked"
  | "refused";

/** A row of the `responses` table. */
export interface Decision {
  /** Row id. */
  readonly id: number;
  /** The canonical address or network. */
  readonly target: string;
  /** Where it applies: `local` or a host name. */
  readonly host: string;
  /** Always `block` for now. */
  readonly action: string;
  /** Why (an alert's summary, the operator's words). */
  readonly reason: string;
  /** The rule that fired, or `operator`. */
  readonly rule: string;
  /** Who decided: `rule:<name>` or the operator's name. */
  readonly by: string;
  /** The alert's id, when a rule decided. */
  readonly alertId: string | null;
  /** ISO time it was made. */
  readonly createdAt: string;
  /** ISO time it ends. */
  readonly until: string;
  /** Its state. */
  readonly state: DecisionState;
  /** Which offence of this target this is (1 for the first; bans grow with it). */
  readonly offence: number;
  /** The commands' result or the refusal's reason. */
  readonly result: string;
  /** ISO time of the last change. */
  readonly updatedAt: string;
}

/** What is needed to record a new decision. */
export type NewDecision = Omit<Decision, "id" | "updatedAt">;

const _DDL = `
CREATE TABLE IF NOT EXISTS responses (
  id INTEGER PRIMARY KEY,
  target TEXT NOT NULL,
  host TEXT NOT NULL,
  action TEXT NOT NULL,
  reason TEXT NOT NULL,
  rule TEXT NOT NULL,
  by TEXT NOT NULL,
  alert_id TEXT,
  created_at TEXT NOT NULL,
  until TEXT NOT NULL,
  state TEXT NOT NULL,
  offence INTEGER NOT NULL,
  result TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS responses_target ON responses (target, host, state);
CREATE INDEX IF NOT EXISTS responses_state_until ON responses (state, until);
`;

/** The version of `responses` (`schema.responses` in `sluice_meta`). */
const _VERSION = 1;

const _COLUMNS = "id, target, host, action, reason, rule, by, alert_id AS alertId, " +
  "created_at AS createdAt, until, state, offence, result, updated_at AS updatedAt";

/** States that hold (or should hold) an entry in a firewall. */
export const LIVE_STATES: readonly DecisionState[] = ["pending", "applied", "failed"];

/** States of a decision that has not ended: the live ones and a dry-run's record. */
export const OPEN_STATES: readonly DecisionState[] = [...LIVE_STATES, "dry-run"];

/**
 * The `responses` table in a SQLite database (the central's `siem.db`).
 */
export class DecisionTable {
  #db: DatabaseSync;

  /**
   * Opens (and creates, or upgrades) the table, under its version in `sluice_meta`.
   *
   * @param path The database file.
   * @throws {DowngradeError} When a newer sluice made the table (nothing written).
   *
   * @example
   * ```ts
   * import { DecisionTable } from "./decisions.ts";
   * new DecisionTable(":memory:").close();
   * ```
   */
  constructor(path: string) {
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA busy_timeout = 5000");
    if (path !== ":memory:") this.#db.exec("PRAGMA journal_mode = WAL");
    try {
      openVersionedTables(this.#db, {
        component: "respond",
        database: path,
        name: "responses",
        version: _VERSION,
        ddl: [_DDL],
      });
    } catch (err) {
      this.#db.close();
      throw err;
    }
  }

  /**
   * Records a decision.
   *
   * @param d The decision.
   * @returns It, with its id.
   */
  insert(d: NewDecision): Decision {
    const now = new Date().toISOString();
    const r = this.#db.prepare(
      `INSERT INTO responses (target, host, action, reason, rule, by, alert_id, created_at, until, state, offence, result, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      d.target,
      d.host,
      d.action,
      d.reason,
      d.rule,
      d.by,
      d.alertId,
      d.createdAt,
      d.until,
      d.state,
      d.offence,
      d.result,
      now,
    );
    return { ...d, id: Number(r.lastInsertRowid), updatedAt: now };
  }

  /**
   * Changes a decision's state and result.
   *
   * @param id The decision.
   * @param state Its new state.
   * @param result What the commands said.
   * @param until A new end, when it changes.
   */
  update(id: number, state: DecisionState, result: string, until?: string): void {
    const now = new Date().toISOString();
    if (until) {
      this.#db.prepare(
        "UPDATE responses SET state = ?, result = ?, until = ?, updated_at = ? WHERE id = ?",
      )
        .run(state, result, until, now, id);
    } else {
      this.#db.prepare("UPDATE responses SET state = ?, result = ?, updated_at = ? WHERE id = ?")
        .run(state, result, now, id);
    }
  }

  /**
   * The live decision for a target on a host, if any.
   *
   * @param target Canonical target.
   * @param host Where.
   * @returns The decision or `undefined`.
   */
  live(target: string, host: string): Decision | undefined {
    return this.#db.prepare(
      `SELECT ${_COLUMNS} FROM responses WHERE target = ? AND host = ? AND state IN (${
        OPEN_STATES.map(() => "?").join(",")
      })
       ORDER BY id DESC LIMIT 1`,
    ).get(target, host, ...OPEN_STATES) as Decision | undefined;
  }

  /**
   * How many decisions (any state but refused) a target had since a time.
   *
   * @param target Canonical target.
   * @param sinceIso ISO time.
   * @returns The count.
   */
  offences(target: string, sinceIso: string): number {
    const r = this.#db.prepare(
      "SELECT count(*) AS n FROM responses WHERE target = ? AND state <> 'refused' AND created_at >= ?",
    ).get(target, sinceIso) as { n: number };
    return Number(r.n);
  }

  /**
   * Decisions in the given states, oldest first.
   *
   * @param states States to list.
   * @param host Only this host, when given.
   * @returns The rows.
   */
  inStates(states: readonly DecisionState[], host?: string): Decision[] {
    const marks = states.map(() => "?").join(",");
    const sql = `SELECT ${_COLUMNS} FROM responses WHERE state IN (${marks})` +
      (host ? " AND host = ?" : "") + " ORDER BY id";
    return this.#db.prepare(sql).all(...states, ...(host ? [host] : [])) as unknown as Decision[];
  }

  /**
   * The latest decisions, newest first.
   *
   * @param limit How many.
   * @returns The rows.
   */
  recent(limit = 100): Decision[] {
    return this.#db.prepare(`SELECT ${_COLUMNS} FROM responses ORDER BY id DESC LIMIT ?`)
      .all(limit) as unknown as Decision[];
  }

  /**
   * One decision.
   *
   * @param id Its id.
   * @returns The row or `undefined`.
   */
  get(id: number): Decision | undefined {
    return this.#db.prepare(`SELECT ${_COLUMNS} FROM responses WHERE id = ?`).get(id) as
      | Decision
      | undefined;
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}
