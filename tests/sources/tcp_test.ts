import assert from "node:assert/strict";
import { waitFor } from "../_peers.ts";
import { createLogger } from "../../core/log.ts";
import { Engine } from "../../core/engine.ts";
import { definePipeline } from "../../core/pipeline.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { closedByPeer, enc, send, started, writeAll } from "./_tcp_helpers.ts";

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
    await writeAll(conn, bytes.subarray(20));
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
    await writeAll(conn, huge);
    await writeAll(conn, enc.encode("after\n"));
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
    await writeAll(conn, enc.encode("5 hello12x bad"));
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
    await writeAll(partial, enc.encode("no newline yet"));
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
    await Promise.all(conns.map((c, i) => writeAll(c, enc.encode(`conn ${i} a\nconn ${i} b\n`))));
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
    await writeAll(third, enc.encode("the new one is served\n"));
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
    await writeAll(busy, enc.encode("held by the pipeline\n"));
    await t.until(() => t.events.length === 1, "the held batch");
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
    conns.push(refused);
    assert.ok(await closedByPeer(refused));
    assert.equal(t.stats.counters.rejected_connections, 1);
    release();
    await writeAll(busy, enc.encode("still here\n"));
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
      await writeAll(conn, block);
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
  await writeAll(conn, enc.encode("one\ntwo\n"));
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
