/**
 * What the SQL server sinks (`postgresSink`, `mysqlSink`) share: the table
 * specs of the SQLite sink resolved once (the same columns, values and
 * indexes; siem/schema.ts is never copied), a batch rendered into rows per
 * table, values made safe for a server (NUL bytes stripped, indexed text cut
 * to what a B-tree key holds), and URLs with their password masked for logs.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { compileTemplate, type Template } from "../core/template.ts";
import { errorMessage } from "../core/options.ts";
import { isRowError, RowError } from "./_sqlite_errors.ts";
import {
  checkIdent,
  eventText,
  IDENT,
  resolveTable,
  type SqliteSchema,
  type TableDef,
} from "./_sqlite_table.ts";

/**
 * A schema resolved for a server: its tables by name and how an event
 * finds its table.
 *
 * @example
 * ```ts
 * import { resolveSqlSchema } from "./_sql_common.ts";
 * const s = resolveSqlSchema("x", { tables: { t: { columns: { a: "TEXT" }, values: { a: "${MSG}" } } } }, undefined);
 * s.defs.get("t")?.columns; // [["id", "TEXT"], ["a", "TEXT"]]
 * ```
 */
export interface SqlSchema {
  /** Table name → resolved definition (`id` first when deduplicated). */
  defs: Map<string, TableDef>;
  /** The schema's name and version for `sluice_meta`, when it has them. */
  version?: { name: string; version: number };
  /** The table of one event; throws a {@linkcode RowError} for a name not in the schema. */
  tableOf(e: LogEvent): string;
  /** The definition of a table; throws a {@linkcode RowError} for a name not in the schema. */
  defFor(name: string): TableDef;
}

/**
 * Resolves a schema (and the table option) once, checking names and types.
 *
 * @param where The sink's name, for errors.
 * @param schema The tables.
 * @param table A table name, template or function; required with several tables.
 * @returns The resolved schema.
 * @throws {TypeError} When a name, column or value is invalid.
 *
 * @example
 * ```ts
 * import { resolveSqlSchema } from "./_sql_common.ts";
 * resolveSqlSchema("x", { tables: { t: { columns: { a: "TEXT" }, values: { a: "${MSG}" } } } }, "t");
 * ```
 */
export function resolveSqlSchema(
  where: string,
  schema: SqliteSchema,
  table: Template | undefined,
): SqlSchema {
  if (!schema || typeof schema.tables !== "object") {
    throw new TypeError(`${where}: "schema" must have "tables"`);
  }
  const defs = new Map<string, TableDef>();
  for (const [name, t] of Object.entries(schema.tables)) {
    checkIdent(where, `schema.tables.${name}`, name);
    if (name.length > 56) throw new TypeError(`${where}: table name "${name}" is too long`);
    defs.set(name, resolveTable(`${where}: schema.tables.${name}`, name, t, true, true, ""));
  }
  if (defs.size === 0) throw new TypeError(`${where}: "schema" has no tables`);
  if (table === undefined) {
    if (defs.size > 1) throw new TypeError(`${where}: "table" is required with several tables`);
    table = [...defs.keys()][0] as string;
  }
  if (typeof table === "string" && !table.includes("$") && !defs.has(table)) {
    throw new TypeError(`${where}: "table" "${table}" is not in the schema`);
  }
  const render = compileTemplate(table);
  const defFor = (name: string): TableDef => {
    const def = IDENT.test(name) ? defs.get(name) : undefined;
    if (!def) throw new RowError(`table "${name.slice(0, 100)}" is not in the schema`);
    return def;
  };
  const out: SqlSchema = { defs, tableOf: (e) => render(e), defFor };
  if (schema.name !== undefined) out.version = { name: schema.name, version: schema.version ?? 0 };
  return out;
}

/** A batch rendered for a server: rows grouped by table, and the rows that cannot be stored. */
export interface SqlBatch {
  /** Table → rows of values in its column order. */
  byTable: Map<string, unknown[][]>;
  /** Rows that have no table or whose values could not be computed. */
  rejected: Array<{ table: string | null; id: string | null; error: string; event: string }>;
  /** NUL bytes removed from text values. */
  nulStripped: number;
  /** Indexed text values cut to the key limit. */
  truncated: number;
}

/** How values are made safe for one server. */
export interface SanitizeRules {
  /** Longest indexed text value in UTF-8 bytes (a B-tree key holds ~2.7 KB in Postgres, 3 KB in InnoDB). */
  indexedTextBytes: number;
}

