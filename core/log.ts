/**
 * A small leveled logger that writes one line per message to stderr.
 *
 * @module
 */

/** Log levels, from the most to the least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const _RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

/** Writes log lines for one component. */
export interface Logger {
  /** Detail for debugging. */
  debug(message: string, extra?: Record<string, unknown>): void;
  /** Normal operation. */
  info(message: string, extra?: Record<string, unknown>): void;
  /** Something went wrong and was handled (a retry, a dropped connection). */
  warn(message: string, extra?: Record<string, unknown>): void;
  /** Something went wrong that needs attention. */
  error(message: string, extra?: Record<string, unknown>): void;
  /** A logger with the same level and output that names a component. */
  child(component: string): Logger;
}

/** Where log lines go. */
export type LogWriter = (line: string) => void;

/**
 * How a line is written: `plain` (`2026-… WARN [sink db] message key=value`) for a
 * terminal, `json` (one object a line) for journald and log collectors.
 *
 * @example
 * ```ts
 * import type { LogFormat } from "./log.ts";
 * const format: LogFormat = "json";
 * ```
 */
export type LogFormat = "plain" | "json";

let _format: LogFormat = "plain";

/**
 * Sets the format of the loggers created from now on without an explicit one (the
 * runner's `--log-format`): every logger of the process then writes alike.
 *
 * @param format `plain` or `json`.
 * @throws {RangeError} For any other value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setLogFormat } from "./log.ts";
 * setLogFormat("plain");
 * assert.throws(() => setLogFormat("xml" as "json"), RangeError);
 * ```
 */
export function setLogFormat(format: LogFormat): void {
  if (format !== "plain" && format !== "json") {
    throw new RangeError(`--log-format: expected plain or json, got "${format}"`);
  }
  _format = format;
}

const _URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]*@/gi;
const _SECRET_KEY = /(^|[_-])(pass(word|phrase)?|secret|token|private_?key|credentials?)$/i;

/**
 * Masks the password of every `scheme://user:password@host` URL in a text, so a
 * connection string can be logged or printed.
 *
 * @param text Any text.
 * @returns The text with each URL password replaced by `***`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactSecrets } from "./log.ts";
 * assert.equal(
 *   redactSecrets("cannot open postgres://sluice:hunter2@db/siem"),
 *   "cannot open postgres://sluice:***@db/siem",
 * );
 * ```
 */
export function redactSecrets(text: string): string {
  return text.includes("@") ? text.replace(_URL_PASSWORD, "$1:***@") : text;
}

function _value(key: string, value: unknown): unknown {
  if (_SECRET_KEY.test(key) && value !== undefined && value !== null && value !== "") return "***";
  return typeof value === "string" ? redactSecrets(value) : value;
}

const _encoder = new TextEncoder();

function _stderr(line: string): void {
  try {
    Deno.stderr.writeSync(_encoder.encode(line + "\n"));
  } catch {
    // stderr closed: logging must never take the pipeline down
  }
}

/**
 * Creates a logger. Plain lines look like
 * `2026-11-23T09:48:00.000Z WARN [sink db] write failed, retrying in 200 ms attempt=1`;
 * JSON lines like `{"ts":"…","level":"warn","component":"sink db","msg":"…","attempt":1}`.
 * URL passwords are masked and the values of keys that name a secret
 * (`password`, `passphrase`, `token`, …) are written as `***`.
 *
 * @param level The least severe level written. @default {"info"}
 * @param writer Where lines go. @default stderr
 * @param component The component named in every line.
 * @param format `plain` or `json`. @default {the format set by {@linkcode setLogFormat}, plain}
 * @returns A logger.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * const lines: string[] = [];
 * const log = createLogger("info", (l) => lines.push(l)).child("source net");
 * log.debug("hidden");
 * log.warn("peer went away", { peer: "127.0.0.1" });
 * assert.ok(lines.length === 1 && lines[0]!.includes("[source net]"));
 * const json: string[] = [];
 * createLogger("info", (l) => json.push(l), "sink db", "json").info("ok", { rows: 2 });
 * assert.equal(JSON.parse(json[0]!).rows, 2);
 * ```
 */
export function createLogger(
  level: LogLevel = "info",
  writer: LogWriter = _stderr,
  component?: string,
  format: LogFormat = _format,
): Logger {
  const min = _RANK[level];
  const write = (
    lvl: Exclude<LogLevel, "silent">,
    message: string,
    extra?: Record<string, unknown>,
  ) => {
    if (_RANK[lvl] < min) return;
    if (format === "json") {
      const record: Record<string, unknown> = {
        ts: new Date().toISOString(),
        level: lvl,
        ...(component ? { component } : {}),
        msg: redactSecrets(message),
      };
      if (extra) {
        for (const key in extra) {
          if (!(key in record)) record[key] = _value(key, extra[key]);
        }
      }
      let line: string;
      try {
        line = JSON.stringify(record);
      } catch {
        line = JSON.stringify({ ts: record.ts, level: lvl, component, msg: record.msg });
      }
      writer(line);
      return;
    }
    let line = `${new Date().toISOString()} ${lvl.toUpperCase()}${
      component ? ` [${component}]` : ""
    } ${redactSecrets(message)}`;
    if (extra) {
      for (const key in extra) {
        const value = _value(key, extra[key]);
        line += ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`;
      }
    }
    writer(line);
  };
  return {
    debug: (m, e) => write("debug", m, e),
    info: (m, e) => write("info", m, e),
    warn: (m, e) => write("warn", m, e),
    error: (m, e) => write("error", m, e),
    child: (name) => createLogger(level, writer, component ? `${component} ${name}` : name, format),
  };
}
