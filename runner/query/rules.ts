/**
 * `sluice query rules`: hits per rule, most first.
 *
 * @module
 */

import type { Command } from "../../core/_deps/commander.ts";
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
 * Adds `rules` to the `query` command.
 *
 * @param query The `query` command.
 * @param io Where output goes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerRules } from "./rules.ts";
 * registerRules(new Command("query"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerRules(query: Command, io: QueryIo): void {
  _common(query.command("rules").description("hits per rule, most first"))
    .action(async (options: _Common) => {
      const range = _range(options);
      const limit = _limit(options);
      const rows = await _withStore(options, io, (store) => store.rules({ ...range, limit }));
      _print(
        io,
        options,
        _pick(
          ["rule", "hits", "hosts", "severities", "first", "last"],
          rows.map((r) => ({
            ...r,
            severities: r.severities.length ? r.severities.join(",") : null,
          })),
        ),
      );
    });
}
