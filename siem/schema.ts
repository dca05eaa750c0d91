/**
 * The SIEM schema: the reference design's tables (`vms`, `alerts`,
 * `auth_events`, `firewall_events`, `docker_events`, `system_events`,
 * `heartbeats`), `addrwatch` from the home-network design and `objects` for
 * the object channel, as a preset for {@linkcode sqliteSink}; and
 * {@linkcode siemSqliteSink}, which routes each event to its table by
 * category (see `siem/categorize.ts`). docs/schema.md lists every column and
 * the field it reads; the tables are defined in siem/_schema_tables.ts.
 *
 * @module
 */

import { fieldGetter, type LogEvent } from "../core/event.ts";
import {
  type SqliteSchema,
  type SqliteSink,
  sqliteSink,
  type SqliteSinkOptions,
} from "../sinks/sqlite.ts";
import { SIEM_SCHEMA_TABLES } from "./_schema_tables.ts";
import { isSiemCategory, type SiemCategory, siemCategory } from "./categorize.ts";

/** The table each category is stored in. */
export const SIEM_TABLES: Readonly<Record<SiemCategory, string>> = {
  alerts: "alerts",
  auth: "auth_events",
  firewall: "firewall_events",
  docker: "docker_events",
  system: "system_events",
  heartbeat: "heartbeats",
  addrwatch: "addrwatch",
  object: "objects",
};

/**
 * The SIEM tables as a {@linkcode SqliteSchema}. Every table but `vms`
 * has an `id` column (the event id, UNIQUE) so replays store nothing twice;
 * `vms` is kept by a trigger on `heartbeats`, one row per host, and the
 * view `vm_overview` adds each VM's alert count, last alert and whether it
 * went silent (no heartbeat for three intervals).
 *
 * @example Use it with a table of your own choosing
 * ```ts
 * import { siemSchema } from "./schema.ts";
 * import { sqliteSink } from "../sinks/sqlite.ts";
 * const sink = sqliteSink({ database: "siem.db", schema: siemSchema, table: "alerts" });
 * ```
 */
export const siemSchema: SqliteSchema = {
  // Raise the version with every change to these tables: a database written by a newer version
  // is refused by older code (sinks/_sqlite_schema.ts). 1: versions kept in sluice_meta.
  name: "siem",
  version: 1,
  tables: SIEM_SCHEMA_TABLES,
};

/** Options for {@linkcode siemSqliteSink}: those of {@linkcode sqliteSink} but the table layout. */
export interface SiemSqliteSinkOptions
  extends Omit<SqliteSinkOptions, "schema" | "table" | "columns" | "values" | "indexes"> {
  /** The field holding the category (set by `categorize()`). @default {"category"} */
  categoryField?: string;
}

/**
 * An SQLite sink with the {@linkcode siemSchema} tables that stores each
 * event in the table of its category: `fields.category` when a
 * `categorize()` step set it, otherwise worked out here with
 * {@linkcode siemCategory} (events are never changed). A category that is
 * not one of the SIEM categories is dead-lettered.
 *
 * @param options Database and the other {@linkcode sqliteSink} options.
 * @returns The sink.
 *
 * @example The central's store
 * ```ts
 * import { siemSqliteSink } from "./schema.ts";
 * const sink = siemSqliteSink({ database: "/var/lib/sluice/siem.db" });
 * ```
 */
export function siemSqliteSink(options: SiemSqliteSinkOptions): SqliteSink {
  const { categoryField = "category", ...rest } = options;
  return sqliteSink({ ...rest, schema: siemSchema, table: siemTableOf(categoryField) });
}

/**
 * The routing of {@linkcode siemSqliteSink}, for the other stores' sinks
 * (`siemPostgresSink`, `siemMysqlSink`): the table of an event's category,
 * `fields.category` when set, else {@linkcode siemCategory}; a category
 * that is not a SIEM one gives a name no schema has (the row is dead-lettered).
 *
 * @param categoryField The field holding the category. @default {"category"}
 * @returns The table of an event.
 *
 * @example
 * ```ts
 * import { siemTableOf } from "./schema.ts";
 * import { createEvent } from "../core/event.ts";
 * siemTableOf()(createEvent("x", { fields: { category: "alerts" } })); // "alerts"
 * ```
 */
export function siemTableOf(categoryField = "category"): (e: LogEvent) => string {
  const getCategory = fieldGetter(categoryField);
  return (e) => {
    const c = getCategory(e);
    if (c === undefined || c === null || c === "") return SIEM_TABLES[siemCategory(e)];
    if (isSiemCategory(c)) return SIEM_TABLES[c];
    return `category ${String(c).slice(0, 60)}`;
  };
}
