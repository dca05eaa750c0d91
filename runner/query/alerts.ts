/**
 * `sluice query critical` and `sluice query alerts`: alerts newest first,
 * read through the store.
 *
 * @module
 */

import type { Command } from "commander";
import type { AlertFilter, AlertRow, SiemStore } from "../../store/types.ts";
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

const _COLUMNS = ["timestamp", "host", "severity", "rule", "file", "hash", "message"];

/** Up to `limit` alerts of a filter, newest first, paging through the store. */
export async function _alertsUpTo(
  store: SiemStore,
  filter: AlertFilter,
  limit: number,
): Promise<AlertRow[]> {
  const out: AlertRow[] = [];
  let cursor: string | undefined;
  while (out.length < limit) {
    const page = await store.alerts({
      ...filter,
      limit: Math.min(1000, limit - out.length),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    out.push(...page.rows);
    if (page.next === null) break;
    cursor = page.next;
  }
  return out;
}

/**
 * Adds `critical` (the critical alerts, by default of the last 24 h) and
 * `alerts` (with `--severity`, `--host`, `--rule`) to the `query` command.
 *
 * @param query The `query` command.
 * @param io Where output goes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerAlerts } from "./alerts.ts";
 * registerAlerts(new Command("query"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerAlerts(query: Command, io: QueryIo): void {
  _common(query.command("critical").description("critical alerts, newest first"), "24h")
    .action(async (options: _Common) => {
      const range = _range(options, "24h");
      const limit = _limit(options);
      const rows = await _withStore(
        options,
        io,
        (store) => _alertsUpTo(store, { ...range, severities: ["critical"] }, limit),
      );
      _print(io, options, _pick(_COLUMNS, rows));
    });

  _common(query.command("alerts").description("alerts, newest first, with filters"))
    .option("--severity <names>", "only these severities, comma-separated")
    .option("--host <name>", "only this host")
    .option("--rule <name>", "only this rule")
    .action(async (options: _Common & { severity?: string; host?: string; rule?: string }) => {
      const filter: AlertFilter = _range(options);
      if (options.severity) {
        filter.severities = options.severity.split(",").map((s) => s.trim().toLowerCase())
          .filter(Boolean);
      }
      if (options.host) filter.host = options.host;
      if (options.rule) filter.rule = options.rule;
      const limit = _limit(options);
      const rows = await _withStore(options, io, (store) => _alertsUpTo(store, filter, limit));
      _print(io, options, _pick(_COLUMNS, rows));
    });
}
