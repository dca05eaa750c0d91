// Benchmark pipeline: TCP JSON lines → json parser → one JSONL file, the same work as the
// contenders: syslog-ng's json-parser() → file("$(format-json --key json.*)") and rsyslog's
// mmjsonparse → omfile("$!all-json") write the parsed tree back as JSON, and so does this.
import { definePipeline, jsonlSink, jsonParser } from "../../mod.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { parsedTree } from "./_parsed_tree.ts";

export default ({ args }: { args: string[] }): ReturnType<typeof definePipeline> => {
  const dir = args[args.indexOf("--data") + 1] ?? "./data/bench";
  const tcp = tcpSource({ host: "127.0.0.1", port: 0, name: "json" });
  return definePipeline({
    sources: { json: tcp },
    paths: [{
      from: ["json"],
      steps: [jsonParser({ prefix: "json" })],
      to: [jsonlSink({ dir, path: "all_events.jsonl", line: parsedTree, fsync: "interval" })],
    }],
    onStart() {
      console.error(`JSON lines over TCP  127.0.0.1:${tcp.addr?.port}`);
    },
  });
};
