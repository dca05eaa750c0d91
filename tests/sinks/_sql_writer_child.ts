/**
 * A child process for tests: stores alerts FIRST..LAST-1 (ids `burst:N`) in
 * a SQL server through `siemPostgresSink` or `siemMysqlSink`, batch after
 * batch, retrying a failed batch as the engine does, and prints "batch" on
 * stdout after each COMMIT. `deno run -A _sql_writer_child.ts URL FIRST LAST`.
 *
 * @module
 */

import { ComponentStats, createLogger, memoryState, type Sink } from "../../mod.ts";
import { siemPostgresSink } from "../../sinks/postgres.ts";
import { alertBatch, writeWithRetry } from "./_sql_events.ts";

const [url, first, last] = Deno.args;
if (!url || !first || !last) {
  console.error("usage: _sql_writer_child.ts URL FIRST LAST");
  Deno.exit(2);
}
// Imported by a computed name, so a Postgres-only run never loads mysql2.
const mysqlModule = "../../sinks/mysql.ts";
const sink: Sink = url.startsWith("mysql:")
  ? (await import(mysqlModule)).siemMysqlSink({ url })
  : siemPostgresSink({ url });
const stats = new ComponentStats("sink", "db", sink.kind);
await sink.open({
  name: "db",
  stats,
  state: memoryState(),
  log: createLogger("warn", undefined, "sink db"),
  signal: new AbortController().signal,
});
for (let i = Number(first); i < Number(last); i += 1000) {
  await writeWithRetry(sink, alertBatch(i, Math.min(1000, Number(last) - i)), 60_000);
  console.log("batch");
}
await sink.close();
console.log(JSON.stringify(stats.counters));
