/**
 * The central's store sink when `--db` names a SQL server: the server's SIEM
 * sink, wrapped so that the sshd rules count what every central sharing
 * that server stored (siem/correlate_shared.ts, docs/sql-servers.md). A
 * SQLite central keeps its sink unwrapped: no extra reads.
 *
 * @module
 */

import type { Sink } from "../core/types.ts";
import type { Correlation } from "../siem/correlate.ts";
import { sharedRules } from "../siem/correlate_shared.ts";
import { type DbTarget, serverDbSink, serverStoreOpener } from "./_db.ts";

/**
 * The server's SIEM sink with the rules' windows shared through it, or
 * `undefined` for SQLite.
 *
 * @param target From `dbTarget`.
 * @param name The sink's name.
 * @param rules The pipeline's own rule steps (their windows are read and marked).
 * @returns The sink, or `undefined`.
 *
 * @example
 * ```ts
 * import { dbTarget } from "./_db.ts";
 * import { sharedServerDbSink } from "./_shared_db.ts";
 * import { sshdBruteForce } from "../siem/rules/sshd_brute_force.ts";
 * const sink = sharedServerDbSink(dbTarget([], {}, "./data"), "db", [sshdBruteForce()]); // undefined: SQLite
 * ```
 */
export function sharedServerDbSink(
  target: DbTarget,
  name: string,
  rules: readonly Correlation[],
): Sink | undefined {
  const inner = serverDbSink(target, name);
  if (!inner) return undefined;
  const open = serverStoreOpener(target);
  return sharedRules(inner, rules, { openStore: () => open(target.target) });
}
