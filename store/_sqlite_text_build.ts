/**
 * Builds (or brings up to date) a database's text index without a store:
 * for the bench and the tests.
 *
 * @module
 */

import { _Db, _openReadOnly } from "./_sqlite_db.ts";
import { _TextIndex } from "./_sqlite_text_index.ts";

/**
 * Builds (or brings up to date) the sidecar of a database in steps, without
 * a store: for the bench and the tests.
 *
 * @param database The SIEM database.
 * @param options The sidecar and the rows per step.
 * @returns Whether it is caught up, and the time taken.
 *
 * @example
 * ```ts ignore
 * import { _buildTextIndex } from "./_sqlite_text_build.ts";
 * const { done, ms } = _buildTextIndex("siem.db");
 * ```
 */
export function _buildTextIndex(
  database: string,
  options: { path?: string; stepRows?: number; maxSteps?: number } = {},
): { done: boolean; ms: number } {
  const started = performance.now();
  const db = new _Db(_openReadOnly(database));
  const idx = new _TextIndex(db, database, {
    ...(options.path !== undefined ? { path: options.path } : {}),
    background: false,
  });
  try {
    let done = false;
    for (let i = 0; !done && i < (options.maxSteps ?? Infinity); i++) {
      done = idx.step(options.stepRows ?? 5000);
      // No sidecar, or a step failed (busy, a broken file): the caller may try again later.
      if (!done && (!idx.usable || idx.failures > 0)) break;
    }
    return { done, ms: performance.now() - started };
  } finally {
    idx.close();
    db.close();
  }
}
