/**
 * The tables the dashboard owns, beside the SIEM tables: `users`,
 * `ui_sessions`, `alert_triage` (every triage change, history kept) and
 * `alert_triage_state` (each triaged alert's latest status, so a status
 * filter is an index lookup). One spec for every store adapter: an adapter
 * maps the portable types to its own and never invents a column.
 *
 * @module
 */

/**
 * A portable column type: `text` or `integer` (64-bit), optionally required.
 *
 * @example
 * ```ts
 * import type { UiColumnType } from "./ui_schema.ts";
 * const t: UiColumnType = "text not null";
 * ```
 */
export type UiColumnType = "text" | "text not null" | "integer" | "integer not null";

/**
 * One UI-owned table.
 *
 * @example
 * ```ts
 * import type { UiTableSpec } from "./ui_schema.ts";
 * const t: UiTableSpec = { columns: { name: "text not null" }, primaryKey: ["name"] };
 * ```
 */
export interface UiTableSpec {
  /** Column name → type, in order. */
  readonly columns: Readonly<Record<string, UiColumnType>>;
  /** The primary key's columns, if any. */
  readonly primaryKey?: readonly string[];
  /** Further (non-unique) indexes, each a list of columns. */
  readonly indexes?: ReadonlyArray<readonly string[]>;
}

/**
 * The UI-owned tables. Times are ISO 8601 UTC text like the SIEM tables';
 * `alert_triage.alert` is the alert's `seq` (SQLite's rowid of `alerts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UI_TABLES } from "./ui_schema.ts";
 * assert.ok("password_hash" in UI_TABLES.users!.columns);
 * ```
 */
export const UI_TABLES: Readonly<Record<string, UiTableSpec>> = {
  users: {
    columns: {
      name: "text not null",
      role: "text not null",
      password_hash: "text not null",
      created: "text not null",
    },
    primaryKey: ["name"],
  },
  ui_sessions: {
    columns: {
      token_hash: "text not null",
      user: "text not null",
      expires: "text not null",
      csrf_secret: "text not null",
    },
    primaryKey: ["token_hash"],
    indexes: [["expires"], ["user"]],
  },
  alert_triage: {
    columns: {
      alert: "integer not null",
      status: "text not null",
      note: "text not null",
      by: "text not null",
      at: "text not null",
    },
    indexes: [["alert"]],
  },
  alert_triage_state: {
    columns: { alert: "integer not null", status: "text not null" },
    primaryKey: ["alert"],
    indexes: [["status"]],
  },
};
