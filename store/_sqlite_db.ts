/**
 * The SQLite store's read-only connection: statements prepared once, the
 * columns each table has (a table not created yet reads as empty), and a
 * builder for WHERE clauses whose values are always bound.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { AuthEventRow } from "./types.ts";
import type { _Candidates } from "./_sqlite_text_limits.ts";

/**
 * Opens a database read-only (and `query_only`, so attached files stay
 * untouched too), waiting out a writer's brief locks.
 *
 * @param database The file.
 * @param busyTimeoutMs How long a read waits for a lock, in ms.
 * @returns The connection.
 * @throws {Error} When the file does not exist or is not a database.
 */
export function _openReadOnly(database: string, busyTimeoutMs = 5000): DatabaseSync {
  try {
    if (!Deno.statSync(database).isFile) throw new Error("not a file");
  } catch {
    throw new Error(`no database at "${database}" (give --db or set SLUICE_DB)`);
  }
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    db.exec("PRAGMA query_only = ON");
    // Probes the file: a text file opens fine and fails here.
    db.prepare("SELECT count(*) FROM sqlite_master").get();
  } catch (err) {
    db.close();
    throw new Error(
      `"${database}" is not a readable SQLite database: ${
        err instanceof Error ? err.message : String(err)
      }`,
    );
  }
  return db;
}

/** A row as node:sqlite returns it. */
export type _Row = Record<string, SQLInputValue>;

/**
 * Statements kept per connection. node:sqlite (Deno 2.9.6) frees a
 * statement only when the garbage collector takes its object, which a
 * small object under no heap pressure can wait for indefinitely: each
 * prepare (about 2.7 KB of SQLite's memory) grows the process. So every
 * statement is prepared once and kept; SQL built from filters has a bounded
 * variety (which filters are given, how many severity spellings), and past
 * this many texts the least recently used is let go.
 */
export const _MAX_STATEMENTS = 256;

/** The read connection with a statement cache and the tables' columns. */
export class _Db {
  readonly db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  readonly #cols = new Map<string, ReadonlySet<string>>();
  #prepared = 0;
  /** The alerts' text index (store/_sqlite_text_index.ts), when the store keeps one. */
  textIndex: { candidates(needle: string): _Candidates | undefined } | undefined;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** A statement, prepared once (kept among the {@linkcode _MAX_STATEMENTS} most recently used). */
  stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (s) {
      // Most recently used last: a Map keeps insertion order.
      this.#stmts.delete(sql);
      this.#stmts.set(sql, s);
      return s;
    }
    s = this.db.prepare(sql);
    this.#prepared++;
    this.#stmts.set(sql, s);
    if (this.#stmts.size > _MAX_STATEMENTS) {
      const oldest = this.#stmts.keys().next().value;
      if (oldest !== undefined) this.#stmts.delete(oldest);
    }
    return s;
  }

  /** How many statements are kept, and how many were ever prepared (for tests and the bench). */
  get statements(): { kept: number; prepared: number } {
    return { kept: this.#stmts.size, prepared: this.#prepared };
  }

  all(sql: string, args: readonly SQLInputValue[] = []): _Row[] {
    return this.stmt(sql).all(...args) as _Row[];
  }

  get(sql: string, args: readonly SQLInputValue[] = []): _Row | undefined {
    return this.stmt(sql).get(...args) as _Row | undefined;
  }

  /**
   * The columns of a table; empty while it does not exist (asked again next
   * time). `refresh` asks again anyway: for columns a writer adds later.
   */
  cols(table: string, refresh = false): ReadonlySet<string> {
    const known = refresh ? undefined : this.#cols.get(table);
    if (known) return known;
    const rows = this.all(`PRAGMA table_info("${table.replaceAll('"', '""')}")`) as Array<
      { name: string }
    >;
    const set = new Set(rows.map((r) => r.name));
    if (set.size > 0) this.#cols.set(table, set);
    return set;
  }

  has(table: string): boolean {
    return this.cols(table).size > 0;
  }

  close(): void {
    this.#stmts.clear();
    this.db.close();
  }
}

/** SQL conditions and their bound values. */
export class _Where {
  readonly sql: string[] = [];
  readonly args: SQLInputValue[] = [];

  add(condition: string, ...args: SQLInputValue[]): this {
    this.sql.push(condition);
    this.args.push(...args);
    return this;
  }

  /** `since <= column < until` on ISO text; no condition for a bound not given, so indexes stay usable. */
  range(column: string, range: { since?: number | undefined; until?: number | undefined }): this {
    if (range.since !== undefined) this.add(`${column} >= ?`, _iso(range.since));
    if (range.until !== undefined) this.add(`${column} < ?`, _iso(range.until));
    return this;
  }

  /** `column IN (?, …)`; a condition that holds for nothing when the list is empty. */
  in(column: string, values: readonly SQLInputValue[]): this {
    if (values.length === 0) return this.add("0");
    return this.add(`${column} IN (${values.map(() => "?").join(", ")})`, ...values);
  }

  get clause(): string {
    return this.sql.length ? `WHERE ${this.sql.join(" AND ")}` : "";
  }
}

/** ms → ISO text; a time out of range is clamped so it still compares. */
export function _iso(ms: number): string {
  const d = new Date(ms);
  if (!Number.isNaN(d.getTime())) return d.toISOString();
  return ms > 0 ? "9999-12-31T23:59:59.999Z" : "0000-01-01T00:00:00.000Z";
}

/** A row value as a number (counts, sizes); null stays null. */
export function _num(v: unknown): number {
  return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number(v ?? 0);
}

export function _numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : _num(v);
}

export function _str(v: unknown): string | null {
  return v === null || v === undefined ? null : typeof v === "string" ? v : String(v);
}

/** An `auth_events` row as the stores return it, from its columns as read (`seq` = rowid or serial). */
export function _authEventRow(r: Record<string, unknown>): AuthEventRow {
  return {
    seq: _num(r.seq),
    timestamp: String(r.timestamp),
    host: _str(r.host),
    program: _str(r.program),
    outcome: _str(r.outcome),
    user: _str(r.user),
    src_ip: _str(r.src_ip),
    port: _numOrNull(r.port),
    method: _str(r.method),
    invalid_user: _numOrNull(r.invalid_user),
  };
}

/** A limit from an option: a positive integer up to `max`, else the default. */
export function _limit(v: number | undefined, def: number, max = 100_000): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`store: "limit" must be a positive integer, got "${String(v)}"`);
  }
  return Math.min(v, max);
}
