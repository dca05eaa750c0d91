/**
 * The SQLite sink's DDL and migrations: the tables it needs are created
 * when missing and upgraded in place when they lack a column, in one
 * transaction at open (a table reached later through a template, in the
 * transaction of the batch that first reaches it). Migrations only add:
 * they never drop or rewrite a table, a column or a row.
 *
 * Versions live in the `sluice_meta` table (`key`, `value`): `format` is
 * this code's storage format ({@linkcode SQLITE_FORMAT_VERSION}) and
 * `schema.<name>` the version of a named {@linkcode SqliteSchema}. A
 * database that records a higher version than the code knows was written
 * by a newer sluice: the sink refuses to open it instead of writing rows
 * that code may not expect (downgrade refusal). A database from before
 * versioning has no `sluice_meta`: version 0, upgraded like any other.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "../core/log.ts";
import { quoteIdent, type TableDef } from "./_sqlite_table.ts";
import { checkVersion } from "../core/_state_version.ts";

/**
 * The storage format this code writes; raise it when the sink's own
 * tables (dead letters, `sluice_meta`) change in a way older code must not
 * write into.
 *
 * @example
 * ```ts
 * import { SQLITE_FORMAT_VERSION } from "./_sqlite_schema.ts";
 * console.log(SQLITE_FORMAT_VERSION);
 * ```
 */
export const SQLITE_FORMAT_VERSION = 1;

/**
 * The table of versions and migrations.
 *
 * @example
 * ```ts
 * import { META_TABLE } from "./_sqlite_schema.ts";
 * console.log(META_TABLE); // "sluice_meta"
 * ```
 */
export const META_TABLE = "sluice_meta";

/** What {@linkcode openSchema} makes ready. */
export interface OpenSchemaOptions {
  /** The database's path, for messages. */
  database: string;
  /** The dead-letter table's name. */
  deadLetter: string;
  /** Tables created (or upgraded) now. */
  tables: readonly TableDef[];
  /** Create tables `STRICT`. */
  strict: boolean;
  /** A named schema's version, checked and recorded. */
  schema?: { name: string; version: number };
  /** Told about each table created and each migration. */
  log?: Logger | undefined;
}

/** A zero of each type, for a `NOT NULL` column added to rows that predate it. */
const _ZERO: Record<string, string> = {
  TEXT: "''",
  INT: "0",
  INTEGER: "0",
  REAL: "0.0",
  BLOB: "x''",
  ANY: "''",
  NUMERIC: "0",
};

/**
 * In one transaction: checks the versions in `sluice_meta` (refusing a
 * database written by newer code), creates the dead-letter table and every
 * table in `tables` or adds the columns they lack, then records the
 * versions. Anything failing rolls all of it back and throws.
 *
 * @param d The writer's connection (not in a transaction).
 * @param options Tables, versions, names.
 * @throws {DowngradeError} On a database written by a newer sluice (nothing written).
 * @throws {Error} When SQLite refuses a statement.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { openSchema } from "./_sqlite_schema.ts";
 * const d = new DatabaseSync(":memory:");
 * openSchema(d, { database: ":memory:", deadLetter: "dead", tables: [], strict: true });
 * d.close();
 * ```
 */
