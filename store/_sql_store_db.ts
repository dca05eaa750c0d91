/**
 * What the SQL server stores (PostgreSQL, MySQL/MariaDB) share below the
 * reads: the small driver each client library is wrapped in, the dialect
 * pieces that differ, a WHERE builder whose values are always bound, and
 * the table-column cache. SQL is written once with `?` placeholders and
 * ANSI `"quoted"` identifiers (MySQL sessions run with `ANSI_QUOTES`; the
 * Postgres driver numbers the placeholders).
 *
 * @module
 */

import { _iso } from "./_sqlite_db.ts";
import type { SqlResult } from "./types.ts";

/** A row as a driver returns it: times as ISO text, integers as numbers. */
export type _SqlRow = Record<string, unknown>;

/** A connection (or transaction) that runs statements. */
export interface _SqlQuery {
  /** Rows of a statement (`?` placeholders, `"quoted"` identifiers). */
  all(sql: string, args?: readonly unknown[]): Promise<_SqlRow[]>;
  /** Runs a write; resolves to the rows it changed (matched, for an UPDATE). */
  run(sql: string, args?: readonly unknown[]): Promise<number>;
}

/** The dialect pieces the shared reads need. */
export interface _SqlDialect {
  /** `postgres` or `mysql`. */
  readonly kind: "postgres" | "mysql";
  /** A time bound for a typed `timestamp` column. */
  timeArg(ms: number): unknown;
  /** The first `len` (13: the hour, 16: the minute) characters of a `timestamp`'s ISO text. */
  timePrefix(column: string, len: 13 | 16): string;
  /** What makes a text comparison or sort bytewise (`COLLATE "C"` or nothing). */
  readonly collate: string;
  /** Upserts an alert's triage state (`alert`, `status` bound in that order). */
  readonly upsertTriageState: string;
  /** The DDL of the UI-owned tables. */
  uiDdl(): string[];
  /** A statement that serialises the UI tables' set-up between processes, run first (Postgres). */
  readonly uiLock?: string;
  /** Creates `sluice_meta ("key", "value")` as the sinks make it. */
  readonly metaDdl: string;
  /** Upserts one `sluice_meta` row (`key`, `value` bound in that order). */
  readonly upsertMeta: string;
  /** The database as messages name it (the URL, password masked). */
  readonly target: string;
  /** Whether an error is a unique-key violation. */
  isUniqueViolation(err: unknown): boolean;
}

/** A wrapped client: reads, writes in transactions, the escape hatch, columns. */
export interface _SqlDriver extends _SqlQuery, _SqlDialect {
  /** Runs `fn` in a read-write transaction (the UI tables), committing when it resolves. */
  transaction<T>(fn: (q: _SqlQuery) => Promise<T>): Promise<T>;
  /** Runs one statement in a READ ONLY transaction. */
  readOnly(statement: string): Promise<SqlResult>;
  /** The columns of a table in order; empty while it does not exist. */
  columns(table: string): Promise<string[]>;
  /** Closes every connection. */
  close(): Promise<void>;
}

// MySQL's DATETIME holds 1000-01-01 to 9999-12-31; Postgres more: bounds outside are clamped.
const _MIN_MS = Date.UTC(1000, 0, 1);
const _MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A time bound clamped to what every server's time type holds, as ISO text. */
export function _serverIso(ms: number): string {
  const t = Number.isNaN(ms) ? _MIN_MS : Math.min(_MAX_MS, Math.max(_MIN_MS, ms));
  return new Date(t).toISOString();
}

/** The table-column cache over a driver: a table not created yet reads as empty. */
export class _SqlDb {
  readonly d: _SqlDriver;
  readonly #cols = new Map<string, ReadonlySet<string>>();
  readonly #order = new Map<string, readonly string[]>();

  constructor(driver: _SqlDriver) {
    this.d = driver;
  }

  all(sql: string, args: readonly unknown[] = []): Promise<_SqlRow[]> {
    return this.d.all(sql, args);
  }

  async get(sql: string, args: readonly unknown[] = []): Promise<_SqlRow | undefined> {
    return (await this.d.all(sql, args))[0];
  }

  /** A table's columns; empty while it does not exist (asked again next time). */
  async cols(table: string, refresh = false): Promise<ReadonlySet<string>> {
    const known = refresh ? undefined : this.#cols.get(table);
    if (known) return known;
    const list = await this.d.columns(table);
    const set = new Set(list);
    if (set.size > 0) {
      this.#cols.set(table, set);
      this.#order.set(table, list);
    }
    return set;
  }

  /** A table's columns in order, the store's own `seq` left out. */
  async ordered(table: string): Promise<readonly string[]> {
    await this.cols(table);
    return (this.#order.get(table) ?? []).filter((c) => c !== "seq");
  }

  async has(table: string): Promise<boolean> {
    return (await this.cols(table)).size > 0;
  }
}

/** SQL conditions and their bound values, in a dialect. */
export class _SqlWhere {
  readonly sql: string[] = [];
  readonly args: unknown[] = [];
  readonly #d: _SqlDialect;

  constructor(dialect: _SqlDialect) {
    this.#d = dialect;
  }

  add(condition: string, ...args: unknown[]): this {
    this.sql.push(condition);
    this.args.push(...args);
    return this;
  }

  /**
   * `since <= column < until`. A `"timestamp"` column is a server time type
   * (bound as one); other time columns are ISO text, as in SQLite.
   */
  range(column: string, range: { since?: number | undefined; until?: number | undefined }): this {
    const typed = /"timestamp"$/.test(column);
    const arg = (ms: number) => (typed ? this.#d.timeArg(ms) : _iso(ms));
    const c = typed ? column : `${column}${this.#d.collate}`;
    if (range.since !== undefined) this.add(`${c} >= ?`, arg(range.since));
    if (range.until !== undefined) this.add(`${c} < ?`, arg(range.until));
    return this;
  }

  /** `column IN (?, …)`; a condition that holds for nothing when the list is empty. */
  in(column: string, values: readonly unknown[]): this {
    if (values.length === 0) return this.add("1 = 0");
    return this.add(`${column} IN (${values.map(() => "?").join(", ")})`, ...values);
  }

  get clause(): string {
    return this.sql.length ? `WHERE ${this.sql.join(" AND ")}` : "";
  }
}

/**
 * Numbers `?` placeholders `$1`, `$2` … outside quoted text and identifiers
 * (Postgres' form).
 */
export function _numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === "?") out += `$${++n}`;
    else out += c;
  }
  return out;
}

export { _b64, _unb64 } from "./cursor.ts";

/** A value of the escape hatch or the tail as SQLite would give it: text, number or null. */
export function _plain(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
