/**
 * `sluice tail`: follows new rows of the SIEM database as they are stored,
 * with filters, one line per event coloured by severity.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { sleep } from "../core/backoff.ts";
import { severityNumber } from "../core/event.ts";
import { SIEM_TABLES } from "../siem/schema.ts";
import { isSiemCategory, SIEM_CATEGORIES, type SiemCategory } from "../siem/categorize.ts";

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

/** One stored row with its table. */
interface _Row {
  table: string;
  category: SiemCategory;
  time: string;
  values: Record<string, unknown>;
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
  if (typeof severity === "string") {
    const s = severity.trim().toLowerCase();
    if (s in _ANSI) return s;
    if (s === "medium" || s === "moderate") return "medium";
  }
  const n = severityNumber(severity);
  if (n === undefined) return undefined;
  return n <= 2 ? "critical" : n === 3 ? "high" : n === 4 ? "medium" : n === 5 ? "low" : "info";
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

function _line(row: _Row): string {
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
      return `${head} heartbeat version=${_s(v.version)} uptime=${_s(v.uptime)}s`;
    case "addrwatch":
      return `${head} arp ${_s(v.mac)} ${_s(v.ip)} ${_s(v.interface)}`.trimEnd();
    case "object":
      return `${head} object ${_s(v.kind)} ${_s(v.path)} sha256=${_s(v.sha256)}`;
    default:
      return `${head} ${_s(v.program) || "-"}: ${_s(v.message)}`;
  }
}

function _severityOf(row: _Row): unknown {
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
  if (categories.length === 0) return SIEM_CATEGORIES.filter((c) => c !== "heartbeat");
  const out: SiemCategory[] = [];
  for (const c of categories) {
    if (!isSiemCategory(c)) {
      throw new RangeError(
        `--category: expected one of ${SIEM_CATEGORIES.join(", ")}, got "${c}"`,
      );
    }
    if (!out.includes(c)) out.push(c);
  }
  return out;
}

/**
 * Follows the SIEM database until the signal aborts: every poll it reads
 * the rows stored since the last one (by rowid) in the tables of the chosen
 * categories, filters them by host and severity, and writes them in time
 * order. The connection is read-only, so it never blocks the central.
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
  const db = openReadOnly(options.database);
  try {
    const severityNames = new Set<string>();
    const severityNums = new Set<number>();
    for (const s of options.severities ?? []) {
      const name = s.trim().toLowerCase();
      severityNames.add(name);
      const cls = severityClass(name);
      if (cls === "critical") {
        for (const alias of ["critical", "crit"]) severityNames.add(alias);
      }
      const n = severityNumber(name);
      if (n !== undefined) severityNums.add(n);
    }
    const filtering = severityNames.size > 0;
    interface _Table {
      name: string;
      category: SiemCategory;
      time: string;
      max: { get(): unknown };
      rows: { all(...args: SQLInputValue[]): unknown[] };
      args: SQLInputValue[];
      last: number;
    }
    const tables: _Table[] = [];
    for (const category of categories) {
      const name = SIEM_TABLES[category];
      const cols = (db.prepare(`PRAGMA table_info("${name}")`).all() as Array<{ name: string }>)
        .map((c) => c.name);
      if (cols.length === 0) continue; // Not created yet.
      const time = cols.includes("timestamp") ? "timestamp" : "synced_at";
      const where: string[] = ["rowid > ?", "rowid <= ?"];
      const args: SQLInputValue[] = [];
      if (options.host !== undefined) {
        where.push("host = ?");
        args.push(options.host);
      }
      if (filtering) {
        if (category === "alerts") {
          where.push(`lower(severity) IN (${[...severityNames].map(() => "?").join(", ")})`);
          args.push(...severityNames);
        } else if (category === "system" && severityNums.size) {
          where.push(`severity IN (${[...severityNums].map(() => "?").join(", ")})`);
          args.push(...severityNums);
        } else continue;
      }
      tables.push({
        name,
        category,
        time,
        max: db.prepare(`SELECT coalesce(max(rowid), 0) AS m FROM "${name}"`),
        rows: db.prepare(
          `SELECT rowid AS "_rowid", * FROM "${name}" WHERE ${
            where.join(" AND ")
          } ORDER BY rowid LIMIT ${_PAGE}`,
        ),
        args,
        last: 0,
      });
    }
    const maxOf = (t: _Table) => Number((t.max.get() as { m: number | bigint }).m);
    for (const t of tables) {
      if (options.since === undefined) {
        t.last = maxOf(t);
        continue;
      }
      // Start before the first row stored with a time at or after `since`.
      const first = db.prepare(
        `SELECT min(rowid) AS r FROM "${t.name}" WHERE "${t.time}" >= ?`,
      ).get(new Date(options.since).toISOString()) as { r: number | bigint | null };
      t.last = first.r === null ? maxOf(t) : Number(first.r) - 1;
    }
    options.onReady?.();
    while (!signal.aborted) {
      const out: _Row[] = [];
      for (const t of tables) {
        const top = maxOf(t);
        if (top <= t.last) continue;
        const rows = t.rows.all(t.last, top, ...t.args) as Array<Record<string, unknown>>;
        // A full page leaves the rest for the next poll.
        t.last = rows.length >= _PAGE ? Number(rows.at(-1)?._rowid) : top;
        for (const values of rows) {
          delete values._rowid;
          out.push({ table: t.name, category: t.category, time: _s(values[t.time]), values });
        }
      }
      out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      for (const row of out) {
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
    db.close();
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
  try {
    if (!Deno.statSync(database).isFile) throw new Error("not a file");
  } catch {
    throw new Error(`no database at "${database}" (give --db or set SLUICE_DB)`);
  }
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA query_only = ON");
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
