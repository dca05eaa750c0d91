/**
 * What the chaos harness checks at the end: rows in the central's database,
 * the VM's checkpoint, the ids the file's lines must have, a digest of ids.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";

/**
 * One row of a read-only query, or `undefined` while the database cannot be
 * read (being created, locked past 2 s).
 *
 * @param db The SQLite file.
 * @param sql The query.
 * @returns Its first row.
 *
 * @example
 * ```ts ignore
 * const n = queryOne<{ n: number }>("siem.db", "SELECT count(*) AS n FROM alerts")?.n;
 * ```
 */
export function queryOne<T>(db: string, sql: string): T | undefined {
  try {
    const conn = new DatabaseSync(db, { readOnly: true });
    try {
      conn.exec("PRAGMA busy_timeout = 2000");
      return conn.prepare(sql).get() as T;
    } finally {
      conn.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * The furthest `{ path, offset }` checkpoint of `path` in the VM's state
 * files, or -1.
 *
 * @param stateDir The runner's state directory.
 * @param path The tailed file.
 * @returns The offset.
 *
 * @example
 * ```ts ignore
 * const offset = await checkpointOf("/tmp/vm-state", "/tmp/alerts.jsonl");
 * ```
 */
export async function checkpointOf(stateDir: string, path: string): Promise<number> {
  let best = -1;
  const visit = (value: unknown) => {
    if (!value || typeof value !== "object") return;
    const v = value as Record<string, unknown>;
    if (v.path === path && typeof v.offset === "number") best = Math.max(best, v.offset);
    for (const child of Object.values(v)) visit(child);
  };
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".json")) {
        try {
          visit(JSON.parse(await Deno.readTextFile(p)));
        } catch {
          // being replaced
        }
      }
    }
  };
  await walk(stateDir).catch(() => {});
  return best;
}

/**
 * The ids the file-tail source gives the lines of `bytes`, after `prefix`.
 *
 * @param prefix The source's id prefix for the file.
 * @param bytes The file's content.
 * @returns One id per line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expectedIds } from "./_verify.ts";
 * assert.deepEqual(expectedIds("f:", new TextEncoder().encode("a\nbc\n")), ["f:000000000000", "f:000000000002"]);
 * ```
 */
export function expectedIds(prefix: string, bytes: Uint8Array): string[] {
  const ids: string[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, start)) {
    ids.push(prefix + String(start).padStart(12, "0"));
    start = nl + 1;
  }
  return ids;
}

/**
 * SHA-256 over the ids, each followed by a newline.
 *
 * @param ids The ids, in the order to hash.
 * @returns The hex digest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Lines } from "./_verify.ts";
 * assert.equal(sha256Lines([]).length, 64);
 * ```
 */
export function sha256Lines(ids: Iterable<string>): string {
  const h = createHash("sha256");
  for (const id of ids) h.update(id + "\n");
  return h.digest("hex");
}
