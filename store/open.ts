/**
 * Opens the store a `--db` value names: `sqlite:PATH` or a plain path for
 * SQLite; `postgres://…` and `mysql://…` are reserved for the SQL server
 * adapters (issue 25).
 *
 * @module
 */

import { openSqliteStore } from "./sqlite.ts";
import type { SiemStore } from "./types.ts";

/**
 * Opens a store from a database target.
 *
 * @param target `sqlite:PATH`, a file path, or a server URL.
 * @returns The store; close it when done.
 * @throws {Error} When the file is missing or the kind is not supported yet.
 *
 * @example
 * ```ts ignore
 * import { openStore } from "./open.ts";
 * const store = await openStore("sqlite:./data/siem.db");
 * await store.close();
 * ```
 */
export function openStore(target: string): Promise<SiemStore> {
  if (/^(postgres|postgresql|mysql|mariadb):\/\//i.test(target)) {
    const kind = target.slice(0, target.indexOf(":"));
    // The write side exists (sinks/postgres.ts, sinks/mysql.ts; the central's --db); reading does not yet.
    return Promise.reject(
      new Error(
        `store: reading a ${kind} database is not supported yet (issue 25): the central can store into one with --db, but query, tail and the dashboard read SQLite only`,
      ),
    );
  }
  const database = target.startsWith("sqlite:") ? target.slice("sqlite:".length) : target;
  return openSqliteStore({ database });
}
