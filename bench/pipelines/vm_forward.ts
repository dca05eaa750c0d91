// Benchmark pipeline: the VM example without its local SQLite backup — tail the alerts
// and yara files, stamp the host, forward newline-framed over plain TCP (the same work
// as syslog-ng's file() → network() reference). Flags: --alerts, --yara, --central,
// --json-port, --host.
import { definePipeline } from "../../mod.ts";
import { fileTailSource } from "../../sources/file_tail.ts";
import { setHost } from "../../parsers/rewrites.ts";
import { forwardSink } from "../../sinks/forward.ts";

function _flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] as string : fallback;
}

/**
 * Builds the pipeline from the runner's arguments.
 *
 * @param context The runner's arguments.
 * @returns The pipeline.
 *
 * @example
 * ```ts ignore
 * import assert from "node:assert";
 * import build from "./vm_forward.ts";
 * assert.ok(build({ args: [] }));
 * ```
 */
export default ({ args }: { args: string[] }): ReturnType<typeof definePipeline> => {
  const host = _flag(args, "host", "benchvm");
  return definePipeline({
    name: "vm-forward",
    role: "vm",
    sources: {
      alerts: fileTailSource({ path: _flag(args, "alerts", "alerts.jsonl"), host, name: "alerts" }),
      yara: fileTailSource({ path: _flag(args, "yara", "yara.jsonl"), host, name: "yara" }),
    },
    paths: [{
      from: ["alerts", "yara"],
      steps: [setHost(host)],
      to: [forwardSink({
        host: _flag(args, "central", "127.0.0.1"),
        port: Number(_flag(args, "json-port", "5514")),
        name: "central",
      })],
    }],
    onStart() {
      console.error(`sluice vm-forward "${host}": tailing alerts, yara; no backup`);
    },
  });
};
