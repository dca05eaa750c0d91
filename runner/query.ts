/**
 * `sluice query …` and `sluice tail`: answers the daily questions from the
 * SIEM database through the store (store/), read-only, while the central
 * writes. One subcommand a file under runner/query/.
 *
 * ```sh
 * sluice query critical --since 24h
 * sluice query rules
 * sluice query host vm-1
 * sluice query auth --failed --top 10
 * sluice query hosts
 * sluice query objects --hash 3f2a…
 * sluice query sql "SELECT rule, count(*) FROM alerts GROUP BY rule"
 * sluice tail --severity critical
 * ```
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { _denoIo, type QueryIo } from "./query/_common.ts";
import { registerAlerts } from "./query/alerts.ts";
import { registerAuth } from "./query/auth.ts";
import { registerHosts } from "./query/hosts.ts";
import { registerObjects } from "./query/objects.ts";
import { registerRules } from "./query/rules.ts";
import { registerSql } from "./query/sql.ts";
import { registerTail } from "./query/tail.ts";

export { parseDuration, parseTime, type QueryIo } from "./query/_common.ts";
export { type QueryFormat, type QueryResult, renderResult } from "./query/render.ts";

/**
 * Adds `query` (with its subcommands `critical`, `alerts`, `rules`, `host`,
 * `auth`, `hosts`, `objects`, `sql`) and `tail` to a commander program.
 * Every command reads through the store, opened read-only (`--db`, else
 * `$SLUICE_DB`, else `./data/siem.db`), so it works while the central
 * writes and can change nothing; `--since`/`--until` take durations (`24h`)
 * or dates; `--format table|json|csv`; tables fit the terminal and are
 * coloured only on a terminal without `NO_COLOR`. An option with a bad
 * value throws a `RangeError` whose message starts with the option
 * (`--since: …`).
 *
 * @param program The program to extend.
 * @param io Where output goes. @default standard output and the environment
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerQueryCommands } from "./query.ts";
 * const program = registerQueryCommands(new Command("sluice"));
 * assert.ok(program.commands.some((c) => c.name() === "query"));
 * ```
 */
export function registerQueryCommands(program: Command, io: QueryIo = _denoIo()): Command {
  const query = program.command("query").description(
    "answer questions from the SIEM database (read-only)",
  );
  registerAlerts(query, io);
  registerRules(query, io);
  registerHosts(query, io);
  registerAuth(query, io);
  registerObjects(query, io);
  registerSql(query, io);
  registerTail(program, io);
  return program;
}
