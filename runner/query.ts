/**
 * `sluice query …` and `sluice tail`: answers the daily questions from the
 * SIEM database over a read-only connection, while the central writes.
 *
 * ```sh
 * sluice query critical --since 24h
 * sluice query rules
 * sluice query host vm-1
 * sluice query auth --failed --top 10
 * sluice query hosts
 * sluice query objects --hash 3f2a…
 * sluice query sql "SELECT rule, count(*) FROM alerts GROUP BY rule"
 * sluice tail --severity critical
 * ```
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { type Command, Option } from "../core/_deps/commander.ts";
import { openReadOnly, severityClass, tailCategories, tailDatabase } from "./tail.ts";

/** Where the query commands write, and what they know of the terminal. */
export interface QueryIo {
  /** Writes text to standard output (the text carries its newlines). */
  write(text: string): void;
  /** Writes a status line to standard error (`tail` says when it follows). */
  info(text: string): void;
  /** Whether standard output is a terminal (colours, live output). */
  readonly isTerminal: boolean;
  /** The terminal's width in columns; tables are not cut when unknown. */
  readonly columns: number | undefined;
  /** Reads an environment variable (`NO_COLOR`, `SLUICE_DB`). */
  env(name: string): string | undefined;
  /** Stops `tail` (SIGINT/SIGTERM by default). */
  readonly signal?: AbortSignal;
}

/** An output format. */
export type QueryFormat = "table" | "json" | "csv";

/** A result: its column names and rows (values by column). */
export interface QueryResult {
  /** The column names, in order. */
  columns: string[];
  /** The rows, each a record of column name → value. */
  rows: Array<Record<string, unknown>>;
}

const _encoder = new TextEncoder();

function _denoIo(): QueryIo {
  const isTerminal = Deno.stdout.isTerminal();
  let columns: number | undefined;
  if (isTerminal) {
    try {
      columns = Deno.consoleSize().columns;
    } catch {
      columns = undefined;
    }
  }
  if (columns === undefined) {
    const env = Number(Deno.env.get("COLUMNS"));
    if (Number.isInteger(env) && env > 0) columns = env;
  }
  return {
    write(text) {
      const bytes = _encoder.encode(text);
      let n = 0;
      while (n < bytes.length) n += Deno.stdout.writeSync(bytes.subarray(n));
    },
    info(text) {
      try {
        Deno.stderr.writeSync(_encoder.encode(text + "\n"));
      } catch {
        // stderr closed: the status line is not needed
      }
    },
    isTerminal,
    columns,
    env: (name) => Deno.env.get(name),
  };
}

const _UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Reads a duration: `90s`, `30m`, `24h`, `7d`, `2w`, `1h30m`, `500ms`.
 *
 * @param text The duration.
 * @returns Milliseconds, or `undefined` when the text is not a duration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./query.ts";
 * assert.ok(parseDuration("1h30m") === 5_400_000);
 * assert.ok(parseDuration("soon") === undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (!/^(\d+(\.\d+)?(ms|s|min|m|h|d|w))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|min|m|h|d|w)/g)) {
    total += Number(m[1]) * (_UNITS[m[2] as string] as number);
  }
  return total;
}

/**
 * Reads a point in time: a duration back from now (`24h`), a date
 * (`2026-11-23`, midnight UTC) or an ISO 8601 time.
 *
 * @param text The time.
 * @param now What "now" is, in ms. @default {Date.now()}
 * @param option The option's name, for the error.
 * @returns Milliseconds since the epoch.
 * @throws {RangeError} When the text is neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTime } from "./query.ts";
 * assert.ok(parseTime("1h", 7_200_000) === 3_600_000);
 * assert.ok(parseTime("2026-01-02") === Date.UTC(2026, 0, 2));
 * ```
 */
export function parseTime(text: string, now: number = Date.now(), option = "--since"): number {
  const d = parseDuration(text);
  if (d !== undefined) return now - d;
  const t = text.trim();
  const ms = /^\d{4}-\d\d-\d\d$/.test(t) ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t);
  if (Number.isNaN(ms)) {
    throw new RangeError(
      `${option}: expected a duration (30m, 24h, 7d) or a date (2026-11-23, 2026-11-23T10:00:00Z), got "${text}"`,
    );
  }
  return ms;
}

