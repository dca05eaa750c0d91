/**
 * A child process for tests: opens `sqliteSink` on an existing or new
 * database and stores events for a while, then prints its counters as JSON
 * on stdout. `deno run -A _sqlite_writer_child.ts DB SECONDS FIRST_ID`.
 *
 * @module
 */

import {
  ComponentStats,
  createEvent,
  createLogger,
  type LogEvent,
  memoryState,
} from "../../mod.ts";
import { sqliteSink } from "../../sinks/sqlite.ts";

const [database, seconds, first] = Deno.args;
if (!database || !seconds || !first) {
  console.error("usage: _sqlite_writer_child.ts DB SECONDS FIRST_ID");
  Deno.exit(2);
}
const stats = new ComponentStats("sink", "db", "sqlite");
// A small WAL threshold, so the checkpoint thread runs many times in a short test.
const sink = sqliteSink({ database, walCheckpointMb: 0.25, checkpoint: "background" });
await sink.open({
  name: "db",
  stats,
  state: memoryState(),
  log: createLogger("info", undefined, "sink db"),
  signal: new AbortController().signal,
});
const until = Date.now() + Number(seconds) * 1000;
const pad = "x".repeat(300);
let next = Number(first);
while (Date.now() < until) {
  const batch: LogEvent[] = [];
  for (let i = 0; i < 200; i++, next++) {
    batch.push(createEvent(`message ${next} ${pad}`, { id: `src:${next}`, host: "vm-1" }));
  }
  await sink.write(batch);
  await new Promise((r) => setTimeout(r, 5));
}
await sink.close();
console.log(
  JSON.stringify({ next, inserted: stats.counters.inserted ?? 0, counters: stats.counters }),
);
