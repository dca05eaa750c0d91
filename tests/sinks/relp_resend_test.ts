import assert from "node:assert/strict";
import { createEvent, createLogger, definePipeline, Engine } from "../../mod.ts";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { relpSink } from "../../sinks/relp.ts";
import { relpSource } from "../../sources/relp.ts";
import { collectSink, gatedSink } from "../fixtures/components.ts";
import { makeTestPki, OPENSSL } from "../fixtures/tls/pki.ts";
import { freePort } from "../_ports.ts";
import {
  answerAll,
  events,
  FakeServer,
  fast,
  type Frame,
  sinkContext,
  waitFor,
} from "./_relp_fake.ts";

Deno.test("relpSink() resends after a 500 answer, a serverclose hint or a silent server", async () => {
  const server = new FakeServer([
    async (s) => {
      await s.handshake();
      const f = (await s.next()) as Frame;
      await s.answer(f.txnr, "500 busy");
      await s.next(200);
    },
    async (s) => {
      await s.handshake();
      const f = (await s.next()) as Frame;
      await s.answer(f.txnr, "200 OK");
      await s.send(encodeRelpFrame(0, "serverclose"));
      await s.next(200);
    },
    async (s) => {
      await s.handshake();
      await s.next(1000); // never answers
      await s.next(1000);
    },
    answerAll,
  ]);
  const sink = relpSink({ port: server.port, window: 4, ackTimeoutMs: 150, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    await sink.write(events(8));
    assert.equal(server.sessions.length, 4);
    assert.equal(ctx.stats.counters.reconnects, 3);
    const last = server.sessions[3]?.received.filter((f) => f.command === "syslog") ?? [];
    // The second session had the first message answered; the rest went again.
    assert.equal(last.length, 7);
    assert.match(last[0]?.data ?? "", /id="vm-1:alerts:1"/);
  } finally {
    await sink.close();
    await server.close();
  }
});

/** A TCP proxy whose connections the test can cut. */
function proxy(target: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const pumps: Promise<void>[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        let at = 0;
        while (at < n) at += await to.write(buffer.subarray(at, n));
      }
    } catch {
      // cut
    }
    for (const c of [from, to]) {
      try {
        c.close();
      } catch {
        // already closed
      }
      open.delete(c);
    }
  };
  const accepting = (async () => {
    try {
      for (;;) {
        const client = await listener.accept();
        const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
        open.add(client);
        open.add(server);
        pumps.push(pipe(client, server), pipe(server, client));
      }
    } catch {
      // closed
    }
  })();
  return {
    port: listener.addr.port,
    cut() {
      for (const c of open) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
    },
    async close() {
      listener.close();
      await accepting;
      this.cut();
      await Promise.all(pumps);
    },
  };
}