function _cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v).replace(/[\r\n\t]+/g, " ");
}

function _csvCell(v: unknown): string {
  const s = v === null || v === undefined
    ? ""
    : typeof v === "object" && !(v instanceof Uint8Array)
    ? JSON.stringify(v)
    : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function _jsonValue(_k: string, v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return btoa(String.fromCharCode(...v));
  return v;
}

/**
 * Renders a result as a table that fits `width` (the widest columns are
 * cut with `…`), as JSON, or as CSV (RFC 4180). A table colours its
 * `severity` and `status` cells when `color` is on. No rows is an answer:
 * a table says `(no rows)`, JSON is `[]`, CSV is the header alone.
 *
 * @param result Columns and rows.
 * @param format The format.
 * @param options Width and colour for tables.
 * @returns The text, ending in a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderResult } from "./query.ts";
 * const text = renderResult({ columns: ["rule", "hits"], rows: [{ rule: "R1", hits: 3 }] }, "csv");
 * assert.ok(text === "rule,hits\nR1,3\n");
 * ```
 */
export function renderResult(
  result: QueryResult,
  format: QueryFormat,
  options: { width?: number | undefined; color?: boolean } = {},
): string {
  const { columns, rows } = result;
  if (format === "json") return JSON.stringify(rows, _jsonValue, 2) + "\n";
  if (format === "csv") {
    const lines = [columns.map(_csvCell).join(",")];
    for (const r of rows) lines.push(columns.map((c) => _csvCell(r[c])).join(","));
    return lines.join("\n") + "\n";
  }
  if (rows.length === 0) return "(no rows)\n";
  const cells = rows.map((r) => columns.map((c) => _cell(r[c])));
  const widths = columns.map((c, i) =>
    cells.reduce((w, row) => Math.max(w, (row[i] as string).length), c.length)
  );
  const gap = 2;
  const width = options.width;
  if (width !== undefined) {
    // Cut the widest column one character at a time until the table fits (or cannot shrink).
    const min = columns.map((c) => Math.min(Math.max(c.length, 4), 8));
    let total = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
    while (total > width) {
      let widest = -1;
      for (let i = 0; i < widths.length; i++) {
        if (
          (widths[i] as number) > (min[i] as number) &&
          (widest < 0 || (widths[i] as number) > (widths[widest] as number))
        ) widest = i;
      }
      if (widest < 0) break;
      widths[widest] = (widths[widest] as number) - 1;
      total--;
    }
  }
  const fit = (s: string, w: number) => (s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s);
  const colored = new Set(["severity", "status"]);
  const line = (row: string[], header: boolean) =>
    row.map((s, i) => {
      const w = widths[i] as number;
      const text = fit(s, w);
      const last = i === row.length - 1;
      const padded = last ? text : text.padEnd(w);
      if (!options.color || header) return padded;
      const col = columns[i] as string;
      if (!colored.has(col)) return padded;
      const cls = col === "status"
        ? (s === "silent" ? "critical" : s === "stale" ? "medium" : undefined)
        : severityClass(s);
      const code = cls === "critical"
        ? "\x1b[1;31m"
        : cls === "high"
        ? "\x1b[31m"
        : cls === "medium"
        ? "\x1b[33m"
        : cls === "low"
        ? "\x1b[36m"
        : undefined;
      return code ? `${code}${padded}\x1b[0m` : padded;
    }).join(" ".repeat(gap));
  const out = [line(columns, true), line(widths.map((w) => "-".repeat(w)), true)];
  for (const row of cells) out.push(line(row, false));
  return out.map((l) => l.trimEnd()).join("\n") + "\n";
}

/** Options every query subcommand takes. */
interface _Common {
  db?: string;
  since?: string;
  until?: string;
  format: QueryFormat;
  limit: string;
}

function _database(options: _Common, io: QueryIo): string {
  return options.db ?? io.env("SLUICE_DB") ?? "./data/siem.db";
}

function _limit(options: _Common): number {
  const n = Number(options.limit);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`--limit: expected a positive integer, got "${options.limit}"`);
  }
  return n;
}

