import assert from "node:assert/strict";
import { createEvent, type LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import type { SinkContext, SourceContext } from "../../core/types.ts";
import { Engine } from "../../core/engine.ts";
import { definePipeline } from "../../core/pipeline.ts";
import { forwardSink, type ForwardSinkOptions } from "../../sinks/forward.ts";
import { generatorSource } from "../../sources/generator.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { makeTestPki, OPENSSL } from "../fixtures/tls/pki.ts";
import { freePort } from "../_ports.ts";

function sinkContext(): { ctx: SinkContext; stats: ComponentStats; abort: AbortController } {
  const stats = new ComponentStats("sink", "fwd", "forward");
  const abort = new AbortController();
  return {
    ctx: {
      name: "fwd",
      stats,
      state: memoryState(),
      log: createLogger("silent"),
      signal: abort.signal,
    },
    stats,
    abort,
  };
}

/** A collector: a tcpSource on a free port gathering messages. */
async function collector(options: Partial<Parameters<typeof tcpSource>[0]> = {}, port = 0) {
  const events: LogEvent[] = [];
  const source = tcpSource({ host: "127.0.0.1", port, ...options });
  const ctx: SourceContext = {
    name: "collector",
    stats: new ComponentStats("source", "collector", "tcp"),
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    emit(batch) {
      events.push(...batch);
      return Promise.resolve();
    },
  };
  await source.start(ctx);
  return { source, events, port: source.addr?.port as number };
}

async function until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sink(port: number, extra: Partial<ForwardSinkOptions> = {}) {
  return forwardSink({
    host: "127.0.0.1",
    port,
    reconnect: { initialMs: 20, maxMs: 100 },
    ...extra,
  });
}

Deno.test("forwardSink() sends a batch newline-framed through its template", async () => {
  const c = await collector({ framing: "newline" });
  const s = sink(c.port, { template: "${HOST} ${MSG}" });
  const { ctx, stats } = sinkContext();
  try {
    await s.open(ctx);
    assert.ok(s.connected);
    await s.write([createEvent("one", { host: "vm-1" }), createEvent("two\n", { host: "vm-2" })]);
    await until(() => c.events.length === 2, "2 lines");
    assert.deepEqual(c.events.map((e) => e.message), ["vm-1 one", "vm-2 two"]);
    assert.equal(stats.counters.connects, 1);
    assert.equal(stats.gauges.connected, 1);
  } finally {
    await s.close();
    await c.source.stop();
  }
});

Deno.test("forwardSink() octet-counts in bytes, so multi-line and UTF-8 messages arrive whole", async () => {
  const c = await collector({ framing: "octet-counting" });
  const s = sink(c.port, { framing: "octet-counting" });
  const { ctx } = sinkContext();
  const messages = ["multi\nline", "héllo wörld 🚀", "", "last"];
  try {
    await s.open(ctx);
    await s.write(messages.map((m) => createEvent(m)));
    await until(() => c.events.length === messages.length, "every frame");
    assert.deepEqual(c.events.map((e) => e.message), messages);
  } finally {
    await s.close();
    await c.source.stop();
  }
});

Deno.test("forwardSink() throws while the collector is away and delivers everything once it is back", async () => {
  const port = freePort();
  const s = sink(port);
  const gen = generatorSource({ count: 5000, batchSize: 100 });
  const engine = new Engine(
    definePipeline({ paths: [{ from: [gen], to: [s] }], retry: { initialMs: 10, maxMs: 50 } }),
    { logger: createLogger("silent") },
  );
  let c: Awaited<ReturnType<typeof collector>> | undefined;
  try {
    await engine.start();
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(s.connected, false);
    const failures = engine.stats.get("forward#0")?.counters.connect_failures ?? 0;
    assert.ok(failures >= 1, "it tried and failed");
    c = await collector({ framing: "newline" }, port);
    await engine.done;
    await until(() => c!.events.length >= 5000, "5000 lines");
    const seen = new Set(c.events.map((e) => JSON.parse(e.message).seq));
    assert.equal(seen.size, 5000);
  } finally {
    await engine.stop();
    await c?.source.stop();
  }
});

Deno.test("forwardSink() notices a collector that closed the connection and reconnects", async () => {
  const first = await collector();
  const port = first.port;
  const s = sink(port);
  const { ctx, stats } = sinkContext();
  let second: Awaited<ReturnType<typeof collector>> | undefined;
  try {
    await s.open(ctx);
    await s.write([createEvent("before")]);
    await until(() => first.events.length === 1, "the first line");
    await first.source.stop();
    await until(() => !s.connected, "the sink to notice");
    second = await collector({}, port);
    // The first write after a collector restart goes to a new connection.
    await s.write([createEvent("after")]);
    await until(() => second!.events.length === 1, "the line after the restart");
    assert.equal(second.events[0]?.message, "after");
    assert.equal(stats.counters.disconnects, 1);
    assert.equal(stats.counters.connects, 2);
  } finally {
    await s.close();
    await second?.source.stop();
  }
});

Deno.test("forwardSink() write rejects with the target named when nobody listens", async () => {
  const port = freePort();
  const s = sink(port);
  const { ctx, stats } = sinkContext();
  try {
    await s.open(ctx);
    await assert.rejects(
      () => s.write([createEvent("x")]),
      new RegExp(`forwardSink: cannot connect to 127\\.0\\.0\\.1:${port}`),
    );
    assert.ok((stats.counters.connect_failures ?? 0) >= 2);
  } finally {
    await s.close();
  }
});

Deno.test("forwardSink() rejects bad options by name", () => {
  assert.throws(() => forwardSink({ host: "", port: 1 }), /forwardSink: "host" must be/);
  assert.throws(() => forwardSink({ host: "a", port: 0 }), /"port" must be an integer 1–65535/);
  assert.throws(
    // @ts-expect-error: a wrong value on purpose
    () => forwardSink({ host: "a", port: 1, framing: "auto" }),
    /"framing" must be "newline" or "octet-counting"/,
  );
  assert.throws(
    () => forwardSink({ host: "a", port: 1, tls: { certFile: "c.crt" } }),
    /needs both/,
  );
});

Deno.test({
  name: "forwardSink() over mutual TLS presents its client certificate",
  ignore: OPENSSL === undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-fwd-tls-" });
    try {
      const pki = await makeTestPki(dir, ["vm-1"]);
      const c = await collector({
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
        hostFromCertificate: true,
      });
      const client = pki.clients["vm-1"]!;
      const good = sink(c.port, {
        tls: { caFile: pki.caFile, certFile: client.certFile, keyFile: client.keyFile },
        framing: "octet-counting",
      });
      const untrusting = sink(c.port, {
        tls: { certFile: client.certFile, keyFile: client.keyFile },
        connectTimeoutMs: 5000,
      });
      const { ctx } = sinkContext();
      try {
        await good.open(ctx);
        await good.write([createEvent("over tls"), createEvent("second")]);
        await until(() => c.events.length === 2, "2 frames");
        assert.equal(c.events[0]?.message, "over tls");
        assert.equal(c.events[0]?.host, "vm-1");
        // A client that does not trust the server's CA refuses to connect.
        await untrusting.open(sinkContext().ctx);
        await assert.rejects(() => untrusting.write([createEvent("x")]), /cannot connect.*TLS/);
      } finally {
        await good.close();
        await untrusting.close();
        await c.source.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
