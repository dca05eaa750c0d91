/**
 * Versions of what sluice keeps between runs: state files, manifests and
 * SQLite tables outside a sink's schema. One rule everywhere (issue 27):
 * what carries no version was written before versions existed and reads as
 * version 0, upgraded on the next write; what carries a higher version than
 * this code knows was written by a newer sluice, and the component stops
 * with a {@linkcode DowngradeError} naming the file, both versions and the
 * downgrade, without writing to it.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/**
 * The key of a state file's version, beside the component's own keys.
 *
 * @example
 * ```ts
 * import { VERSION_KEY } from "./_state_version.ts";
 * console.log(VERSION_KEY); // "$version"
 * ```
 */
export const VERSION_KEY = "$version";

/**
 * What a newer sluice wrote and this one will not write to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DowngradeError } from "./_state_version.ts";
 * const err = new DowngradeError("tail", "/var/lib/sluice/state/a.json", 2, 1);
 * assert.equal(err.found, 2);
 * ```
 */
export class DowngradeError extends Error {
  /** The file or database. */
  readonly target: string;
  /** The version it records. */
  readonly found: number;
  /** The highest version this code knows. */
  readonly known: number;

  /**
   * @param component Named first in the message.
   * @param target The file or database.
   * @param found The version it records.
   * @param known The highest version this code knows.
   * @param what What is versioned. @default {"state file format"}
   */
  constructor(
    component: string,
    target: string,
    found: number,
    known: number,
    what = "state file format",
  ) {
    super(
      `${component}: "${target}" was written by a newer sluice (${what} version ${found}, this sluice knows up to ${known}); refusing to write to it: a downgrade would lose what the newer version keeps there. Run the newer sluice, or move "${target}" aside to start afresh`,
    );
    this.name = "DowngradeError";
    this.target = target;
    this.found = found;
    this.known = known;
  }
}

/**
 * Throws a {@linkcode DowngradeError} when `found` is above `known` (or not a number).
 *
 * @param component Named first in the message.
 * @param target The file or database.
 * @param found The version it records (0 when it records none).
 * @param known The highest version this code knows.
 * @param what What is versioned. @default {"state file format"}
 * @throws {DowngradeError} When `found > known`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkVersion } from "./_state_version.ts";
 * checkVersion("tail", "a.json", 1, 1);
 * assert.throws(() => checkVersion("tail", "a.json", 2, 1), /newer sluice/);
 * ```
 */
export function checkVersion(
  component: string,
  target: string,
  found: number,
  known: number,
  what?: string,
): void {
  if (!(found <= known)) throw new DowngradeError(component, target, found, known, what);
}

/** Options of {@linkcode readVersioned}. */
export interface ReadVersionedOptions {
  /** Named first in a refusal. */
  component: string;
  /** The highest version this code knows. */
  version: number;
}

/**
 * Reads a JSON state file that keeps its version under {@linkcode VERSION_KEY}.
 *
 * @param path The file.
 * @param options The component and the version this code knows.
 * @returns The version (0 when the file has none) and the other keys, or `undefined` when there is no file.
 * @throws {DowngradeError} When a newer sluice wrote the file.
 * @throws {SyntaxError | TypeError} When the file is not a JSON object (the caller decides what a corrupt file means).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readVersioned, writeVersioned } from "./_state_version.ts";
 * const dir = await Deno.makeTempDir();
 * await writeVersioned(`${dir}/s.json`, { cursor: "c1" }, 1);
 * const read = await readVersioned(`${dir}/s.json`, { component: "s", version: 1 });
 * assert.deepEqual(read, { version: 1, value: { cursor: "c1" } });
 * ```
 */
export async function readVersioned(
  path: string,
  options: ReadVersionedOptions,
): Promise<{ version: number; value: Record<string, unknown> } | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TypeError(`${options.component}: "${path}" is not a JSON object`);
  }
  const value = parsed as Record<string, unknown>;
  const stored = value[VERSION_KEY];
  const version = stored === undefined ? 0 : typeof stored === "number" ? stored : NaN;
  checkVersion(options.component, path, version, options.version);
  delete value[VERSION_KEY];
  return { version, value };
}