/** SQL conditions and their arguments, built up by a query. */
class _Where {
  readonly sql: string[] = [];
  readonly args: SQLInputValue[] = [];
  add(condition: string, ...args: SQLInputValue[]): this {
    this.sql.push(condition);
    this.args.push(...args);
    return this;
  }
  /** `--since`/`--until` on a time column (ISO text); no condition for a bound not given, so indexes stay usable. */
  range(column: string, options: _Common, defaultSince?: string): this {
    const now = Date.now();
    const since = options.since ?? defaultSince;
    if (since !== undefined) {
      this.add(`${column} >= ?`, new Date(parseTime(since, now, "--since")).toISOString());
    }
    if (options.until !== undefined) {
      this.add(`${column} < ?`, new Date(parseTime(options.until, now, "--until")).toISOString());
    }
    return this;
  }
  get clause(): string {
    return this.sql.length ? `WHERE ${this.sql.join(" AND ")}` : "";
  }
}

function _run(
  db: DatabaseSync,
  sql: string,
  args: SQLInputValue[] = [],
  hint = true,
): QueryResult {
  let stmt;
  try {
    stmt = db.prepare(sql);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const table = hint ? /no such table: (\S+)/.exec(message) : null;
    if (table) {
      throw new Error(
        `the database has no table ${table[1]}: is it a sluice SIEM database (siemSqliteSink)?`,
      );
    }
    throw err;
  }
  const columns = stmt.columns().map((c) => c.name);
  return { columns, rows: stmt.all(...args) as Array<Record<string, unknown>> };
}

