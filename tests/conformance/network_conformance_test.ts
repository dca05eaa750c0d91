import dgram from "node:dgram";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import { syslogParser } from "../../parsers/syslog.ts";
import { forwardSink } from "../../sinks/forward.ts";
import { syslogSource } from "../../sources/syslog.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { udpSource } from "../../sources/udp.ts";
import { parserConformance, sinkConformance, sourceConformance } from "./suites.ts";

async function tcpSend(port: number, text: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(text);
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
  } finally {
    conn.close();
  }
}

function udpSend(port: number, messages: string[]): Promise<void> {
  const client = dgram.createSocket("udp4");
  return (async () => {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        client.send(m, port, "127.0.0.1", (err) => (err ? reject(err) : resolve()))
      );
    }
    await new Promise<void>((resolve) => client.close(() => resolve()));
  })();
}

parserConformance("syslog", () => syslogParser());

sourceConformance("tcp", () => {
  const source = tcpSource({ host: "127.0.0.1", port: 0 });
  return Promise.resolve({
    source,
    feed: () => tcpSend(source.addr?.port as number, "a\n3 bad\nc"),
    expect: 3,
  });
});

sourceConformance("udp", () => {
  const source = udpSource({ host: "127.0.0.1", port: 0 });
  return Promise.resolve({
    source,
    feed: () => udpSend(source.addr?.port as number, ["a", "\u0000", ""]),
    expect: 3,
  });
});

sourceConformance("syslog", () => {
  const source = syslogSource({ host: "127.0.0.1", port: 0, transport: "tcp+udp" });
  return Promise.resolve({
    source,
    feed: async () => {
      await tcpSend(source.tcpAddr?.port as number, "<13>1 - - - - - - hi\nnot syslog\n");
      await udpSend(source.udpAddr?.port as number, ["<13>Nov 23 10:00:00 h p: x"]);
    },
    expect: 3,
  });
});

sinkConformance("forward", async () => {
  const collector = tcpSource({ host: "127.0.0.1", port: 0 });
  await collector.start({
    name: "collector",
    stats: new ComponentStats("source", "collector", "tcp"),
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    emit: () => Promise.resolve(),
  });
  return {
    sink: forwardSink({ host: "127.0.0.1", port: collector.addr?.port as number }),
    cleanup: () => collector.stop(),
  };
});
