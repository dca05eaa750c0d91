import assert from "node:assert/strict";
import { waitFor } from "../_peers.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import type { SourceContext } from "../../core/types.ts";
import { Engine } from "../../core/engine.ts";
import { definePipeline } from "../../core/pipeline.ts";
import { tcpSource, type TcpSourceOptions } from "../../sources/tcp.ts";
import { makeTestPki, OPENSSL, type TestPki } from "../fixtures/tls/pki.ts";

const enc = new TextEncoder();

/** A source context that collects what is emitted; `gate` can hold emit() back. */
function collector() {
  const events: LogEvent[] = [];
  const batches: number[] = [];
  const stats = new ComponentStats("source", "net", "tcp");
  let gate: Promise<void> | undefined;
  let waiters: Array<() => void> = [];
  const ctx: SourceContext = {
    name: "net",
    stats,
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    async emit(batch) {
      batches.push(batch.length);
      events.push(...batch);
      const w = waiters;
      waiters = [];
      for (const f of w) f();
      if (gate) await gate;
    },
  };
  return {
    ctx,
    events,
    batches,
    stats,
    hold(until: Promise<void>) {
      gate = until;
    },
    /** Resolves once `pred()` holds, checking after every emit and on a short poll. */
    async until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, 20);
          waiters.push(done);
          function done() {
            clearTimeout(t);
            resolve();
          }
        });
      }
    },
  };
}

async function started(options: Partial<TcpSourceOptions> = {}) {
  const source = tcpSource({ port: 0, host: "127.0.0.1", ...options });
  const c = collector();
  await source.start(c.ctx);
  const port = source.addr?.port as number;
  return { source, port, ...c };
}

async function send(port: number, bytes: Uint8Array | string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await _writeAll(conn, typeof bytes === "string" ? enc.encode(bytes) : bytes);
  } finally {
    conn.close();
  }
}

async function _writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Reads until the peer closes; returns `true` once it did. */
async function closedByPeer(conn: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(64);
  try {
    while ((await conn.read(buf)) !== null) {
      // the source never writes; keep reading until EOF
    }
  } catch {
    // a reset is a close too
  }
  return true;
}

