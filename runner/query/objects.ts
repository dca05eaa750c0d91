/**
 * `sluice query objects`: stored objects (samples, dumps), newest first,
 * each with how many alerts name its SHA-256 in their `hash` field (the
 * alert detail links the other way, to the stored sample).
 *
 * @module
 */

import type { Command } from "../../core/_deps/commander.ts";
import type { ObjectFilter } from "../../store/types.ts";
import {
  type _Common,
  _common,
  _limit,
  _pick,
  _print,
  _range,
  _withStore,
  type QueryIo,
} from "./_common.ts";

/**
 * Adds `objects` to the `query` command.
 *
 * @param query The `query` command.
 * @param io Where output goes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerObjects } from "./objects.ts";
 * registerObjects(new Command("query"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerObjects(query: Command, io: QueryIo): void {
  _common(
    query.command("objects").description(
      "stored objects (samples, dumps), newest first, with how many alerts name each one's hash",
    ),
  )
    .option("--hash <sha256>", "only this SHA-256 (or a prefix of at least 8 hex digits)")
    .option("--host <name>", "only this host")
    .action(async (options: _Common & { hash?: string; host?: string }) => {
      const filter: ObjectFilter = { ..._range(options), limit: _limit(options) };
      if (options.hash !== undefined) {
        const h = options.hash.trim().toLowerCase();
        if (!/^[0-9a-f]{8,64}$/.test(h)) {
          throw new RangeError(
            `--hash: expected a SHA-256 or a prefix of at least 8 hex digits, got "${options.hash}"`,
          );
        }
        filter.sha256Prefix = h;
      }
      if (options.host) filter.host = options.host;
      const rows = await _withStore(options, io, async (store) => {
        const objects = await store.objects(filter);
        // The other way of the alert detail's samples: the alerts that name each object's hash.
        const hashes = objects.map((o) => o.sha256?.toLowerCase() ?? "").filter((h) =>
          /^[0-9a-f]{64}$/.test(h)
        );
        const counts = new Map(
          (await store.alertsForHashes(hashes)).map((r) => [r.sha256, r.alerts]),
        );
        return objects.map((o) => ({
          ...o,
          alerts: counts.get(o.sha256?.toLowerCase() ?? "") ?? 0,
        }));
      });
      _print(
        io,
        options,
        _pick(["synced_at", "host", "kind", "path", "size", "sha256", "alerts", "remote"], rows),
      );
    });
}
