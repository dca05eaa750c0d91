// Benchmark pipeline: the work of benchmark scenario 1 and nothing more, the same as the
// syslog-ng contenders do: TCP JSON lines → json parser → SQLite `alerts` (the SIEM schema,
// id dedup key and indexes) + one JSONL file (all_events) of the parsed tree, fsynced once a
// second as the central example does (syslog-ng's file() never fsyncs).
import { categorize, definePipeline, jsonlSink, jsonParser } from "../../mod.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { workerSink } from "../../sinks/worker.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { parsedTree } from "./_parsed_tree.ts";

export default ({ args }: { args: string[] }): ReturnType<typeof definePipeline> => {
  const dir = args[args.indexOf("--data") + 1] ?? "./data/bench";
  Deno.mkdirSync(dir, { recursive: true });
  const tcp = tcpSource({ host: "127.0.0.1", port: 0, name: "json" });
  return definePipeline({
    sources: { json: tcp },
    paths: [{
      from: ["json"],
      steps: [jsonParser({ prefix: "json" }), categorize()],
      to: [
        // As the central example: SQLite on its own thread unless `--sqlite-worker off`.
        args.includes("--sqlite-worker") && args.includes("off")
          ? siemSqliteSink({ database: `${dir}/siem.db`, name: "db" })
          : workerSink({
            module: new URL("../../siem/schema.ts", import.meta.url),
            factory: "siemSqliteSink",
            options: { database: `${dir}/siem.db` },
            name: "db",
          }),
        jsonlSink({
          dir: `${dir}/logs`,
          path: "all_events.jsonl",
          line: parsedTree,
          fsync: "interval",
          name: "all",
        }),
      ],
    }],
    onStart() {
      console.error(`JSON lines over TCP  127.0.0.1:${tcp.addr?.port}`);
    },
  });
};
