import assert from "node:assert/strict";
import type { LogEvent } from "../../mod.ts";
import { relpSource } from "../../sources/relp.ts";
import { collectSink, gatedSink } from "../fixtures/components.ts";
import { OFFERS, RawClient, sleep, start, waitFor } from "./_relp_client.ts";

Deno.test("relpSource() closes a connection that sends an oversized frame and keeps serving others", async () => {
  const sink = collectSink();
  const log: string[] = [];
  const { engine, port } = await start(sink, { maxDataBytes: 1000, name: "relp" }, log);
  const bad = await RawClient.connect(port);
  const good = await RawClient.connect(port);
  try {
    await bad.frame(1, "open", OFFERS);
    await bad.frame(2, "syslog", "fine");
    await bad.waitFrames(2);
    await bad.send(`3 syslog 1001 ${"x".repeat(200)}`);
    await bad.waitEnd();
    assert.deepEqual(bad.frames.map((f) => f.command), ["rsp", "rsp", "serverclose"]);
    assert.ok(
      log.some((l) => l.includes("1001 bytes exceeds the limit of 1000 bytes")),
      log.join("\n"),
    );
    assert.equal(engine.stats.get("relp")?.counters.oversized_frames, 1);

    await good.frame(1, "open", OFFERS);
    await good.frame(2, "syslog", "x".repeat(1000));
    await good.waitFrames(2);
    assert.equal(good.frames[1]?.data, "200 OK");
    assert.deepEqual(sink.events.map((e) => e.message.length), [4, 1000]);
  } finally {
    await bad.close();
    await good.close();
    await engine.stop();
  }
});