Deno.test("relpSink() resends after a cut; the server stores duplicates but the ids survive", async () => {
  const gate = gatedSink();
  const source = relpSource({ port: 0, host: "127.0.0.1" });
  const central = new Engine(definePipeline({ paths: [{ from: [source], to: [gate] }] }), {
    logger: createLogger("silent"),
  });
  await central.start();
  const link = proxy(source.addr?.port as number);
  const sink = relpSink({ port: link.port, window: 64, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    const batch = events(50);
    const write = sink.write(batch);
    // The central received all 50 but cannot write them yet: none is answered.
    await waitFor(() => gate.waiting > 0, "the central's write");
    link.cut();
    await waitFor(() => (central.stats.get("relp#0")?.received ?? 0) >= 100, "the resend");
    gate.release();
    await write;
    assert.equal(gate.events.length, 100, "the RELP source itself deduplicates nothing");
    const counts = new Map<string, number>();
    for (const e of gate.events) counts.set(e.id as string, (counts.get(e.id as string) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), batch.map((e) => e.id as string).sort());
    assert.ok([...counts.values()].every((c) => c === 2));
    assert.ok(gate.events.every((e) => e.host === "vm-1"));
  } finally {
    await sink.close();
    await link.close();
    await central.stop();
  }
});

Deno.test("relpSink() waits with back-off for a server that is down, then delivers", async () => {
  const port = freePort();
  const sink = relpSink({ port, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  const got = collectSink();
  let central: Engine | undefined;
  try {
    const write = sink.write(events(10));
    await waitFor(() => (ctx.stats.counters.reconnects ?? 0) >= 3, "failed attempts");
    assert.equal(sink.connected, false);
    const source = relpSource({ port, host: "127.0.0.1" });
    central = new Engine(definePipeline({ paths: [{ from: [source], to: [got] }] }), {
      logger: createLogger("silent"),
    });
    await central.start();
    await write;
    assert.equal(sink.connected, true);
    assert.equal(got.events.length, 10);
  } finally {
    await sink.close();
    await central?.stop();
  }
});

Deno.test("relpSink() gives up a write when the pipeline stops", async () => {
  const port = freePort();
  const sink = relpSink({ port, ...fast });
  const { ctx, stop } = sinkContext();
  await sink.open(ctx);
  const write = sink.write(events(3));
  await waitFor(() => (ctx.stats.counters.reconnects ?? 0) >= 1, "a failed attempt");
  stop.abort();
  await assert.rejects(write, /stopping with 3 messages unanswered by 127\.0\.0\.1:\d+/);
  await sink.close();
});

Deno.test("relpSink() cuts messages longer than maxDataBytes on a character boundary", async () => {
  const server = new FakeServer([answerAll]);
  const sink = relpSink({ port: server.port, maxDataBytes: 100, format: "raw", ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    await sink.write([createEvent("é".repeat(80)), createEvent("short")]);
    const data = server.sessions[0]?.received.filter((f) => f.command === "syslog")
      .map((f) => f.data);
    assert.deepEqual(data, ["é".repeat(50), "short"]);
    assert.equal(ctx.stats.counters.truncated, 1);
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("relpSink() sends what a format function returns", async () => {
  const server = new FakeServer([answerAll]);
  const sink = relpSink({ port: server.port, format: (e) => `<14>${e.message}`, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    await sink.write([createEvent("hello")]);
    assert.equal(server.sessions[0]?.received[1]?.data, "<14>hello");
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("relpSink() refuses a server that does not offer syslog", async () => {
  const server = new FakeServer([async (s) => {
    const open = await s.next();
    await s.answer(open?.txnr ?? 1, "200 OK\nrelp_version=0\ncommands=");
    await s.next(200);
  }]);
  const sink = relpSink({ port: server.port, ...fast });
  const { ctx, stop } = sinkContext();
  const lines: string[] = [];
  ctx.log.warn = (line, extra) => void lines.push(`${line} ${JSON.stringify(extra)}`);
  await sink.open(ctx);
  try {
    const write = sink.write(events(1));
    await waitFor(() => lines.length >= 1, "a warning");
    assert.match(lines[0] ?? "", /does not accept the syslog command/);
    stop.abort();
    await assert.rejects(write);
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("relpSink() checks its options", () => {
  assert.throws(() => relpSink({ port: 0 }), /"port" must be an integer 1–65535, got 0/);
  assert.throws(() => relpSink({ port: 1, window: 0 }), /"window" must be an integer/);
  assert.throws(
    // @ts-expect-error: a wrong format on purpose
    () => relpSink({ port: 1, format: "json" }),
    /"format" must be "rfc5424", "raw" or a function, got "json"/,
  );
  assert.throws(
    () => relpSink({ port: 1, tls: { certFile: "vm.crt" } }),
    /needs both "tls.cert"\/"tls.certFile" and "tls.key"\/"tls.keyFile"/,
  );
});

Deno.test({
  name: "relpSink() and relpSource() speak mutual TLS; the host comes from the certificate",
  ignore: OPENSSL === undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    const pki = await makeTestPki(dir, ["vm-1"]);
    const got = collectSink();
    const source = relpSource({
      port: 0,
      host: "127.0.0.1",
      name: "relp",
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, peerVerify: "required" },
      hostFromCertificate: true,
    });
    const central = new Engine(definePipeline({ paths: [{ from: [source], to: [got] }] }), {
      logger: createLogger("silent"),
    });
    await central.start();
    const port = source.addr?.port as number;
    const client = pki.clients["vm-1"] as { certFile: string; keyFile: string };
    const sink = relpSink({
      host: "localhost",
      port,
      tls: { caFile: pki.caFile, certFile: client.certFile, keyFile: client.keyFile },
      ...fast,
    });
    const stranger = relpSink({
      host: "localhost",
      port,
      tls: { ca: pki.ca, cert: pki.stranger.cert, key: pki.stranger.key },
      ...fast,
    });
    const a = sinkContext();
    const b = sinkContext();
    await sink.open(a.ctx);
    await stranger.open(b.ctx);
    try {
      await sink.write(events(20, "claims-to-be-vm-2"));
      assert.equal(got.events.length, 20);
      assert.ok(got.events.every((e) => e.host === "vm-1"));
      assert.equal((got.events[0]?.fields.tls as { peer_cn: string }).peer_cn, "vm-1");
      assert.equal(got.events[0]?.id, "claims-to-be-vm-2:0");

      const refused = stranger.write(events(1));
      await waitFor(() => (b.ctx.stats.counters.reconnects ?? 0) >= 2, "refused attempts");
      b.stop.abort();
      await assert.rejects(refused);
      assert.equal(got.events.length, 20);
      assert.ok((central.stats.get("relp")?.counters.tls_rejected ?? 0) >= 1);
    } finally {
      await sink.close();
      await stranger.close();
      await central.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