Deno.test("tcpSource() emits newline-framed lines with SOURCEIP", async () => {
  const t = await started();
  try {
    await send(t.port, '{"a":1}\n{"b":2}\r\nlast without newline');
    await t.until(() => t.events.length === 3, "3 events");
    assert.deepEqual(t.events.map((e) => e.message), [
      '{"a":1}',
      '{"b":2}',
      "last without newline",
    ]);
    assert.equal(t.events[0]?.sourceIp, "127.0.0.1");
    assert.equal(t.stats.received, 3);
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() splits octet-counted frames, detected per connection", async () => {
  const t = await started();
  try {
    const a = "<13>1 2026-11-23T10:00:00Z vm1 app - - - multi\nline";
    const b = "second";
    const bytes = enc.encode(`${enc.encode(a).length} ${a}${b.length} ${b}`);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    // Byte by byte at first, so frames span reads.
    for (let i = 0; i < 20; i++) await conn.write(bytes.subarray(i, i + 1));
    await _writeAll(conn, bytes.subarray(20));
    await send(t.port, "plain line\n");
    await t.until(() => t.events.length === 3, "3 events");
    conn.close();
    const got = t.events.map((e) => e.message).sort();
    assert.deepEqual(got, [a, "plain line", b].sort());
  } finally {
    await t.source.stop();
  }
});

Deno.test('tcpSource() with framing "newline" keeps lines that start with a digit', async () => {
  const t = await started({ framing: "newline" });
  try {
    await send(t.port, "42 is the answer\n");
    await t.until(() => t.events.length === 1, "1 event");
    assert.equal(t.events[0]?.message, "42 is the answer");
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() cuts a 10 MiB line, flags it and keeps the connection", async () => {
  const t = await started({ maxMessageBytes: 65536 });
  try {
    const huge = new Uint8Array(10 * 1024 * 1024 + 1).fill(120);
    huge[huge.length - 1] = 10;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await _writeAll(conn, huge);
    await _writeAll(conn, enc.encode("after\n"));
    conn.close();
    await t.until(() => t.events.length === 2, "2 events");
    assert.equal(t.events[0]?.message.length, 65536);
    assert.equal(t.events[0]?.fields.sluice_truncated, true);
    assert.equal(t.events[1]?.message, "after");
    assert.equal(t.events[1]?.fields.sluice_truncated, undefined);
    assert.equal(t.stats.counters.truncated, 1);
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() keeps random binary as text and flags invalid UTF-8", async () => {
  const t = await started({ framing: "newline" });
  try {
    let seed = 7;
    const noise = new Uint8Array(200_000).map(() =>
      (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24
    );
    await send(t.port, noise);
    const lines = noise.filter((b) => b === 10).length + 1;
    await t.until(() => t.events.length === lines, `${lines} events`);
    assert.ok((t.stats.counters.invalid_utf8 ?? 0) > 0);
    assert.ok(t.events.some((e) => e.fields.sluice_invalid_utf8 === true));
    // Still serving.
    await send(t.port, "fine\n");
    await t.until(() => t.events.at(-1)?.message === "fine", "the next line");
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() closes a connection with a bad octet count and serves others", async () => {
  const t = await started();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await _writeAll(conn, enc.encode("5 hello12x bad"));
    assert.ok(await closedByPeer(conn));
    conn.close();
    assert.deepEqual(t.events.map((e) => e.message), ["hello"]);
    assert.equal(t.stats.counters.framing_errors, 1);
    assert.equal(t.stats.errors, 1);
    await send(t.port, "3 abc");
    await t.until(() => t.events.length === 2, "the next connection's frame");
    assert.equal(t.events[1]?.message, "abc");
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() closes a connection that sends nothing after idleTimeoutMs", async () => {
  const t = await started({ idleTimeoutMs: 150 });
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    const partial = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    await _writeAll(partial, enc.encode("no newline yet"));
    assert.ok(await closedByPeer(silent));
    assert.ok(await closedByPeer(partial));
    silent.close();
    partial.close();
    assert.equal(t.stats.counters.idle_timeouts, 2);
    // What an idle connection had sent is not lost.
    assert.deepEqual(t.events.map((e) => e.message), ["no newline yet"]);
    assert.equal(t.source.connections, 0);
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() serves 500 concurrent connections", async () => {
  const t = await started({ maxConnections: 600, maxConnectionsPerAddress: 600 });
  try {
    const conns = await Promise.all(
      Array.from({ length: 500 }, () => Deno.connect({ hostname: "127.0.0.1", port: t.port })),
    );
    await t.until(() => t.source.connections === 500, "500 connections");
    await Promise.all(conns.map((c, i) => _writeAll(c, enc.encode(`conn ${i} a\nconn ${i} b\n`))));
    for (const c of conns) c.close();
    await t.until(() => t.events.length === 1000, "1000 events");
    const got = new Set(t.events.map((e) => e.message));
    for (let i = 0; i < 500; i++) {
      assert.ok(got.has(`conn ${i} a`) && got.has(`conn ${i} b`), `connection ${i}`);
    }
    assert.equal(t.stats.counters.accepted_connections, 500);
  } finally {
    await t.source.stop();
  }
});

Deno.test("tcpSource() at maxConnections closes the oldest idle connection for a new one", async () => {
  const t = await started({ maxConnections: 2 });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: t.port }));
      await t.until(() => t.source.connections === i + 1, `${i + 1} connections`);
    }
    const third = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    conns.push(third);
    assert.ok(await closedByPeer(conns[0] as Deno.Conn));
    assert.equal(t.stats.counters.evicted_connections, 1);
    assert.equal(t.stats.counters.rejected_connections, undefined);
    await _writeAll(third, enc.encode("the new one is served\n"));
    await t.until(() => t.events.length === 1, "1 event");
    assert.equal(t.source.connections, 2);
  } finally {
    for (const c of conns) c.close();
    await t.source.stop();
  }
});

