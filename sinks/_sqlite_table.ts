/**
 * The SQLite sink's table definitions: the public types a schema is written
 * in, and their resolution into columns, value functions and indexes, done
 * once when the sink is made.
 *
 * @module
 */

import { eventToJson, type LogEvent } from "../core/event.ts";
import { compileTemplate } from "../core/template.ts";

/**
 * What a column stores: a template (`"${json.rule}"`, rendered as text) or
 * a function whose result is stored as it is (numbers, `null`, bigints,
 * bytes; booleans as 1/0, other objects as JSON).
 */
export type SqliteValue = string | ((event: LogEvent) => unknown);

/** One index of a table. */
export interface SqliteIndex {
  /** The indexed columns, in order. */
  columns: readonly string[];
  /** A UNIQUE index. @default {false} */
  unique?: boolean;
}

/** A table: its columns, what fills them, and its indexes. */
export interface SqliteTable {
  /**
   * Column name → SQL type: `TEXT`, `INTEGER`, `REAL`, `BLOB`, `ANY`
   * (`NUMERIC` too when not strict), optionally followed by `NOT NULL`.
   */
  readonly columns: Readonly<Record<string, string>>;
  /**
   * Column name → value. Every column needs one, except `id` when the table
   * deduplicates (it stores the event id).
   */
  readonly values?: Readonly<Record<string, SqliteValue>>;
  /** Indexes: a column name, a list of columns, or a {@linkcode SqliteIndex}. */
  readonly indexes?: ReadonlyArray<string | readonly string[] | SqliteIndex>;
  /** Deduplicate by event id; the sink's `dedup` when left out. */
  readonly dedup?: boolean;
  /**
   * Further statements run whenever the sink makes sure the table exists
   * (triggers, views): write them with `IF NOT EXISTS`.
   */
  readonly sql?: readonly string[];
}

/** A set of tables a sink creates at open and routes into (see `siem/schema.ts`). */
export interface SqliteSchema {
  /** Table name → definition. */
  readonly tables: Readonly<Record<string, SqliteTable>>;
  /**
   * The schema's name, under which its version is kept in the database's
   * `sluice_meta` table. Required with `version`.
   */
  readonly name?: string;
  /**
   * The schema's version: raise it whenever the tables change. A database
   * whose `sluice_meta` records a higher version for this name was written
   * by newer code, and the sink refuses to open it rather than write rows
   * that code does not expect. @default {0}
   */
  readonly version?: number;
}

/**
 * What a table or column name must look like.
 *
 * @example
 * ```ts
 * import { IDENT } from "./_sqlite_table.ts";
 * IDENT.test("alerts"); // true
 * ```
 */
export const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const _STRICT_TYPE = /^(INT|INTEGER|REAL|TEXT|BLOB|ANY)(\s+NOT\s+NULL)?$/i;
const _LOOSE_TYPE = /^(INT|INTEGER|REAL|TEXT|BLOB|ANY|NUMERIC)(\s+NOT\s+NULL)?$/i;

/** Renders an event's time (the parsed timestamp, else the receive time) as ISO 8601 UTC. */
function _isoTime(e: LogEvent): string {
  return new Date(e.timestamp ?? e.receivedAt).toISOString();
}

function _fieldsJson(e: LogEvent): string | null {
  for (const _ in e.fields) return toJson(e.fields);
  return null;
}

/**
 * The generic table of a sink given no columns: `timestamp`, `host`, `program`, `severity`, `message`, `fields`.
 *
 * @example
 * ```ts
 * import { DEFAULT_TABLE } from "./_sqlite_table.ts";
 * Object.keys(DEFAULT_TABLE.columns);
 * ```
 */
export const DEFAULT_TABLE: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    program: "TEXT",
    severity: "INTEGER",
    message: "TEXT NOT NULL",
    fields: "TEXT",
  },
  values: {
    timestamp: _isoTime,
    host: "${HOST}",
    program: "${PROGRAM}",
    severity: (e) => e.severity ?? null,
    message: (e) => e.message,
    fields: _fieldsJson,
  },
  indexes: ["timestamp", "host"],
};

/**
 * A table resolved once: its columns (name, normalised type) with one value function each, in order, its indexes and statements.
 *
 * @example
 * ```ts
 * import type { TableDef } from "./_sqlite_table.ts";
 * const def: TableDef = { name: "t", columns: [], values: [], indexes: [], dedup: false, sql: [] };
 * ```
 */
export interface TableDef {
  name: string;
  columns: Array<[string, string]>;
  values: Array<(e: LogEvent) => unknown>;
  indexes: SqliteIndex[];
  dedup: boolean;
  sql: readonly string[];
}

/**
 * Resolves a {@linkcode SqliteTable} into a {@linkcode TableDef}, checking names and types.
 *
 * @throws {TypeError} When a column, index or value is missing or invalid.
 *
 * @example
 * ```ts
 * import { resolveTable } from "./_sqlite_table.ts";
 * resolveTable("t", "t", { columns: { a: "TEXT" }, values: { a: "${MSG}" } }, true, true, "");
 * ```
 */
