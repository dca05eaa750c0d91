/**
 * The central's `--db` option: where the SIEM tables are stored. `sqlite:PATH`
 * (the default, `--data`/siem.db), `postgres://user@host:port/db` or
 * `mysql://user@host:port/db` (MariaDB too). A server's password comes from
 * the URL, `SLUICE_DB_PASSWORD`, or the file named by `--db-password-file`
 * (`SLUICE_DB_PASSWORD_FILE`, first line); it is never logged: URLs are shown
 * with `***` in its place. The server's client library is loaded only when
 * a server is named, so a SQLite central carries neither.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import type { SiemStore } from "../store/types.ts";
import { maskUrl } from "../sinks/_sql_common.ts";
import { sqliteFile } from "../store/target.ts";
import { option } from "./_options.ts";
import { importLate } from "../core/lazy.ts";

/** Where the central stores its SIEM tables. */
export interface DbTarget {
  /** The kind of store. */
  kind: "sqlite" | "postgres" | "mysql";
  /** The SQLite file, or the server URL as given. */
  target: string;
  /** The URL with its password masked, for logs. */
  shown: string;
  /** The password from the environment or a file, when the URL has none. */
  password?: string;
}

/**
 * Resolves `--db` (and the password) from arguments and environment.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param data The data directory (SQLite's default home).
 * @returns The target.
 * @throws {RangeError} For an unknown scheme or a SQLite path other than `--data`/siem.db.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dbTarget } from "./_db.ts";
 * const t = dbTarget(["--db", "postgres://siem:pw@db/siem"], {}, "./data");
 * assert.equal(t.kind, "postgres");
 * assert.equal(t.shown, "postgres://siem:***@db/siem");
 * ```
 */
export function dbTarget(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  data: string,
): DbTarget {
  const fallback = `sqlite:${data}/siem.db`;
  const target = option(
    args,
    env,
    "db",
    fallback,
    "where the SIEM tables go: sqlite:PATH, postgres://user@host/db or mysql://user@host/db (password from the URL, SLUICE_DB_PASSWORD or --db-password-file)",
  );
  const file = option(
    args,
    env,
    "db-password-file",
    "",
    "a file whose first line is the database server's password",
  );
  const shown = maskUrl(target);
  if (/^(postgres|postgresql|mysql|mariadb):\/\//i.test(target)) {
    const kind = /^postgres/i.test(target) ? "postgres" : "mysql";
    let password: string | undefined = env.SLUICE_DB_PASSWORD || undefined;
    if (file) {
      password = Deno.readTextFileSync(file).split(/\r?\n/)[0] ?? "";
    }
    return { kind, target, shown, ...(password !== undefined ? { password } : {}) };
  }
  const path = sqliteFile(target);
  if (path === undefined) {
    throw new RangeError(`--db: expected sqlite:PATH, postgres:// or mysql://, got "${shown}"`);
  }
  if (path !== `${data}/siem.db`) {
    throw new RangeError(
      `--db: the central's SQLite store is --data/siem.db ("${data}/siem.db"); give --data to move it, got "${path}"`,
    );
  }
  return { kind: "sqlite", target: path, shown: path };
}

/**
 * The SIEM store sink for a server target (`siemPostgresSink` or
 * `siemMysqlSink`, imported when the sink opens), or `undefined` for SQLite.
 *
 * @param target From {@linkcode dbTarget}.
 * @param name The sink's name.
 * @returns The sink, or `undefined`.
 *
 * @example
 * ```ts
 * import { dbTarget, serverDbSink } from "./_db.ts";
 * const sink = serverDbSink(dbTarget([], {}, "./data"), "db"); // undefined: SQLite
 * ```
 */
export function serverDbSink(target: DbTarget, name: string): Sink | undefined {
  if (target.kind === "sqlite") return undefined;
  const pw = target.password !== undefined ? { password: target.password } : {};
  const load = target.kind === "postgres"
    ? async () =>
      (await importLate<typeof import("../sinks/postgres.ts")>(
        new URL("../sinks/postgres.ts", import.meta.url),
      )).siemPostgresSink({ url: target.target, name, ...pw })
    : async () =>
      (await importLate<typeof import("../sinks/mysql.ts")>(
        new URL("../sinks/mysql.ts", import.meta.url),
      )).siemMysqlSink({ url: target.target, name, ...pw });
  let inner: Sink | undefined;
  return {
    kind: target.kind,
    name,
    maxBatch: 5000,
    queueSize: 10_000,
    async open(ctx: SinkContext): Promise<void> {
      inner = await load();
      await inner.open(ctx);
    },
    write(batch: readonly LogEvent[]): Promise<void> {
      if (!inner) return Promise.reject(new Error(`${target.kind}: write() before open()`));
      return inner.write(batch);
    },
    async close(): Promise<void> {
      await inner?.close();
    },
  };
}

/**
 * Opens the store of a server target with its password (for the dashboard):
 * store/open.ts, imported only when called.
 *
 * @param target A server target from {@linkcode dbTarget}.
 * @returns A function opening the store at `target.target`.
 *
 * @example
 * ```ts
 * import { dbTarget, serverStoreOpener } from "./_db.ts";
 * const open = serverStoreOpener(dbTarget(["--db", "postgres://siem@db/siem"], {}, "./data"));
 * // const store = await open("postgres://siem@db/siem");
 * ```
 */
export function serverStoreOpener(target: DbTarget): (url: string) => Promise<SiemStore> {
  const pw = target.password !== undefined ? { password: target.password } : {};
  return async (url) =>
    (await importLate<typeof import("../store/open.ts")>(
      new URL("../store/open.ts", import.meta.url),
    )).openStore(url, pw);
}

/**
 * Refuses `--retain-db` with a server target: the archive service moves rows
 * out of `--data`/siem.db only, so it would delete nothing on the server.
 *
 * @param target From {@linkcode dbTarget}.
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @throws {RangeError} With a server target and `--retain-db` (`SLUICE_RETAIN_DB`) set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dbTarget, refuseServerRetention } from "./_db.ts";
 * const args = ["--db", "postgres://siem@db/siem", "--retain-db", "30d"];
 * assert.throws(() => refuseServerRetention(dbTarget(args, {}, "./data"), args, {}), RangeError);
 * ```
 */
export function refuseServerRetention(
  target: DbTarget,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): void {
  if (target.kind === "sqlite") return;
  const retain = option(args, env, "retain-db", "");
  if (retain !== "" && retain !== "off") {
    throw new RangeError(
      `--retain-db archives --data/siem.db; the SIEM tables are on ${target.shown}: use the server's own retention (partitions, a DELETE job)`,
    );
  }
}
