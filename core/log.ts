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

const _encoder = new TextEncoder();

function _stderr(line: string): void {
  try {
    Deno.stderr.writeSync(_encoder.encode(line + "\n"));
  } catch {
    // stderr closed: logging must never take the pipeline down
  }
}

/**
 * Creates a logger. Lines look like
 * `2026-11-23T09:48:00.000Z WARN [sink db] write failed, retrying in 200 ms attempt=1`.
 *
 * @param level The least severe level written. @default {"info"}
 * @param writer Where lines go. @default stderr
 * @param component The component named in every line.
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
 * ```
 */
export function createLogger(
  level: LogLevel = "info",
  writer: LogWriter = _stderr,
  component?: string,
): Logger {
  const min = _RANK[level];
  const write = (
    lvl: Exclude<LogLevel, "silent">,
    message: string,
    extra?: Record<string, unknown>,
  ) => {
    if (_RANK[lvl] < min) return;
    let line = `${new Date().toISOString()} ${lvl.toUpperCase()}${
      component ? ` [${component}]` : ""
    } ${message}`;
    if (extra) {
      for (const key in extra) {
        const value = extra[key];
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
    child: (name) => createLogger(level, writer, component ? `${component} ${name}` : name),
  };
}
