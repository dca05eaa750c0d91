/**
 * `sluice query critical` and `sluice query alerts`: alerts newest first,
 * read through the store.
 *
 * @module
 */

import type { Command } from "../../core/_deps/commander.ts";
import type { AlertFilter, AlertRow, SiemStore } from "../../store/types.ts";
import { archivedAlerts, archiveDirFor, mergeNewestFirst } from "../../archive/read.ts";
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

interface _ArchiveOptions {
  archive?: boolean;
  archiveDir?: string;
  db?: string;
}

/** With `--archive`, the archived alerts of the same filter merged in, newest first. */
async function _withArchive(
  options: _ArchiveOptions,
  filter: AlertFilter,
  limit: number,
  live: AlertRow[],
): Promise<AlertRow[]> {
  if (!options.archive) return live;
  const db = options.db ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db";
  const dir = options.archiveDir ?? archiveDirFor(db);
  return mergeNewestFirst(live, await archivedAlerts(dir, filter, limit), limit);
}

function _archiveFlags(c: Command): Command {
  return c.option(
    "--archive",
    "also read the Parquet archives (older rows moved out of the database)",
  )
    .option(
      "--archive-dir <path>",
      "the archive directory (default: archives/ beside the database)",
    );
}

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
  _archiveFlags(
    _common(query.command("critical").description("critical alerts, newest first"), "24h"),
  )
    .action(async (options: _Common & _ArchiveOptions) => {
      const range = _range(options, "24h");
      const limit = _limit(options);
      const filter: AlertFilter = { ...range, severities: ["critical"] };
      const live = await _withStore(options, io, (store) => _alertsUpTo(store, filter, limit));
      _print(io, options, _pick(_COLUMNS, await _withArchive(options, filter, limit, live)));
    });

  _archiveFlags(_common(query.command("alerts").description("alerts, newest first, with filters")))
    .option("--severity <names>", "only these severities, comma-separated")
    .option("--host <name>", "only this host")
    .option("--rule <name>", "only this rule")
    .action(
      async (
        options: _Common & _ArchiveOptions & { severity?: string; host?: string; rule?: string },
      ) => {
        const filter: AlertFilter = _range(options);
        if (options.severity) {
          filter.severities = options.severity.split(",").map((s) => s.trim().toLowerCase())
            .filter(Boolean);
        }
        if (options.host) filter.host = options.host;
        if (options.rule) filter.rule = options.rule;
        const limit = _limit(options);
        const live = await _withStore(options, io, (store) => _alertsUpTo(store, filter, limit));
        _print(io, options, _pick(_COLUMNS, await _withArchive(options, filter, limit, live)));
      },
    );
}