/**
 * Writes a JSON state file with its version first: to a temporary file
 * beside it, fsynced, then renamed over it, so a crash leaves the old file
 * or the new one, never a torn one. (The directory is not fsynced: a state
 * file that loses the rename to a power cut is the previous one, and what
 * was acknowledged after it comes again, deduplicated by id.)
 *
 * @param path The file.
 * @param value The component's keys.
 * @param version The version this code writes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeVersioned } from "./_state_version.ts";
 * const dir = await Deno.makeTempDir();
 * await writeVersioned(`${dir}/s.json`, { offset: 7 }, 1);
 * assert.equal(await Deno.readTextFile(`${dir}/s.json`), '{"$version":1,"offset":7}');
 * ```
 */
export async function writeVersioned(
  path: string,
  value: Record<string, unknown>,
  version: number,
): Promise<void> {
  const tmp = `${path}.tmp`;
  const text = JSON.stringify(Object.assign({ [VERSION_KEY]: version }, value, {
    [VERSION_KEY]: version,
  }));
  const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await f.write(new TextEncoder().encode(text));
    await f.sync();
  } finally {
    f.close();
  }
  await Deno.rename(tmp, path);
}

/** Options of {@linkcode openVersionedTables}. */
export interface VersionedTablesOptions {
  /** Named first in a refusal. */
  component: string;
  /** The database's path, for messages. */
  database: string;
  /** The tables' name in `sluice_meta` (`schema.<name>`). */
  name: string;
  /** The version of the tables this code makes. */
  version: number;
  /** Statements that create the tables or bring them from any older version to this one; each must be safe to run again. */
  ddl: readonly string[];
}

function _stored(db: DatabaseSync, key: string): number {
  try {
    const row = db.prepare("SELECT value FROM sluice_meta WHERE key = ?").get(key);
    return row ? Number(row.value) : 0;
  } catch (err) {
    if (/no such table/.test(String(err))) return 0;
    throw err;
  }
}

/**
 * Makes tables that live beside a sink's schema in a SQLite database (the
 * host registry, respond's decisions) ready under a version kept in
 * `sluice_meta` as `schema.<name>`, as the SQLite sink keeps its own: a
 * database already at this version costs one read; an older one runs
 * `ddl` and records the version in one `BEGIN IMMEDIATE` transaction (all
 * or nothing, once); a newer one is refused before anything is written.
 *
 * @param db An open connection, not in a transaction.
 * @param options The tables, their version and their statements.
 * @throws {DowngradeError} When a newer sluice recorded a higher version.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { openVersionedTables } from "./_state_version.ts";
 * const db = new DatabaseSync(":memory:");
 * openVersionedTables(db, {
 *   component: "notes",
 *   database: ":memory:",
 *   name: "notes",
 *   version: 1,
 *   ddl: ["CREATE TABLE IF NOT EXISTS notes (text TEXT)"],
 * });
 * db.close();
 * ```
 */
export function openVersionedTables(db: DatabaseSync, options: VersionedTablesOptions): void {
  const key = `schema.${options.name}`;
  const what = `schema "${options.name}"`;
  const before = _stored(db, key);
  checkVersion(options.component, options.database, before, options.version, what);
  if (before === options.version) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Another process may have upgraded it between the read and the lock.
    const stored = _stored(db, key);
    checkVersion(options.component, options.database, stored, options.version, what);
    for (const statement of options.ddl) db.exec(statement);
    db.exec(
      "CREATE TABLE IF NOT EXISTS sluice_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
    );
    db.prepare(
      "INSERT INTO sluice_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(key, String(options.version));
    db.exec("COMMIT");
  } catch (err) {
    try {
      if (db.isTransaction) db.exec("ROLLBACK");
    } catch {
      // SQLite rolls back on the next BEGIN
    }
    throw err;
  }
}
