/**
 * How the SQLite sink tells a row's problem (dead-letter it, go on) from a
 * table's (its rows fail) and from the database's (the batch fails and is
 * retried).
 *
 * @module
 */

import { errorMessage } from "../core/options.ts";

/**
 * A problem confined to one row: it is dead-lettered and the batch goes on.
 *
 * @example
 * ```ts
 * import { RowError } from "./_sqlite_errors.ts";
 * const err = new RowError('table "x-y" is not a valid identifier');
 * ```
 */
export class RowError extends Error {}

// Result codes (primary) a single row can cause: the rest of the batch can go on.
const _ROW_CODES = new Set([
  18, /* TOOBIG */
  19, /* CONSTRAINT */
  20, /* MISMATCH */
  25, /* RANGE */
]);

/**
 * SQLite's primary result codes that mean another connection holds the lock.
 *
 * @example
 * ```ts
 * import { BUSY_CODES } from "./_sqlite_errors.ts";
 * BUSY_CODES.has(5);
 * ```
 */
export const BUSY_CODES: ReadonlySet<number> = new Set([5, /* BUSY */ 6 /* LOCKED */]);

/**
 * The primary SQLite result code of an error, or -1.
 *
 * @param err What `node:sqlite` threw.
 * @returns The code.
 *
 * @example
 * ```ts
 * import { sqliteCode } from "./_sqlite_errors.ts";
 * sqliteCode(new Error("database is locked")); // 5
 * ```
 */
export function sqliteCode(err: unknown): number {
  const code = (err as { errcode?: unknown })?.errcode;
  if (typeof code === "number") return code & 0xff;
  // exec() errors carry no result code, only SQLite's message.
  const message = err instanceof Error ? err.message : "";
  if (message.includes("database is locked")) return 5;
  if (message.includes("database table is locked")) return 6;
  return -1;
}

/**
 * Whether an error is one row's problem.
 *
 * @param err What was thrown while rendering or inserting a row.
 * @returns `true` when the row is dead-lettered and the batch goes on.
 *
 * @example
 * ```ts
 * import { isRowError, RowError } from "./_sqlite_errors.ts";
 * isRowError(new RowError("x")); // true
 * ```
 */
export function isRowError(err: unknown): boolean {
  if (err instanceof RowError) return true;
  const code = (err as { code?: unknown })?.code;
  if (code === "ERR_SQLITE_ERROR") return _ROW_CODES.has(sqliteCode(err));
  // Anything else thrown while rendering a row (a value function, a binding) is that row's problem.
  return code === "ERR_INVALID_ARG_TYPE" || !(err instanceof Error && "errcode" in err);
}

// What SQLite says when the database itself is in trouble, not one table.
const _DATABASE_TROUBLE =
  /database is locked|database table is locked|disk is full|disk I\/O error|readonly database|out of memory|unable to open|malformed|interrupted|newer sluice/i;

/**
 * Whether an error making a table ready is that table's problem (its rows
 * fail) rather than the database's.
 *
 * @param err What was thrown.
 * @returns `true` for the table's problem.
 *
 * @example
 * ```ts
 * import { isTableError, RowError } from "./_sqlite_errors.ts";
 * isTableError(new RowError("x")); // true
 * ```
 */
export function isTableError(err: unknown): boolean {
  if (err instanceof RowError) return true;
  const code = (err as { errcode?: unknown })?.errcode;
  if (typeof code === "number") return _ROW_CODES.has(code & 0xff) || (code & 0xff) === 1;
  // exec() errors carry only the message.
  return !_DATABASE_TROUBLE.test(errorMessage(err));
}

/**
 * The error a failed batch is reported with, naming the database.
 *
 * @param err What was thrown.
 * @param database The database path.
 * @returns An error whose message starts with `sqliteSink:`.
 *
 * @example
 * ```ts
 * import { batchError } from "./_sqlite_errors.ts";
 * batchError(new Error("disk is full"), "siem.db").message;
 * ```
 */
export function batchError(err: unknown, database: string): Error {
  if (err instanceof Error && err.message.startsWith("sqliteSink:")) return err;
  return new Error(`sqliteSink: writing to "${database}" failed: ${errorMessage(err)}`, {
    cause: err,
  });
}