Deno.test("relpSource() closes connections that send garbage or break the protocol", async () => {
  const sink = collectSink();
  const { engine, port } = await start(sink, { name: "relp" });
  const garbage: Array<[string, string | Uint8Array]> = [
    ["HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["binary", new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x10])],
    ["syslog before open", "1 syslog 1 a\n"],
    ["wrong txnr", `1 open ${OFFERS.length} ${OFFERS}\n5 syslog 1 a\n`],
    ["open without version", "1 open 15 commands=syslog\n"],
    ["open without syslog", "1 open 14 relp_version=0\n"],
    ["no trailer", `1 open ${OFFERS.length} ${OFFERS}X`],
  ];
  try {
    for (const [what, bytes] of garbage) {
      const client = await RawClient.connect(port);
      try {
        await client.send(bytes);
        await client.waitEnd();
        assert.equal(client.frames.at(-1)?.command, "serverclose", what);
        for (const f of client.frames) assert.notEqual(f.data, "200 OK", what);
      } finally {
        await client.close();
      }
    }
    assert.equal(sink.events.length, 0);
    assert.equal(engine.stats.get("relp")?.counters.protocol_errors, garbage.length);
    // The server still serves.
    const client = await RawClient.connect(port);
    try {
      await client.send(`1 open ${OFFERS.length} ${OFFERS}\n2 syslog 2 ok\n`);
      await client.waitFrames(2);
      assert.equal(client.frames[1]?.data, "200 OK");
    } finally {
      await client.close();
    }
  } finally {
    await engine.stop();
  }
});

Deno.test("relpSource() answers an unknown command with 500 and goes on", async () => {
  const sink = collectSink();
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  try {
    await client.send(`1 open ${OFFERS.length} ${OFFERS}\n2 starttls 0\n3 syslog 1 a\n`);
    await client.waitFrames(3);
    assert.match(client.frames[1]?.data ?? "", /^500 /);
    assert.equal(client.frames[2]?.data, "200 OK");
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() restores the id and properties a sluice sink wrapped", async () => {
  const sink = collectSink();
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  const wrapped =
    '<34>1 2026-11-23T09:48:00.000+01:00 vm-1 yara 77 - [sluice@32473 id="vm-1:a:42"] {"a":1}';
  const foreign = "<13>Nov 23 09:48:00 host app: plain";
  try {
    await client.frame(1, "open", OFFERS);
    await client.frame(2, "syslog", wrapped);
    await client.frame(3, "syslog", foreign);
    await client.waitFrames(3);
    const [a, b] = sink.events as [LogEvent, LogEvent];
    assert.equal(a.id, "vm-1:a:42");
    assert.equal(a.message, '{"a":1}');
    assert.equal(a.host, "vm-1");
    assert.equal(a.program, "yara");
    assert.equal(a.severity, 2);
    assert.equal(a.timestamp, Date.UTC(2026, 10, 23, 8, 48));
    assert.equal(b.message, foreign);
    assert.equal(b.id, undefined);
  } finally {
    await client.close();
    await engine.stop();
  }
  const raw = collectSink();
  const off = await start(raw, { unwrap: false });
  const again = await RawClient.connect(off.port);
  try {
    await again.frame(1, "open", OFFERS);
    await again.frame(2, "syslog", wrapped);
    await again.waitFrames(2);
    assert.equal(raw.events[0]?.message, wrapped);
  } finally {
    await again.close();
    await off.engine.stop();
  }
});

Deno.test("relpSource() flags invalid UTF-8 and keeps the message", async () => {
  const sink = collectSink();
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  try {
    await client.frame(1, "open", OFFERS);
    await client.frame(2, "syslog", new Uint8Array([0x61, 0xff, 0x62]));
    await client.waitFrames(2);
    assert.equal(sink.events[0]?.message, "a\uFFFDb");
    assert.equal(sink.events[0]?.fields.sluice_invalid_utf8, true);
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() stop() answers what the sinks wrote, then says serverclose", async () => {
  const sink = gatedSink();
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  try {
    await client.frame(1, "open", OFFERS);
    await client.waitFrames(1);
    await client.frame(2, "syslog", "pending");
    await waitFor(() => sink.waiting > 0, "the write");
    const stopped = engine.stop();
    await sleep(20);
    sink.release();
    await stopped;
    await client.waitEnd();
    assert.deepEqual(client.frames.map((f) => [f.txnr, f.command]), [
      [1, "rsp"],
      [2, "rsp"],
      [0, "serverclose"],
    ]);
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() over maxConnections closes an idle session, or refuses when all are busy", async () => {
  const sink = gatedSink();
  const { engine, port } = await start(sink, { maxConnections: 1, name: "relp" });
  const idle = await RawClient.connect(port);
  let busy: RawClient | undefined;
  let refused: RawClient | undefined;
  try {
    await idle.frame(1, "open", OFFERS);
    await idle.waitFrames(1);
    // A new session makes room by closing the idle one (serverclose).
    busy = await RawClient.connect(port);
    await idle.waitEnd();
    assert.equal(idle.frames.at(-1)?.command, "serverclose");
    await busy.frame(1, "open", OFFERS);
    await busy.frame(2, "syslog", "held");
    await waitFor(() => sink.waiting > 0, "the held message");
    // Its message waits for the sink: the session is busy, so the next one is refused.
    refused = await RawClient.connect(port);
    await refused.waitEnd();
    assert.equal(refused.frames.length, 0);
    const counters = engine.stats.get("relp")?.counters ?? {};
    assert.equal(counters.evicted_connections, 1);
    assert.equal(counters.rejected_connections, 1);
    sink.release();
    await busy.waitFrames(2);
    assert.equal(busy.frames[1]?.data, "200 OK");
  } finally {
    sink.release();
    await idle.close();
    await busy?.close();
    await refused?.close();
    await engine.stop();
  }
});

Deno.test("relpSource() checks its options", () => {
  assert.throws(() => relpSource({ port: 70000 }), /"port" must be an integer 0–65535, got 70000/);
  assert.throws(() => relpSource({ port: 0, window: 0 }), /"window" must be an integer/);
  assert.throws(
    () => relpSource({ port: 0, maxDataBytes: 1e10 }),
    /"maxDataBytes" must be at most 999999999/,
  );
  assert.throws(
    () => relpSource({ port: 0, hostFromCertificate: true }),
    /"hostFromCertificate" needs "tls"/,
  );
  assert.throws(
    () => relpSource({ port: 0, tls: { certFile: "a", keyFile: "b" } }),
    /"tls.ca" or "tls.caFile" is required/,
  );
});