export function openSchema(d: DatabaseSync, options: OpenSchemaOptions): void {
  d.exec("BEGIN IMMEDIATE");
  try {
    d.exec(
      `CREATE TABLE IF NOT EXISTS ${META_TABLE} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`,
    );
    const meta = new Map<string, string>();
    for (const row of d.prepare(`SELECT key, value FROM ${META_TABLE}`).all()) {
      meta.set(String(row.key), String(row.value));
    }
    const format = Number(meta.get("format") ?? 0);
    const db = options.database;
    checkVersion("sqliteSink", db, format, SQLITE_FORMAT_VERSION, "storage format");
    const schema = options.schema;
    const schemaKey = schema ? `schema.${schema.name}` : undefined;
    const stored = schemaKey ? Number(meta.get(schemaKey) ?? 0) : 0;
    if (schema) checkVersion("sqliteSink", db, stored, schema.version, `schema "${schema.name}"`);

    const dl = quoteIdent(options.deadLetter);
    d.exec(
      `CREATE TABLE IF NOT EXISTS ${dl} (ts TEXT NOT NULL, table_name TEXT, ` +
        `event_id TEXT, error TEXT NOT NULL, event TEXT NOT NULL)`,
    );
    d.exec(
      `CREATE UNIQUE INDEX IF NOT EXISTS ${
        quoteIdent(`${options.deadLetter}_event`)
      } ON ${dl} (table_name, event_id)`,
    );
    for (const def of options.tables) ensureTable(d, def, options.strict, options.log);

    const put = d.prepare(
      `INSERT INTO ${META_TABLE} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    );
    if (format < SQLITE_FORMAT_VERSION) put.run("format", String(SQLITE_FORMAT_VERSION));
    if (schema && schemaKey && stored < schema.version) {
      put.run(schemaKey, String(schema.version));
      if (stored > 0 || meta.size > 0) {
        options.log?.info(
          `upgraded schema "${schema.name}" from version ${stored} to ${schema.version}`,
        );
      }
    }
    d.exec("COMMIT");
  } catch (err) {
    try {
      if (d.isTransaction) d.exec("ROLLBACK");
    } catch {
      // SQLite rolls back on the next BEGIN
    }
    throw err;
  }
}

/**
 * Makes one table ready inside the caller's transaction: creates it when
 * missing; otherwise adds each column it lacks (`ALTER TABLE … ADD COLUMN`;
 * a `NOT NULL` column gets its type's zero as the default for the rows that
 * predate it) and records the migration in `sluice_meta`. Then its missing
 * indexes and its further statements.
 *
 * @param d The connection, in a write transaction.
 * @param def The table.
 * @param strict Create it `STRICT`.
 * @param log Told what was created or added.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { ensureTable } from "./_sqlite_schema.ts";
 * const d = new DatabaseSync(":memory:");
 * const def = { name: "t", columns: [["a", "TEXT"]] as Array<[string, string]>, values: [], indexes: [], dedup: false, sql: [] };
 * ensureTable(d, def, true);
 * d.close();
 * ```
 */
export function ensureTable(
  d: DatabaseSync,
  def: TableDef,
  strict: boolean,
  log?: Logger,
): void {
  const q = quoteIdent(def.name);
  const existing = d.prepare(`PRAGMA table_info(${q})`).all() as Array<{ name: string }>;
  if (existing.length === 0) {
    const cols = def.columns.map(([c, t]) => `${quoteIdent(c)} ${t}`).join(", ");
    d.exec(`CREATE TABLE IF NOT EXISTS ${q} (${cols})${strict ? " STRICT" : ""}`);
    log?.info(`created table "${def.name}"`);
  } else {
    const have = new Set(existing.map((c) => c.name));
    for (const [column, type] of def.columns) {
      if (have.has(column)) continue;
      const base = type.split(" ")[0] as string;
      const zero = / NOT NULL$/.test(type) ? ` DEFAULT ${_ZERO[base] ?? "''"}` : "";
      d.exec(`ALTER TABLE ${q} ADD COLUMN ${quoteIdent(column)} ${type}${zero}`);
      _recordMigration(d, `added column ${def.name}.${column} ${type}${zero}`);
      log?.info(`migrated table "${def.name}": added column "${column}" ${type}${zero}`);
    }
  }
  for (const index of def.indexes) {
    const name = quoteIdent(`${def.name}_${index.columns.join("_")}`);
    d.exec(
      `CREATE ${index.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${name} ON ${q} (${
        index.columns.map(quoteIdent).join(", ")
      })`,
    );
  }
  for (const statement of def.sql) d.exec(statement);
}

/** Keeps what a migration did, with its time, in `sluice_meta` (`migration.<what>`). */
function _recordMigration(d: DatabaseSync, what: string): void {
  d.exec(
    `CREATE TABLE IF NOT EXISTS ${META_TABLE} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`,
  );
  d.prepare(`INSERT OR IGNORE INTO ${META_TABLE} (key, value) VALUES (?, ?)`).run(
    `migration.${what}`,
    new Date().toISOString(),
  );
}
