import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import { createEvent, type LogEvent } from "../../core/event.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { forwardSink } from "../../sinks/forward.ts";
import { fileTailSource } from "../../sources/file_tail.ts";
import { syntheticAlert } from "../../sources/generator.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { makeTestPki, OPENSSL } from "../fixtures/tls/pki.ts";
import { notFound, peer } from "../_peers.ts";
import { freePort, startSyslogNg, waitFor } from "./_syslog_ng.ts";

const noSyslogNg = !peer("syslog-ng", "syslog-ng-core");
const noOpenssl = !OPENSSL;
if (noOpenssl) notFound("openssl", "apt-get install openssl, as .ci/run does");
const COUNT = 100_000;

/** The reference VM's alert lines; every 997th carries non-ASCII text to check bytes, not just characters. */
function alertLines(count: number): string[] {
  const lines = new Array<string>(count);
  for (let n = 0; n < count; n++) {
    const alert = syntheticAlert(n);
    lines[n] = n % 997 === 0 ? alert.replace('"msg":"', '"msg":"Ünïcødé ✓ 🚀 ') : alert;
  }
  return lines;
}

function collect(): Sink & { events: LogEvent[] } {
  const events: LogEvent[] = [];
  return {
    kind: "collect",
    events,
    queueSize: 50_000,
    maxBatch: 5000,
    open: () => Promise.resolve(),
    write(batch) {
      for (const e of batch) events.push(e);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

Deno.test({
  name:
    "syslog-ng file() → tcp() sends 100,000 JSON lines to tcpSource: each arrives once, byte for byte",
  ignore: noSyslogNg,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-sng-send-" });
    const lines = alertLines(COUNT);
    await Deno.writeTextFile(`${dir}/alerts.jsonl`, lines.join("\n") + "\n");
    const source = tcpSource({ host: "127.0.0.1", port: 0 });
    const sink = collect();
    const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
      logger: createLogger("silent"),
    });
    await engine.start();
    const port = source.addr?.port as number;
    // The reference VM config: the alert file read without parsing, forwarded as `${MSG}\n`.
    const peer = await startSyslogNg(
      dir,
      `
source s_alerts { file("${dir}/alerts.jsonl" flags(no-parse) follow-freq(0.1) log-fetch-limit(1000) log-iw-size(10000)); };
destination d_central { network("127.0.0.1" port(${port}) transport("tcp") template("\${MSG}\\n")); };
log { source(s_alerts); destination(d_central); flags(flow-control); };
`,
    );
    try {
      await waitFor(() => sink.events.length >= COUNT, `${COUNT} lines`, 90_000, peer.output);
      await peer.stop();
      await waitFor(() => source.connections === 0, "syslog-ng to disconnect", 10_000);
      assert.equal(sink.events.length, COUNT, "nothing arrives twice");
      for (let i = 0; i < COUNT; i++) {
        const got = sink.events[i] as LogEvent;
        if (got.message !== lines[i]) assert.equal(got.message, lines[i], `line ${i}`);
        assert.equal(got.sourceIp, "127.0.0.1");
      }
      const bytes = new TextEncoder().encode(sink.events.map((e) => e.message + "\n").join(""));
      assert.deepEqual(bytes, await Deno.readFile(`${dir}/alerts.jsonl`));
    } finally {
      await peer.stop();
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Compares line by line and names the first difference, instead of printing megabytes. */
function assertSameLines(written: string, expected: string[]): void {
  const got = written.split("\n");
  assert.equal(got.pop(), "", "the output ends with a newline");
  for (let i = 0; i < Math.max(got.length, expected.length); i++) {
    if (got[i] !== expected[i]) {
      assert.fail(
        `line ${i} differs (${got.length} lines written, ${expected.length} expected):\n` +
          `  got:      ${got[i]?.slice(0, 200)}\n  expected: ${expected[i]?.slice(0, 200)}`,
      );
    }
  }
}

/** Runs file-tail → forward into a syslog-ng receiver that writes `out.log`; returns what it wrote. */
async function tailToSyslogNg(
  dir: string,
  network: (port: number) => string,
  forward: (port: number) => Sink,
  after?: (port: number, written: () => Promise<string>) => Promise<void>,
): Promise<{ written: string; lines: string[]; output: string }> {
  const lines = alertLines(COUNT);
  const input = `${dir}/alerts.jsonl`;
  await Deno.writeTextFile(input, lines.join("\n") + "\n");
  const port = freePort();
  const peer = await startSyslogNg(
    dir,
    `
source s_net { ${network(port)} };
destination d_file { file("${dir}/out.log" template("\${MSG}\\n") flush-lines(1000)); };
log { source(s_net); destination(d_file); flags(flow-control); };
`,
  );
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [fileTailSource({ path: input, fileField: null, pollMs: 100 })],
        to: [forward(port)],
      }],
    }),
    { logger: createLogger("silent") },
  );
  try {
    await peer.waitForListen(port);
    await engine.start();
    const size = async () => {
      try {
        return (await Deno.stat(`${dir}/out.log`)).size;
      } catch {
        return 0;
      }
    };
    const inputSize = (await Deno.stat(input)).size;
    await waitFor(
      async () => (await size()) >= inputSize,
      "syslog-ng to write every line",
      90_000,
      peer.output,
    );
    await engine.stop();
    const written = () => Deno.readTextFile(`${dir}/out.log`);
    if (after) await after(port, written);
    await peer.stop();
    return { written: await written(), lines, output: peer.output() };
  } finally {
    await engine.stop();
    await peer.stop();
  }
}

