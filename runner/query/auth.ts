/**
 * `sluice query auth`: source addresses of SSH logins, most failures first.
 *
 * @module
 */

import type { Command } from "../../core/_deps/commander.ts";
import {
  type _Common,
  _common,
  _pick,
  _print,
  _range,
  _withStore,
  type QueryIo,
} from "./_common.ts";

/**
 * Adds `auth` to the `query` command.
 *
 * @param query The `query` command.
 * @param io Where output goes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerAuth } from "./auth.ts";
 * registerAuth(new Command("query"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerAuth(query: Command, io: QueryIo): void {
  _common(query.command("auth").description("source addresses of SSH logins, most failures first"))
    .option("--failed", "only addresses with failed logins")
    .option("--top <n>", "how many addresses", "10")
    .action(async (options: _Common & { failed?: boolean; top: string }) => {
      const top = Number(options.top);
      if (!Number.isInteger(top) || top < 1) {
        throw new RangeError(`--top: expected a positive integer, got "${options.top}"`);
      }
      const range = _range(options);
      const rows = await _withStore(
        options,
        io,
        (store) => store.authSources({ ...range, failedOnly: options.failed === true, limit: top }),
      );
      _print(
        io,
        options,
        _pick(["src_ip", "failures", "successes", "users", "hosts", "first", "last"], rows),
      );
    });
}