Deno.test("tcpSource() refuses a new connection only when every open one is busy", async () => {
  const t = await started({ maxConnections: 1 });
  let release = () => {};
  t.hold(new Promise<void>((resolve) => (release = resolve)));
  const conns: Deno.Conn[] = [];
  try {
    const busy = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    conns.push(busy);
    await _writeAll(busy, enc.encode("held by the pipeline\n"));
    await t.until(() => t.events.length === 1, "the held batch");
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    conns.push(refused);
    assert.ok(await closedByPeer(refused));
    assert.equal(t.stats.counters.rejected_connections, 1);
    release();
    await _writeAll(busy, enc.encode("still here\n"));
    await t.until(() => t.events.length === 2, "2 events");
  } finally {
    release();
    for (const c of conns) c.close();
    await t.source.stop();
  }
});

Deno.test("tcpSource() stops reading while emit() waits, so the sender blocks", async () => {
  const t = await started({ readBufferBytes: 65536 });
  const release = Promise.withResolvers<void>();
  t.hold(release.promise);
  const line = "x".repeat(99) + "\n";
  const total = 32_000_000;
  const block = enc.encode(line.repeat(10_000));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  let sent = 0;
  const writer = (async () => {
    while (sent < total) {
      await _writeAll(conn, block);
      sent += block.length;
    }
    conn.close();
  })();
  try {
    await t.until(() => t.batches.length >= 1, "the first batch");
    // Give the sender time to fill every buffer between it and the source.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(t.batches.length, 1, "no read happens while emit() is pending");
    assert.ok(sent < total, "the sender is held back by TCP");
    release.resolve();
    await writer;
    await t.until(() => t.events.length === sent / 100, "every line");
    assert.ok(t.events.every((e) => e.message.length === 99));
  } finally {
    release.resolve();
    await writer.catch(() => {});
    await t.source.stop();
  }
});

Deno.test("tcpSource() runs in an engine and stops cleanly with connections open", async () => {
  const seen: string[] = [];
  const source = tcpSource({ port: 0, host: "127.0.0.1" });
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [source],
        to: [{
          kind: "collect",
          open: () => Promise.resolve(),
          write(b) {
            seen.push(...b.map((e) => e.message));
            return Promise.resolve();
          },
          close: () => Promise.resolve(),
        }],
      }],
    }),
    { logger: createLogger("silent") },
  );
  await engine.start();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: source.addr?.port as number });
  await _writeAll(conn, enc.encode("one\ntwo\n"));
  await waitFor("two lines", () => seen.length >= 2, 20_000, 10);
  await engine.stop();
  assert.ok(await closedByPeer(conn));
  conn.close();
  assert.deepEqual(seen, ["one", "two"]);
});

Deno.test("tcpSource() rejects bad options by name", () => {
  assert.throws(() => tcpSource({ port: 70000 }), /tcpSource: "port" must be an integer 0–65535/);
  assert.throws(
    // @ts-expect-error: a wrong value on purpose
    () => tcpSource({ port: 1, framing: "lines" }),
    /"framing" must be "auto", "newline" or "octet-counting"/,
  );
  assert.throws(() => tcpSource({ port: 1, maxConnections: 0 }), /"maxConnections"/);
  assert.throws(
    () => tcpSource({ port: 1, hostFromCertificate: true }),
    /"hostFromCertificate" needs "tls"/,
  );
  assert.throws(
    () => tcpSource({ port: 1, tls: { certFile: "a", keyFile: "b" } }),
    /"tls.ca" or "tls.caFile" is required/,
  );
});

// --- TLS -------------------------------------------------------------------

const noOpenssl = OPENSSL === undefined;
if (noOpenssl) console.warn("tcp_test: openssl is not installed; TLS tests are skipped");

