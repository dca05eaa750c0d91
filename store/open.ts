/**
 * Opens the store a `--db` value names: `sqlite:PATH` or a plain path for
 * SQLite; `postgres://…` / `postgresql://…` for PostgreSQL; `mysql://…` /
 * `mariadb://…` for MySQL or MariaDB. A server's client library is loaded
 * only when a server is named.
 *
 * @module
 */

import { sqliteFile } from "./target.ts";
import { maskUrl } from "../sinks/_sql_common.ts";
import { openSqliteStore } from "./sqlite.ts";
import type { SiemStore } from "./types.ts";

export type * from "./types.ts";

/**
 * Where a server's password comes from when the URL has none: `password`
 * given, else the file `SLUICE_DB_PASSWORD_FILE` names (its first line),
 * else `SLUICE_DB_PASSWORD`, else (Postgres only) `PGPASSWORD`.
 *
 * @example
 * ```ts
 * import type { OpenStoreOptions } from "./open.ts";
 * const options: OpenStoreOptions = { env: (name) => name === "SLUICE_DB_PASSWORD" ? "pw" : undefined };
 * ```
 */
export interface OpenStoreOptions {
  /** The password, taking precedence over the environment. */
  password?: string;
  /** Reads an environment variable. @default {Deno.env.get, undefined without permission} */
  env?: (name: string) => string | undefined;
}

function _env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The password for a server URL from the options or the environment
 * (see {@linkcode OpenStoreOptions}); `undefined` when the URL carries one
 * or none is set.
 *
 * @param target The server URL.
 * @param options Where else the password may come from.
 * @returns The password, or `undefined`.
 * @throws {Error} When `SLUICE_DB_PASSWORD_FILE` names a file that cannot be read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storePassword } from "./open.ts";
 * const env = (n: string) => (n === "SLUICE_DB_PASSWORD" ? "s3cret" : undefined);
 * assert.equal(storePassword("postgres://siem@db/siem", { env }), "s3cret");
 * assert.equal(storePassword("postgres://siem:inurl@db/siem", { env }), undefined);
 * ```
 */
export function storePassword(target: string, options: OpenStoreOptions = {}): string | undefined {
  if (options.password !== undefined) return options.password;
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^@]*@/i.test(target)) return undefined;
  const env = options.env ?? _env;
  const file = env("SLUICE_DB_PASSWORD_FILE");
  if (file) {
    try {
      return Deno.readTextFileSync(file).split(/\r?\n/)[0] ?? "";
    } catch (err) {
      throw new Error(
        `store: cannot read SLUICE_DB_PASSWORD_FILE "${file}": ${
          err instanceof Error ? err.message : String(err)
        }`,
      );
    }
  }
  const pw = env("SLUICE_DB_PASSWORD") || (/^postgres/i.test(target) ? env("PGPASSWORD") : "");
  return pw || undefined;
}

/**
 * Opens a store from a database target.
 *
 * @param target `sqlite:PATH`, a file path, or a server URL
 *   (`postgres://user@host:port/db`, `mysql://user@host:port/db`).
 * @param options The password when the URL has none (else the environment).
 * @returns The store; close it when done.
 * @throws {Error} When the file is missing or the server cannot be reached
 *   (the message shows the URL with its password masked).
 *
 * @example
 * ```ts ignore
 * import { openStore } from "./open.ts";
 * const store = await openStore("sqlite:./data/siem.db");
 * const pg = await openStore("postgres://siem@db.lan/siem"); // password from SLUICE_DB_PASSWORD
 * await store.close();
 * await pg.close();
 * ```
 */
export async function openStore(
  target: string,
  options: OpenStoreOptions = {},
): Promise<SiemStore> {
  if (/^(postgres|postgresql):\/\//i.test(target)) {
    const password = storePassword(target, options);
    const { openPostgresStore } = await import("./postgres.ts");
    return await openPostgresStore({
      url: target,
      ...(password !== undefined ? { password } : {}),
    });
  }
  if (/^(mysql|mariadb):\/\//i.test(target)) {
    const password = storePassword(target, options);
    const { openMysqlStore } = await import("./mysql.ts");
    return await openMysqlStore({ url: target, ...(password !== undefined ? { password } : {}) });
  }
  const database = sqliteFile(target);
  if (database === undefined) {
    throw new RangeError(
      `store: expected sqlite:PATH, a file, postgres:// or mysql://, got "${maskUrl(target)}"`,
    );
  }
  return await openSqliteStore({ database });
}
