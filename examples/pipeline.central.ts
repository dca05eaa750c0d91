/**
 * The central role. Until the transports and storage land, a demo:
 * synthetic alerts printed to stdout at 2 events/s.
 *
 * @module
 */
import { definePipeline, generatorSource, stdoutSink } from "../mod.ts";

export default definePipeline({
  role: "central",
  sources: { demo: generatorSource({ rate: 2 }) },
  paths: [{ from: ["demo"], to: [stdoutSink()] }],
});
