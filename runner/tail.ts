/**
 * `sluice tail`: follows new rows of the SIEM database as they are stored,
 * with filters, one line per event coloured by severity.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { sleep } from "../core/backoff.ts";
import type { SiemCategory } from "../siem/categorize.ts";
import { openStore } from "../store/open.ts";
import { severityClass as _severityClass } from "../store/severity.ts";
import { openSqliteReadOnly } from "../store/sqlite.ts";
import { tailCategories as _tailCategories } from "../store/tail_filter.ts";
import type { EventRow, TailFilter } from "../store/types.ts";

/** Options for {@linkcode tailDatabase}. */
export interface TailOptions {
  /** The SIEM database. */
  database: string;
  /** Categories to follow (`alerts`, `auth` …). @default every category but `heartbeat` */
  categories?: readonly string[];
  /** Only rows of these severities (`critical`, `high`, syslog names); tables without a severity are left out. */
  severities?: readonly string[];
  /** Only rows of this host. */
  host?: string;
  /** Also print rows stored since this time (ms); only new rows when left out. */
  since?: number;
  /** How often the database is read, in ms. @default {500} */
  pollMs?: number;
  /** `text` (one line per event) or `json` (one JSON object per line). @default {"text"} */
  format?: "text" | "json";
  /** Colour text lines by severity. @default {false} */
  color?: boolean;
  /** Called once the starting point is known (tests wait for it). */
  onReady?: () => void;
}

const _ANSI: Record<string, string> = {
  critical: "\x1b[1;31m",
  high: "\x1b[31m",
  medium: "\x1b[33m",
  low: "\x1b[36m",
  info: "\x1b[2m",
};
const _RESET = "\x1b[0m";
const _PAGE = 10_000;

/**
 * The colour class of a severity: `critical`, `high`, `medium`, `low` or `info`.
 *
 * @param severity An alert severity name or a syslog severity (name or 0–7).
 * @returns The class, or `undefined` when the value names no severity.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { severityClass } from "./tail.ts";
 * assert.ok(severityClass("crit") === "critical" && severityClass(4) === "medium");
 * ```
 */
export function severityClass(severity: unknown): string | undefined {
  return _severityClass(severity);
}

/**
 * Wraps text in the ANSI colour of a severity.
 *
 * @param text The text.
 * @param severity The severity it has.
 * @returns The coloured text (the text itself for no severity).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { colorBySeverity } from "./tail.ts";
 * assert.ok(colorBySeverity("x", "critical").startsWith("\x1b["));
 * assert.ok(colorBySeverity("x", undefined) === "x");
 * ```
 */
export function colorBySeverity(text: string, severity: unknown): string {
  const c = severityClass(severity);
  return c ? `${_ANSI[c]}${text}${_RESET}` : text;
}

function _s(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
}

function _line(row: EventRow): string {
  const v = row.values;
  const head = `${row.time} ${_s(v.host) || "-"}`;
  switch (row.category) {
    case "alerts":
      return `${head} ${(_s(v.severity) || "-").toUpperCase()} ${_s(v.rule) || "-"} ${
        _s(v.message) || _s(v.file)
      }${v.hash ? ` ${_s(v.hash)}` : ""}`.trimEnd();
    case "auth":
      return `${head} auth ${_s(v.outcome)} user=${_s(v.user)} from ${_s(v.src_ip)}${
        v.method ? ` (${_s(v.method)})` : ""
      }`;
    case "firewall":
      return `${head} firewall ${_s(v.action) || "-"} ${_s(v.proto)} ${_s(v.src)}${
        v.spt !== null && v.spt !== undefined ? `:${_s(v.spt)}` : ""
      } -> ${_s(v.dst)}${v.dpt !== null && v.dpt !== undefined ? `:${_s(v.dpt)}` : ""}`;
    case "docker":
      return `${head} docker ${_s(v.type)} ${_s(v.action)} ${_s(v.name)} ${_s(v.image)}`.trimEnd();
    case "heartbeat":
      return `${head} heartbeat version=${_s(v.version)} uptime=${_s(v.uptime_s ?? v.uptime)}s`;
    case "addrwatch":
      return `${head} arp ${_s(v.mac)} ${_s(v.ip)} ${_s(v.interface)}`.trimEnd();
    case "object":
      return `${head} object ${_s(v.kind)} ${_s(v.path)} sha256=${_s(v.sha256)}`;
    default:
      return `${head} ${_s(v.program) || "-"}: ${_s(v.message)}`;
  }
}

function _severityOf(row: EventRow): unknown {
  return row.category === "alerts" || row.category === "system" ? row.values.severity : undefined;
}

/**
 * Lists the categories `tail` follows for a `--category` value.
 *
 * @param categories Category names; all but `heartbeat` when empty.
 * @returns The categories.
 * @throws {RangeError} When a name is not a category.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tailCategories } from "./tail.ts";
 * assert.ok(!tailCategories([]).includes("heartbeat"));
 * ```
 */
export function tailCategories(categories: readonly string[] = []): SiemCategory[] {
  return _tailCategories(categories);
}

/**
 * Follows the SIEM database until the signal aborts: every poll it reads,
 * through the store, the rows stored since the last one (by row number) in
 * the tables of the chosen categories, filtered by host and severity, and
 * writes them in time order. The connection is read-only, so it never
 * blocks the central.
 *
 * @param options Database, filters, format.
 * @param write Receives each output line (without newline).
 * @param signal Stops following.
 * @throws {Error} When the database does not exist.
 *
 * @example
 * ```ts ignore
 * import { tailDatabase } from "./tail.ts";
 * const stop = new AbortController();
 * await tailDatabase({ database: "siem.db", severities: ["critical"] }, console.log, stop.signal);
 * ```
 */
export async function tailDatabase(
  options: TailOptions,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const categories = tailCategories(options.categories);
  const pollMs = options.pollMs ?? 500;
  const store = await openStore(options.database);
  try {
    const filter: TailFilter = {
      categories,
      severities: options.severities ?? [],
      ...(options.host !== undefined ? { host: options.host } : {}),
    };
    let cursor = await store.tailStart({
      ...filter,
      ...(options.since !== undefined ? { since: options.since } : {}),
    });
    options.onReady?.();
    while (!signal.aborted) {
      const batch = await store.tailRead(cursor, filter, _PAGE);
      cursor = batch.cursor;
      for (const row of batch.rows) {
        if (options.format === "json") {
          write(JSON.stringify({ table: row.table, category: row.category, ...row.values }));
        } else {
          const line = _line(row);
          write(options.color ? colorBySeverity(line, _severityOf(row)) : line);
        }
      }
      await sleep(pollMs, signal);
    }
  } finally {
    await store.close();
  }
}

/**
 * Opens a database read-only (and `query_only`, so attached files stay
 * untouched too), waiting out a writer's brief locks.
 *
 * @param database The file.
 * @returns The connection.
 * @throws {Error} When the file does not exist or is not a database.
 *
 * @example
 * ```ts ignore
 * import { openReadOnly } from "./tail.ts";
 * const db = openReadOnly("siem.db");
 * ```
 */
export function openReadOnly(database: string): DatabaseSync {
  return openSqliteReadOnly(database);
}