const _encoder = new TextEncoder();

/** Cuts text to at most `max` UTF-8 bytes, on a character boundary. */
function _cut(s: string, max: number): string {
  if (s.length * 3 <= max) return s;
  const bytes = _encoder.encode(s);
  if (bytes.length <= max) return s;
  let end = max;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/**
 * Renders a batch into rows per table, sanitizing text values.
 *
 * @param schema The resolved schema.
 * @param batch The events.
 * @param rules The server's limits.
 * @returns The rows and what was changed or rejected.
 *
 * @example
 * ```ts
 * import { prepareSqlBatch, resolveSqlSchema } from "./_sql_common.ts";
 * import { createEvent } from "../core/event.ts";
 * const s = resolveSqlSchema("x", { tables: { t: { columns: { a: "TEXT" }, values: { a: "${MSG}" } } } }, "t");
 * prepareSqlBatch(s, [createEvent("a\u0000b")], { indexedTextBytes: 2000 }).nulStripped; // 1
 * ```
 */
export function prepareSqlBatch(
  schema: SqlSchema,
  batch: readonly LogEvent[],
  rules: SanitizeRules,
): SqlBatch {
  const out: SqlBatch = { byTable: new Map(), rejected: [], nulStripped: 0, truncated: 0 };
  const indexed = new Map<string, boolean[]>();
  for (const e of batch) {
    let name: string | null = null;
    try {
      name = schema.tableOf(e);
      const def = schema.defFor(name);
      let flags = indexed.get(name);
      if (!flags) {
        const cols = new Set(def.indexes.flatMap((i) => i.columns));
        flags = def.columns.map(([c, t]) => cols.has(c) && t.startsWith("TEXT") && c !== "id");
        indexed.set(name, flags);
      }
      const row = new Array(def.values.length);
      for (let k = 0; k < def.values.length; k++) {
        let v = (def.values[k] as (e: LogEvent) => unknown)(e);
        if (typeof v === "string") {
          if (v.includes("\0")) {
            v = v.replaceAll("\0", "");
            out.nulStripped++;
          }
          if (flags[k] && (v as string).length * 3 > rules.indexedTextBytes) {
            const cut = _cut(v as string, rules.indexedTextBytes);
            if (cut !== v) out.truncated++;
            v = cut;
          }
        }
        row[k] = v;
      }
      let rows = out.byTable.get(name);
      if (!rows) out.byTable.set(name, rows = []);
      rows.push(row);
    } catch (err) {
      if (!isRowError(err)) throw err;
      out.rejected.push({
        table: name,
        id: e.id ?? null,
        error: errorMessage(err),
        event: eventText(e),
      });
    }
  }
  return out;
}

/**
 * A database URL with its password replaced by `***`, for logs and errors.
 *
 * @param url The URL.
 * @returns The masked URL.
 *
 * @example
 * ```ts
 * import { maskUrl } from "./_sql_common.ts";
 * maskUrl("postgres://u:secret@db/siem"); // "postgres://u:***@db/siem"
 * ```
 */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, "$1***@");
}

/**
 * An error's message with every given secret masked.
 *
 * @param err The error.
 * @param secrets Texts never to show (passwords).
 * @returns The message.
 *
 * @example
 * ```ts
 * import { safeMessage } from "./_sql_common.ts";
 * safeMessage(new Error("bad pw hunter2"), ["hunter2"]); // "bad pw ***"
 * ```
 */
export function safeMessage(err: unknown, secrets: ReadonlyArray<string | undefined>): string {
  let m = errorMessage(err);
  for (const s of secrets) if (s) m = m.replaceAll(s, "***");
  return maskUrl(m);
}

/**
 * Runs `work` with a deadline: past it, `onTimeout` runs (it drops the
 * connection, so a half-open socket cannot hold the sink forever) and the
 * promise rejects with an error naming what hung. A transaction that
 * commits after all is harmless: the retry finds its ids stored.
 *
 * @param work The write.
 * @param ms The deadline.
 * @param what What is awaited, for the error.
 * @param onTimeout Called once at the deadline.
 * @returns What `work` resolves to.
 *
 * @example
 * ```ts
 * import { withDeadline } from "./_sql_common.ts";
 * await withDeadline(Promise.resolve(1), 1000, "a write", () => {});
 * ```
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} got no answer within ${ms} ms; the connection was dropped`));
    }, ms);
  });
  work.catch(() => {}); // a rejection after the deadline is not unhandled
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