export function resolveTable(
  where: string,
  name: string,
  table: SqliteTable,
  dedup: boolean,
  strict: boolean,
  nullIf: string | null,
): TableDef {
  if (!table || typeof table.columns !== "object" || table.columns === null) {
    throw new TypeError(`${where}: "columns" must be an object of column name → SQL type`);
  }
  const tableDedup = table.dedup ?? dedup;
  const columns: Array<[string, string]> = [];
  const values: Array<(e: LogEvent) => unknown> = [];
  const given = table.values ?? {};
  for (const column of Object.keys(given)) {
    if (!(column in table.columns) && !(tableDedup && column === "id")) {
      throw new TypeError(`${where}: "values" names column "${column}" that "columns" lacks`);
    }
  }
  if (tableDedup && !("id" in table.columns)) {
    columns.push(["id", "TEXT"]);
    values.push(given.id === undefined ? _eventId : _compileValue(given.id, nullIf));
  }
  for (const [column, type] of Object.entries(table.columns)) {
    checkIdent(where, `columns.${column}`, column);
    if (typeof type !== "string" || !(strict ? _STRICT_TYPE : _LOOSE_TYPE).test(type.trim())) {
      throw new TypeError(
        `${where}: column "${column}" has type "${type}", expected TEXT, INTEGER, REAL, BLOB or ANY${
          strict ? "" : " or NUMERIC"
        }, optionally NOT NULL`,
      );
    }
    columns.push([column, type.trim().replace(/\s+/g, " ").toUpperCase()]);
    const value = given[column];
    if (value === undefined) {
      if (column === "id" && tableDedup) values.push(_eventId);
      else throw new TypeError(`${where}: column "${column}" has no entry in "values"`);
    } else values.push(_compileValue(value, nullIf));
  }
  const indexes: SqliteIndex[] = [];
  if (tableDedup) indexes.push({ columns: ["id"], unique: true });
  for (const index of table.indexes ?? []) {
    const spec: SqliteIndex = typeof index === "string"
      ? { columns: [index] }
      : Array.isArray(index)
      ? { columns: index as readonly string[] }
      : index as SqliteIndex;
    if (spec.columns.length === 0) throw new TypeError(`${where}: an index has no columns`);
    for (const c of spec.columns) {
      if (!columns.some(([name]) => name === c)) {
        throw new TypeError(`${where}: index on "${c}", which is not a column`);
      }
    }
    indexes.push(spec);
  }
  return { name, columns, values, indexes, dedup: tableDedup, sql: table.sql ?? [] };
}

function _eventId(e: LogEvent): string | null {
  return e.id ?? null;
}

function _compileValue(value: SqliteValue, nullIf: string | null): (e: LogEvent) => unknown {
  if (typeof value === "string") {
    const render = compileTemplate(value);
    if (nullIf === null) return render;
    return (e) => {
      const text = render(e);
      return text === nullIf ? null : text;
    };
  }
  if (typeof value !== "function") {
    throw new TypeError(
      `sqliteSink: a value must be a template string or a function, got ${typeof value}`,
    );
  }
  return (e) => _bindable(value(e));
}

function _bindable(v: unknown): unknown {
  switch (typeof v) {
    case "string":
    case "bigint":
      return v;
    case "number":
      return Number.isFinite(v) ? v : null;
    case "boolean":
      return v ? 1 : 0;
    case "undefined":
      return null;
    case "object":
      if (v === null || v instanceof Uint8Array) return v;
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
      return toJson(v);
    default:
      return String(v);
  }
}

/**
 * JSON of any value (bigints as text), never throwing.
 *
 * @example
 * ```ts
 * import { toJson } from "./_sqlite_table.ts";
 * toJson({ n: 1n }); // {"n":"1"}
 * ```
 */
export function toJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? x.toString() : x) ?? "null";
  } catch {
    return String(v);
  }
}

/** A row the database refused, as JSON for the dead-letter table, when its event is not at hand. */
/**
 * A row the database refused, as JSON for the dead-letter table, when its event is not at hand.
 *
 * @example
 * ```ts
 * import { rowText } from "./_sqlite_table.ts";
 * rowText(null, [1], () => { throw new Error("none"); });
 * ```
 */
export function rowText(
  table: string | null,
  args: unknown[],
  defFor: (name: string) => TableDef,
): string {
  let columns: string[] = [];
  try {
    if (table !== null) columns = defFor(table).columns.map(([c]) => c);
  } catch {
    // no definition: the values stand alone
  }
  const values: Record<string, unknown> = {};
  args.forEach((v, k) => (values[columns[k] ?? `${k}`] = v));
  return toJson({ table, values });
}

/**
 * An event as JSON for the dead-letter table.
 *
 * @example
 * ```ts
 * import { eventText } from "./_sqlite_table.ts";
 * import { createEvent } from "../core/event.ts";
 * eventText(createEvent("x"));
 * ```
 */
export function eventText(e: LogEvent): string {
  const out = eventToJson(e);
  out.RECVD_MS = e.receivedAt;
  if (e.source !== undefined) out.SOURCE = e.source;
  return toJson(out);
}

/**
 * Quotes an identifier for SQL.
 *
 * @example
 * ```ts
 * import { quoteIdent } from "./_sqlite_table.ts";
 * quoteIdent("alerts"); // "\"alerts\""
 * ```
 */
export function quoteIdent(ident: string): string {
  return `"${ident.replaceAll('"', '""')}"`;
}

/**
 * Throws a TypeError naming the option unless `value` is an identifier.
 *
 * @example
 * ```ts
 * import { checkIdent } from "./_sqlite_table.ts";
 * checkIdent("sqliteSink", "table", "alerts");
 * ```
 */
export function checkIdent(where: string, option: string, value: string): void {
  if (typeof value !== "string" || !IDENT.test(value) || value.length > 128) {
    throw new TypeError(
      `${where}: "${option}" must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got "${value}"`,
    );
  }
}
