/**
 * The Postgres sink's tables at open: `sluice_meta` with the schema's
 * version (a database written by a newer version is refused), the
 * dead-letter table, each table with its indexes and missing columns, and
 * the caller's further statements, all under an advisory lock so several
 * centrals opening at once do not race.
 *
 * @module
 */

import type postgres from "../core/_deps/postgres.ts";
import { checkVersion } from "../core/_state_version.ts";
import type { SqlSchema } from "./_sql_common.ts";
import { pgIdent, pgTableSql } from "./_sql_pg_copy.ts";

const _META = "sluice_meta";

/**
 * Creates or upgrades the schema's tables in one transaction under an advisory lock.
 *
 * @param s The pool.
 * @param schema The resolved schema.
 * @param deadLetter The dead-letter table's name (checked).
 * @param extra Further idempotent statements (triggers, views).
 * @param where The sink's name, for errors.
 * @param shown The masked URL, for errors.
 * @returns When the tables exist.
 * @throws {DowngradeError} When the database was written by a newer schema.
 *
 * @example
 * ```ts ignore
 * import { pgEnsureSchema } from "./_sql_pg_schema.ts";
 * await pgEnsureSchema(sql, schema, "sluice_dead_letter", [], "postgresSink", "postgres://u:***@db/siem");
 * ```
 */
export async function pgEnsureSchema(
  s: postgres.Sql,
  schema: SqlSchema,
  deadLetter: string,
  extra: readonly string[],
  where: string,
  shown: string,
): Promise<void> {
  await s.begin(async (tx) => {
    await tx.unsafe(`SELECT pg_advisory_xact_lock(hashtext('sluice schema'))`);
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${_META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    );
    const key = schema.version ? `schema.${schema.version.name}` : undefined;
    if (key && schema.version) {
      const [row] = await tx.unsafe(`SELECT value FROM ${_META} WHERE key = $1`, [key]);
      const stored = Number(row?.value ?? 0);
      const { name, version } = schema.version;
      checkVersion(where, shown, stored, version, `schema "${name}"`);
    }
    await tx.unsafe(
      `CREATE TABLE IF NOT EXISTS ${pgIdent(deadLetter)} (ts TIMESTAMPTZ NOT NULL DEFAULT now(), ` +
        `table_name TEXT, event_id TEXT, error TEXT NOT NULL, event TEXT NOT NULL)`,
    );
    for (const def of schema.defs.values()) {
      const cols = await tx.unsafe(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
        [def.name],
      );
      const existing = new Set(cols.map((r) => String(r.column_name)));
      for (const statement of pgTableSql(def, existing)) await tx.unsafe(statement);
    }
    for (const statement of extra) await tx.unsafe(statement);
    if (key && schema.version) {
      await tx.unsafe(
        `INSERT INTO ${_META} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [key, String(schema.version.version)],
      );
    }
  });
}
