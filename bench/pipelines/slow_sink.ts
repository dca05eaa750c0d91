// Benchmark pipeline: TCP JSON lines → json parser → a deliberately slow sink that takes
// `--sink-rate` events/s at most (it sleeps after every batch), so the pipeline is under
// back-pressure the whole time. Prints "slow sink delivered N" on stderr every second and
// when it closes. Flags: --sink-rate (events/s, default 50000), --max-batch (default 1000).
import { definePipeline, jsonParser, type LogEvent, type Sink } from "../../mod.ts";
import { tcpSource } from "../../sources/tcp.ts";

function _flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] as string : fallback;
}

function _slowSink(rate: number, maxBatch: number): Sink {
  let delivered = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const say = () => console.error(`slow sink delivered ${delivered}`);
  return {
    kind: "slow",
    name: "slow",
    maxBatch,
    open() {
      timer = setInterval(say, 1000);
      return Promise.resolve();
    },
    async write(batch: readonly LogEvent[]) {
      await new Promise((r) => setTimeout(r, (batch.length / rate) * 1000));
      delivered += batch.length;
    },
    close() {
      clearInterval(timer);
      say();
      return Promise.resolve();
    },
  };
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
 * import build from "./slow_sink.ts";
 * assert.ok(build({ args: [] }));
 * ```
 */
export default ({ args }: { args: string[] }): ReturnType<typeof definePipeline> => {
  const rate = Number(_flag(args, "sink-rate", "50000"));
  const tcp = tcpSource({ host: "127.0.0.1", port: 0, name: "json" });
  return definePipeline({
    name: "slow-sink",
    sources: { json: tcp },
    paths: [{
      from: ["json"],
      steps: [jsonParser({ prefix: "json" })],
      to: [_slowSink(rate, Number(_flag(args, "max-batch", "1000")))],
    }],
    onStart() {
      console.error(`JSON lines over TCP  127.0.0.1:${tcp.addr?.port}; sink takes ${rate}/s`);
    },
  });
};