function _withDb<T>(options: _Common, io: QueryIo, f: (db: DatabaseSync) => T): T {
  const db = openReadOnly(_database(options, io));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

function _color(io: QueryIo): boolean {
  const noColor = io.env("NO_COLOR");
  return io.isTerminal && (noColor === undefined || noColor === "");
}

function _print(io: QueryIo, options: _Common, result: QueryResult): void {
  io.write(renderResult(result, options.format, { width: io.columns, color: _color(io) }));
}

/** Runs one read-only query against the database the options name, and prints its rows. */
function _printQuery(io: QueryIo, options: _Common, sql: string, args: SQLInputValue[]): void {
  _print(io, options, _withDb(options, io, (db) => _run(db, sql, args)));
}

/**
 * The VM registry with each host's status, how long ago it was seen, and its
 * alert count. A host's own heartbeat interval (`interval_s`) wins over the
 * default.
 */
function _hosts(
  db: DatabaseSync,
  tail: string,
  args: SQLInputValue[],
  now: number,
  interval: number,
): QueryResult {
  const have = new Set(
    (db.prepare(`PRAGMA table_info("vms")`).all() as Array<{ name: string }>).map((c) => c.name),
  );
  if (have.size === 0) _run(db, "SELECT * FROM vms"); // Names the missing table.
  const pick = ["first_seen", "source_ip", "version", "interval_s", "heartbeats", "services"]
    .filter((c) => have.has(c));
  const result = _run(
    db,
    `SELECT v.host, v.last_seen, ${pick.map((c) => `v.${c}`).join(", ")}${pick.length ? "," : ""}
            (SELECT count(*) FROM alerts a WHERE a.host = v.host) AS alerts
     FROM vms v ${tail}`,
    args,
  );
  for (const r of result.rows) {
    const own = typeof r.interval_s === "number" && r.interval_s > 0
      ? r.interval_s * 1000
      : interval;
    r.status = _status(r.last_seen, now, own);
    r.seen = _ago(r.last_seen, now);
  }
  result.columns.splice(1, 0, "status", "seen");
  return result;
}

/** Host status from its last sighting: ok, stale (a heartbeat or two missed) or silent. */
function _status(lastSeen: unknown, now: number, intervalMs: number): string {
  const ms = typeof lastSeen === "string" ? Date.parse(lastSeen) : NaN;
  if (Number.isNaN(ms)) return "unknown";
  const age = now - ms;
  return age <= 2 * intervalMs ? "ok" : age <= 3 * intervalMs ? "stale" : "silent";
}

function _ago(lastSeen: unknown, now: number): string {
  const ms = typeof lastSeen === "string" ? Date.parse(lastSeen) : NaN;
  if (Number.isNaN(ms)) return "";
  let s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  s = Math.round(s / 60);
  if (s < 120) return `${s}m`;
  s = Math.round(s / 60);
  return s < 48 ? `${s}h` : `${Math.round(s / 24)}d`;
}

/** The index of the first `;` that ends a statement with more text after it, or -1. */
function _secondStatement(sql: string): number {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`" || c === "[") {
      const close = c === "[" ? "]" : c;
      i = sql.indexOf(close, i + 1);
      if (i < 0) return -1;
      i++;
      continue;
    }
    if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      if (nl < 0) return -1;
      i = nl + 1;
      continue;
    }
    if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) return -1;
      i = end + 2;
      continue;
    }
    if (c === ";") {
      const rest = sql.slice(i + 1).replace(/--[^\n]*|\/\*[\s\S]*?\*\/|[\s;]/g, "");
      return rest === "" ? -1 : i;
    }
    i++;
  }
  return -1;
}

function _common(cmd: Command, defaultSince?: string): Command {
  return cmd
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .option(
      "--since <time>",
      `from this time: a duration back (30m, 24h, 7d) or a date${
        defaultSince ? ` (default ${defaultSince})` : ""
      }`,
    )
    .option("--until <time>", "up to this time: a duration back or a date")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json", "csv"]).default(
        "table",
      ),
    )
    .option("--limit <n>", "most rows", "100");
}

/**
 * Adds `query` (with its subcommands `critical`, `alerts`, `rules`, `host`,
 * `auth`, `hosts`, `objects`, `sql`) and `tail` to a commander program.
 * Every command opens the database read-only (`--db`, else `$SLUICE_DB`,
 * else `./data/siem.db`), so it works while the central writes and can
 * change nothing; `--since`/`--until` take durations (`24h`) or dates;
 * `--format table|json|csv`; tables fit the terminal and are coloured only
 * on a terminal without `NO_COLOR`. An option with a bad value throws a
 * `RangeError` whose message starts with the option (`--since: …`).
 *
 * @param program The program to extend.
 * @param io Where output goes. @default standard output and the environment
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerQueryCommands } from "./query.ts";
 * const program = registerQueryCommands(new Command("sluice"));
 * assert.ok(program.commands.some((c) => c.name() === "query"));
 * ```
 */
export function registerQueryCommands(program: Command, io: QueryIo = _denoIo()): Command {
  const query = program.command("query").description(
    "answer questions from the SIEM database (read-only)",
  );

  _common(
    query.command("critical").description("critical alerts, newest first"),
    "24h",
  ).action((options: _Common) => {
    const where = new _Where().add("lower(severity) IN ('critical', 'crit')").range(
      "timestamp",
      options,
      "24h",
    );
    _printQuery(
      io,
      options,
      `SELECT timestamp, host, severity, rule, file, hash, message FROM alerts
           ${where.clause} ORDER BY timestamp DESC LIMIT ?`,
      [...where.args, _limit(options)],
    );
  });

  _common(query.command("alerts").description("alerts, newest first, with filters"))
    .option("--severity <names>", "only these severities, comma-separated")
    .option("--host <name>", "only this host")
    .option("--rule <name>", "only this rule")
    .action((options: _Common & { severity?: string; host?: string; rule?: string }) => {
      const where = new _Where().range("timestamp", options);
      if (options.severity) {
        const names = options.severity.split(",").map((s) => s.trim().toLowerCase()).filter(
          Boolean,
        );
        where.add(`lower(severity) IN (${names.map(() => "?").join(", ")})`, ...names);
      }
      if (options.host) where.add("host = ?", options.host);
      if (options.rule) where.add("rule = ?", options.rule);
      _printQuery(
        io,
        options,
        `SELECT timestamp, host, severity, rule, file, hash, message FROM alerts
             ${where.clause} ORDER BY timestamp DESC LIMIT ?`,
        [...where.args, _limit(options)],
      );
    });

  _common(query.command("rules").description("hits per rule, most first"))
    .action((options: _Common) => {
      const where = new _Where().range("timestamp", options);
      _printQuery(
        io,
        options,
        `SELECT coalesce(rule, '(none)') AS rule, count(*) AS hits,
                    count(DISTINCT host) AS hosts,
                    group_concat(DISTINCT lower(severity)) AS severities,
                    min(timestamp) AS first, max(timestamp) AS last
             FROM alerts ${where.clause}
             GROUP BY rule ORDER BY hits DESC, rule LIMIT ?`,
        [...where.args, _limit(options)],
      );
    });

  _common(
    query.command("host").description("a host: its status, recent alerts and stored files")
      .argument("<name>", "the host name"),
  )
    .option("--interval <duration>", "the heartbeat interval of hosts that report none", "60s")
    .action((name: string, options: _Common & { interval: string }) => {
      const interval = _interval(options.interval);
      const alertsWhere = new _Where().add("host = ?", name).range("timestamp", options);
      const filesWhere = new _Where().add("host = ?", name).range("synced_at", options);
      const limit = _limit(options);
      const now = Date.now();
      const sections = _withDb(options, io, (db) => {
        const vm = _hosts(db, "WHERE v.host = ?", [name], now, interval);
        const alerts = _run(
          db,
          `SELECT timestamp, severity, rule, file, hash, message FROM alerts
           ${alertsWhere.clause} ORDER BY timestamp DESC LIMIT ?`,
          [...alertsWhere.args, limit],
        );
        const files = _run(
          db,
          `SELECT synced_at, kind, path, size, sha256, remote FROM objects
           ${filesWhere.clause} ORDER BY synced_at DESC LIMIT ?`,
          [...filesWhere.args, limit],
        );
        return { host: vm, alerts, files };
      });
      if (options.format === "json") {
        io.write(
          JSON.stringify(
            {
              host: sections.host.rows[0] ?? null,
              alerts: sections.alerts.rows,
              files: sections.files.rows,
            },
            _jsonValue,
            2,
          ) + "\n",
        );
        return;
      }
      const parts: string[] = [];
      for (const [title, result] of Object.entries(sections)) {
        const text = renderResult(result, options.format, {
          width: io.columns,
          color: _color(io),
        });
        parts.push(options.format === "csv" ? `# ${title}\n${text}` : `${title}:\n${text}`);
      }
      io.write(parts.join("\n"));
    });

  _common(query.command("auth").description("source addresses of SSH logins, most failures first"))
    .option("--failed", "only addresses with failed logins")
    .option("--top <n>", "how many addresses", "10")
    .action((options: _Common & { failed?: boolean; top: string }) => {
      const top = Number(options.top);
      if (!Number.isInteger(top) || top < 1) {
        throw new RangeError(`--top: expected a positive integer, got "${options.top}"`);
      }
      const where = new _Where().add("src_ip IS NOT NULL").range("timestamp", options);
      // pam_unix repeats each failed password: counting it would count attempts twice.
      const failed = `outcome = 'failure' AND coalesce(method, '') <> 'pam_unix'`;
      _printQuery(
        io,
        options,
        `SELECT src_ip, sum(CASE WHEN ${failed} THEN 1 ELSE 0 END) AS failures,
                    sum(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS successes,
                    count(DISTINCT CASE WHEN ${failed} OR outcome = 'invalid_user' THEN user END)
                      AS users,
                    count(DISTINCT host) AS hosts,
                    min(timestamp) AS first, max(timestamp) AS last
             FROM auth_events ${where.clause}
             GROUP BY src_ip ${options.failed ? "HAVING failures > 0" : ""}
             ORDER BY failures DESC, successes DESC, src_ip LIMIT ?`,
        [...where.args, top],
      );
    });

  _common(query.command("hosts").description("every host with its status: ok, stale or silent"))
    .option("--interval <duration>", "the heartbeat interval of hosts that report none", "60s")
    .action((options: _Common & { interval: string }) => {
      const interval = _interval(options.interval);
      const now = Date.now();
      _print(
        io,
        options,
        _withDb(
          options,
          io,
          (db) => _hosts(db, "ORDER BY v.host LIMIT ?", [_limit(options)], now, interval),
        ),
      );
    });

  _common(query.command("objects").description("stored objects (samples, dumps), newest first"))
    .option("--hash <sha256>", "only this SHA-256 (or a prefix of at least 8 hex digits)")
    .option("--host <name>", "only this host")
    .action((options: _Common & { hash?: string; host?: string }) => {
      const where = new _Where().range("synced_at", options);
      if (options.hash !== undefined) {
        const h = options.hash.trim().toLowerCase();
        if (!/^[0-9a-f]{8,64}$/.test(h)) {
          throw new RangeError(
            `--hash: expected a SHA-256 or a prefix of at least 8 hex digits, got "${options.hash}"`,
          );
        }
        if (h.length === 64) where.add("sha256 = ?", h);
        else where.add("sha256 >= ? AND sha256 < ?", h, `${h}g`);
      }
      if (options.host) where.add("host = ?", options.host);
      _printQuery(
        io,
        options,
        `SELECT synced_at, host, kind, path, size, sha256, remote FROM objects
             ${where.clause} ORDER BY synced_at DESC LIMIT ?`,
        [...where.args, _limit(options)],
      );
    });

  query.command("sql")
    .description("run one read-only SQL statement")
    .argument("<statement>", 'the SQL, e.g. "SELECT rule, count(*) FROM alerts GROUP BY rule"')
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json", "csv"]).default(
        "table",
      ),
    )
    .action((sql: string, options: _Common) => {
      if (_secondStatement(sql) >= 0) {
        throw new RangeError("query sql: give one statement at a time");
      }
      const result = _withDb(options, io, (db) => {
        try {
          return _run(db, sql, [], false);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (/readonly|read-only|query_only/i.test(message)) {
            throw new Error(`query sql: refused, the database is opened read-only (${message})`);
          }
          throw new Error(`query sql: ${message}`);
        }
      });
      _print(io, options, result);
    });

  program.command("tail")
    .description("follow new events as the central stores them (Ctrl-C stops)")
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .option("--severity <names>", "only these severities, comma-separated (critical, high …)")
    .option("--host <name>", "only this host")
    .option(
      "--category <names>",
      "only these categories, comma-separated (alerts, auth, firewall, docker, system, heartbeat, addrwatch, object)",
    )
    .option("--since <time>", "first print what was stored since then (30m, 2026-11-23)")
    .option("--poll <duration>", "how often the database is read", "500ms")
    .addOption(
      new Option("--format <format>", "text lines or JSON lines").choices(["text", "json"])
        .default("text"),
    )
    .action(async (options: {
      db?: string;
      severity?: string;
      host?: string;
      category?: string;
      since?: string;
      poll: string;
      format: "text" | "json";
    }) => {
      const list = (s: string | undefined) =>
        s === undefined ? [] : s.split(",").map((x) => x.trim()).filter(Boolean);
      const categories = list(options.category);
      tailCategories(categories); // Validates before anything opens.
      const pollMs = parseDuration(options.poll);
      if (pollMs === undefined || pollMs <= 0) {
        throw new RangeError(`--poll: expected a duration (500ms, 2s), got "${options.poll}"`);
      }
      const since = options.since === undefined ? undefined : parseTime(options.since);
      const stop = new AbortController();
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      const onSignal = () => stop.abort();
      if (!io.signal) { for (const s of signals) Deno.addSignalListener(s, onSignal); }
      io.signal?.addEventListener("abort", onSignal, { once: true });
      if (io.signal?.aborted) stop.abort();
      const database = options.db ?? io.env("SLUICE_DB") ?? "./data/siem.db";
      try {
        await tailDatabase(
          {
            database,
            categories,
            severities: list(options.severity),
            ...(options.host !== undefined ? { host: options.host } : {}),
            ...(since !== undefined ? { since } : {}),
            pollMs,
            format: options.format,
            color: _color(io),
            onReady: () => io.info(`following ${database} (Ctrl-C stops)`),
          },
          (line) => io.write(line + "\n"),
          stop.signal,
        );
      } finally {
        if (!io.signal) { for (const s of signals) Deno.removeSignalListener(s, onSignal); }
        io.signal?.removeEventListener("abort", onSignal);
      }
    });
  return program;
}

function _interval(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new RangeError(`--interval: expected a duration (60s, 5m), got "${text}"`);
  }
  return ms;
}
