/**
 * `sluice query sql`: one read-only SQL statement, the escape hatch.
 *
 * @module
 */

import { type Command, Option } from "../../core/_deps/commander.ts";
import { _print, _withStore, type QueryIo } from "./_common.ts";
import type { QueryFormat } from "./render.ts";

/**
 * Adds `sql` to the `query` command.
 *
 * @param query The `query` command.
 * @param io Where output goes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerSql } from "./sql.ts";
 * registerSql(new Command("query"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerSql(query: Command, io: QueryIo): void {
  query.command("sql")
    .description("run one read-only SQL statement")
    .argument("<statement>", 'the SQL, e.g. "SELECT rule, count(*) FROM alerts GROUP BY rule"')
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .addOption(
      new Option("--format <format>", "output format").choices(["table", "json", "csv"]).default(
        "table",
      ),
    )
    .action(async (sql: string, options: { db?: string; format: QueryFormat }) => {
      const result = await _withStore(options, io, async (store) => {
        try {
          return await store.sql(sql);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (err instanceof RangeError && /one statement at a time/.test(message)) {
            throw new RangeError("query sql: give one statement at a time");
          }
          if (/readonly|read-only|query_only/i.test(message)) {
            throw new Error(`query sql: refused, the database is opened read-only (${message})`);
          }
          throw new Error(`query sql: ${message}`);
        }
      });
      _print(io, options, result);
    });
}