Deno.test({
  name: "file-tail → forwardSink sends 100,000 lines to a syslog-ng tcp() receiver: all arrive",
  ignore: noSyslogNg,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-sng-recv-" });
    try {
      const { written, lines } = await tailToSyslogNg(
        dir,
        (port) =>
          `network(ip("127.0.0.1") port(${port}) transport("tcp") flags(no-parse) log-iw-size(10000));`,
        (port) => forwardSink({ host: "127.0.0.1", port }),
      );
      assertSameLines(written, lines);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "file-tail → forwardSink, octet-counted over mutual TLS, to syslog-ng syslog(transport(tls)): all arrive; no certificate, nothing arrives",
  ignore: noSyslogNg || noOpenssl,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-sng-tls-" });
    try {
      const pki = await makeTestPki(dir, ["vm-1"]);
      const client = pki.clients["vm-1"]!;
      const { written, lines } = await tailToSyslogNg(
        dir,
        // syslog() over TLS is RFC 5425: octet-counted frames.
        (port) =>
          `syslog(ip("127.0.0.1") port(${port}) transport("tls") flags(no-parse) log-iw-size(10000)
             tls(key-file("${pki.server.keyFile}") cert-file("${pki.server.certFile}")
                 ca-file("${pki.caFile}") peer-verify(required-trusted)));`,
        (port) =>
          forwardSink({
            host: "127.0.0.1",
            port,
            framing: "octet-counting",
            tls: { caFile: pki.caFile, certFile: client.certFile, keyFile: client.keyFile },
          }),
        async (port, output) => {
          // The same receiver refuses a client without a certificate.
          const before = await output();
          const anonymous = forwardSink({
            host: "127.0.0.1",
            port,
            framing: "octet-counting",
            tls: { caFile: pki.caFile },
            reconnect: { initialMs: 50, maxMs: 200 },
          });
          const stats = new ComponentStats("sink", "anonymous", "forward");
          await anonymous.open({
            name: "anonymous",
            stats,
            state: memoryState(),
            log: createLogger("silent"),
            signal: new AbortController().signal,
          });
          try {
            await assert.rejects(
              () => anonymous.write([createEvent("must not arrive")]),
              /closed the TLS connection right after the handshake/,
            );
            assert.equal(anonymous.connected, false);
          } finally {
            await anonymous.close();
          }
          assert.equal(await output(), before);
        },
      );
      assertSameLines(written, lines);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
