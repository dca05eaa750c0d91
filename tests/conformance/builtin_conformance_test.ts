import { blackholeSink, generatorSource, stdinSource, stdoutSink } from "../../mod.ts";
import { sinkConformance, sourceConformance } from "./suites.ts";

sinkConformance("blackhole", () => Promise.resolve({ sink: blackholeSink() }));
sinkConformance("stdout", () =>
  Promise.resolve({
    sink: stdoutSink({ writer: { write: (p: Uint8Array) => Promise.resolve(p.length) } }),
  }));

sourceConformance(
  "generator",
  () => Promise.resolve({ source: generatorSource({ count: 100 }), expect: 100 }),
);
sourceConformance("stdin", () => {
  const bytes = new TextEncoder().encode("a\nb\nc");
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
  return Promise.resolve({ source: stdinSource({ stream }), expect: 3 });
});
