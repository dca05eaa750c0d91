// Issue 20 item 13: errors of listeners say which listener and where.
import assert from "node:assert/strict";
import { createLogger } from "../../core/log.ts";
import { ComponentStats } from "../../core/stats.ts";
import { memoryState } from "../../core/state.ts";
import type { Source, SourceContext } from "../../core/types.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { relpSource } from "../../sources/relp.ts";
import { udpSource } from "../../sources/udp.ts";
import { syslogSource } from "../../sources/syslog.ts";
import { waitFor } from "../_peers.ts";
import { makeTestPki, OPENSSL, type TestPki } from "../fixtures/tls/pki.ts";

function context(name: string, lines: string[] = []): SourceContext {
  return {
    name,
    stats: new ComponentStats("source", name, "net"),
    state: memoryState(),
    log: createLogger("warn", (line) => lines.push(line)),
    signal: new AbortController().signal,
    emit: () => Promise.resolve(),
  };
}

async function bindError(source: Source, name: string): Promise<Error> {
  try {
    await source.start(context(name));
  } catch (err) {
    return err as Error;
  }
  await source.stop();
  throw new Error("the second listener started on a taken port");
}

Deno.test("every listener's bind error names the component, the source, the address and port", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const dgram = (await import("node:dgram")).default;
  const udpHolder = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => udpHolder.bind(0, "127.0.0.1", () => resolve()));
  const udpPort = udpHolder.address().port;
  try {
    const tcp = await bindError(tcpSource({ port, host: "127.0.0.1" }), "json");
    assert.ok(tcp instanceof Deno.errors.AddrInUse, String(tcp));
    assert.match(
      tcp.message,
      new RegExp(
        `^tcpSource "json": cannot listen on 127\\.0\\.0\\.1:${port} \\(tcp\\): .*in use`,
        "i",
      ),
    );
    const relp = await bindError(relpSource({ port, host: "127.0.0.1" }), "relp");
    assert.match(
      relp.message,
      new RegExp(`^relpSource "relp": cannot listen on 127\\.0\\.0\\.1:${port} \\(tcp\\)`),
    );
    const udp = await bindError(udpSource({ port: udpPort, host: "127.0.0.1" }), "syslog-udp");
    assert.match(
      udp.message,
      new RegExp(`^udpSource "syslog-udp": cannot listen on 127\\.0\\.0\\.1:${udpPort} \\(udp\\)`),
    );
    const syslog = await bindError(
      syslogSource({ port, host: "127.0.0.1", transport: "tcp" }),
      "syslog",
    );
    assert.match(
      syslog.message,
      new RegExp(`"syslog": cannot listen on 127\\.0\\.0\\.1:${port} \\(tcp\\)`),
    );
  } finally {
    taken.close();
    udpHolder.close();
  }
});

const noOpenssl = !OPENSSL;

async function withPki(body: (pki: TestPki) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(await makeTestPki(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a TLS listener's bind error and handshake warnings name the address and port",
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.ca };
      for (const make of [tcpSource, relpSource]) {
        const lines: string[] = [];
        const source = make({ port: 0, host: "127.0.0.1", tls });
        await source.start(context("secure", lines));
        const port = source.addr?.port as number;
        try {
          const again = await bindError(make({ port, host: "127.0.0.1", tls }), "secure");
          assert.match(
            again.message,
            new RegExp(`"secure": cannot listen on 127\\.0\\.0\\.1:${port} \\(tls\\)`),
          );
          // No client certificate: the handshake fails on the server.
          const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [pki.ca] });
          const local = (conn.localAddr as Deno.NetAddr).port;
          try {
            await conn.write(new TextEncoder().encode("x\n"));
            await conn.read(new Uint8Array(16));
          } catch {
            // refused, as it must be
          } finally {
            conn.close();
          }
          await waitFor("the handshake warning", () =>
            lines.some((l) => /handshake/i.test(l)), 10_000);
          const warning = lines.find((l) =>
            /handshake/i.test(l)
          ) as string;
          assert.ok(warning.includes(`127.0.0.1:${local}`), warning);
        } finally {
          await source.stop();
        }
      }
    }),
});
