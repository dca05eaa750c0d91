/**
 * What a `--db` target names, read without loading any store: a module with
 * no imports, so the examples can parse their options cheaply.
 *
 * @module
 */

/**
 * The SQLite file a store target names (`sqlite:PATH` or a plain path), or
 * `undefined` for a URL of any other scheme (a server).
 *
 * @param target What `--db` gave.
 * @returns The file, or `undefined`.
 *
 * @example
 * ```ts
 * import { sqliteFile } from "./target.ts";
 * sqliteFile("sqlite:data/siem.db"); // "data/siem.db"
 * sqliteFile("postgres://siem@db/siem"); // undefined
 * ```
 */
export function sqliteFile(target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) return undefined;
  return target.startsWith("sqlite:") ? target.slice("sqlite:".length) : target;
}