async function withPki(fn: (pki: TestPki) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-tls-" });
  try {
    await fn(await makeTestPki(dir, ["vm-1", "vm-2"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends over TLS and reads until the server closes: "closed" when it closed cleanly, else the error. */
async function tlsSend(
  port: number,
  pki: TestPki,
  text: string,
  identity?: { cert: string; key: string },
): Promise<string> {
  let conn: Deno.TlsConn | undefined;
  try {
    conn = await Deno.connectTls({
      hostname: "127.0.0.1",
      port,
      caCerts: [pki.ca],
      ...(identity ? { cert: identity.cert, key: identity.key } : {}),
    });
    await _writeAll(conn, enc.encode(text));
    await conn.closeWrite();
    const buf = new Uint8Array(64);
    while ((await conn.read(buf)) !== null) {
      // the source never writes
    }
    return "closed";
  } catch (err) {
    return `error: ${(err as Error).message}`;
  } finally {
    conn?.close();
  }
}

Deno.test({
  name: "tcpSource() with mutual TLS stores the client certificate and sets HOST from it",
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.caFile },
        hostFromCertificate: true,
        idleTimeoutMs: 5000,
      });
      try {
        assert.equal(await tlsSend(t.port, pki, "from vm-1\n", pki.clients["vm-1"]), "closed");
        assert.equal(await tlsSend(t.port, pki, "3 two", pki.clients["vm-2"]), "closed");
        await t.until(() => t.events.length === 2, "2 events");
        const [a, b] = t.events as [LogEvent, LogEvent];
        assert.equal(a.message, "from vm-1");
        assert.equal(a.host, "vm-1");
        assert.equal(a.sourceIp, "127.0.0.1");
        const tls = a.fields.tls as Record<string, string>;
        assert.equal(tls.peer_cn, "vm-1");
        assert.equal(tls.peer_subject, "O=sluice tests,CN=vm-1");
        assert.match(tls.fingerprint ?? "", /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        assert.equal(b.message, "two");
        assert.equal(b.host, "vm-2");
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: 'tcpSource() with peerVerify "required" refuses clients without a trusted certificate',
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, peerVerify: "required" },
      });
      try {
        assert.match(await tlsSend(t.port, pki, "anonymous\n"), /^error: .*Certificate/i);
        assert.match(await tlsSend(t.port, pki, "stranger\n", pki.stranger), /^error: /);
        await t.until(() => (t.stats.counters.tls_rejected ?? 0) === 2, "2 rejections");
        assert.equal(t.stats.errors, 2);
        assert.equal(await tlsSend(t.port, pki, "trusted\n", pki.clients["vm-1"]), "closed");
        await t.until(() => t.events.length === 1, "1 event");
        assert.equal(t.events[0]?.message, "trusted");
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: 'tcpSource() with peerVerify "optional" accepts clients without a certificate',
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, peerVerify: "optional" },
        hostFromCertificate: true,
      });
      try {
        assert.equal(await tlsSend(t.port, pki, "anonymous\n"), "closed");
        assert.equal(await tlsSend(t.port, pki, "known\n", pki.clients["vm-2"]), "closed");
        assert.match(await tlsSend(t.port, pki, "stranger\n", pki.stranger), /^error: /);
        await t.until(() => t.events.length === 2, "2 events");
        const anon = t.events.find((e) => e.message === "anonymous") as LogEvent;
        const known = t.events.find((e) => e.message === "known") as LogEvent;
        assert.equal(anon.host, undefined);
        assert.equal(anon.fields.tls, undefined);
        assert.equal(known.host, "vm-2");
        assert.equal(t.stats.counters.tls_rejected, 1);
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: 'tcpSource() with peerVerify "none" serves server-only TLS and octet counting',
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, peerVerify: "none" },
      });
      try {
        const many = Array.from({ length: 20_000 }, (_, i) => `message ${i}`);
        const text = many.map((m) => `${m.length} ${m}`).join("");
        assert.equal(await tlsSend(t.port, pki, text), "closed");
        await t.until(() => t.events.length === many.length, "every frame");
        assert.deepEqual(t.events.map((e) => e.message), many);
      } finally {
        await t.source.stop();
      }
    }),
});

Deno.test({
  name: "tcpSource() over TLS closes a client that never starts its handshake after idleTimeoutMs",
  ignore: noOpenssl,
  fn: () =>
    withPki(async (pki) => {
      const t = await started({
        tls: { cert: pki.server.cert, key: pki.server.key, peerVerify: "none" },
        idleTimeoutMs: 200,
      });
      try {
        const silent = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
        assert.ok(await closedByPeer(silent));
        silent.close();
        assert.equal(t.stats.counters.idle_timeouts, 1);
        assert.equal(t.stats.errors, 0);
        assert.equal(await tlsSend(t.port, pki, "still serving\n"), "closed");
        await t.until(() => t.events.length === 1, "1 event");
      } finally {
        await t.source.stop();
      }
    }),
});
