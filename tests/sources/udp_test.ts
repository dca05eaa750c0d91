import assert from "node:assert/strict";
import dgram from "node:dgram";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { memoryState } from "../../core/state.ts";
import { ComponentStats } from "../../core/stats.ts";
import type { SourceContext } from "../../core/types.ts";
import { udpSource, type UdpSourceOptions } from "../../sources/udp.ts";

const denoDatagrams =
  typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
console.log(
  `udp_test: testing the ${denoDatagrams ? "Deno.listenDatagram" : "node:dgram"} path`,
);

async function started(options: Partial<UdpSourceOptions> = {}) {
  const events: LogEvent[] = [];
  const stats = new ComponentStats("source", "udp", "udp");
  let gate: Promise<void> | undefined;
  const ctx: SourceContext = {
    name: "udp",
    stats,
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
    async emit(batch) {
      events.push(...batch);
      if (gate) await gate;
    },
  };
  const source = udpSource({ port: 0, host: "127.0.0.1", ...options });
  await source.start(ctx);
  const client = dgram.createSocket("udp4");
  const port = source.addr?.port as number;
  return {
    source,
    events,
    stats,
    hold(p: Promise<void>) {
      gate = p;
    },
    send(data: string | Uint8Array): Promise<void> {
      return new Promise((resolve, reject) =>
        client.send(data, port, "127.0.0.1", (err) => (err ? reject(err) : resolve()))
      );
    },
    async until(pred: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      await new Promise<void>((resolve) => client.close(() => resolve()));
      await source.stop();
    },
  };
}

Deno.test("udpSource() emits one event per datagram with SOURCEIP", async () => {
  const t = await started();
  try {
    await t.send("<13>first\n");
    await t.until(() => t.events.length === 1, "1 event");
    await t.send("second\r\n");
    await t.send("two\nlines");
    await t.until(() => t.events.length === 3, "3 events");
    assert.deepEqual(t.events.map((e) => e.message), ["<13>first", "second", "two\nlines"]);
    assert.equal(t.events[0]?.sourceIp, "127.0.0.1");
    assert.equal(t.stats.received, 3);
  } finally {
    await t.close();
  }
});

Deno.test("udpSource() cuts long datagrams and flags invalid UTF-8", async () => {
  const t = await started({ maxMessageBytes: 10 });
  try {
    await t.send("0123456789abcdef");
    await t.send(new Uint8Array([0x61, 0xff, 0x62]));
    await t.until(() => t.events.length === 2, "2 events");
    assert.equal(t.events[0]?.message, "0123456789");
    assert.equal(t.events[0]?.fields.sluice_truncated, true);
    assert.equal(t.events[1]?.message, "a\uFFFDb");
    assert.equal(t.events[1]?.fields.sluice_invalid_utf8, true);
    assert.equal(t.stats.counters.truncated, 1);
    assert.equal(t.stats.counters.invalid_utf8, 1);
  } finally {
    await t.close();
  }
});

Deno.test("udpSource() drops and counts datagrams while its queue is full", async () => {
  const t = await started({ queueSize: 10 });
  const release = Promise.withResolvers<void>();
  t.hold(release.promise);
  try {
    for (let i = 0; i < 100; i++) {
      await t.send(`datagram ${i}`);
      // Pace the sender so the kernel buffer never overflows: every loss is ours to count.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await t.until(() => t.stats.received === 100, "100 datagrams");
    release.resolve();
    await t.until(() => t.events.length + t.stats.dropped === 100, "every datagram accounted");
    assert.ok(
      t.events.length <= 11,
      `at most the batch in flight and the queue, got ${t.events.length}`,
    );
    assert.ok(t.stats.dropped >= 89);
    assert.equal(t.stats.counters.queue_full, t.stats.dropped);
    // The first datagrams are the ones kept.
    assert.equal(t.events[0]?.message, "datagram 0");
  } finally {
    release.resolve();
    await t.close();
  }
});

Deno.test("udpSource() batches datagrams that arrive while the pipeline is busy", async () => {
  const t = await started({ batchSize: 50 });
  try {
    for (let i = 0; i < 500; i++) {
      await t.send(`m${i}`);
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await t.until(() => t.events.length === 500, "500 events");
    assert.deepEqual(
      t.events.map((e) => e.message),
      Array.from({ length: 500 }, (_, i) => `m${i}`),
    );
  } finally {
    await t.close();
  }
});

Deno.test("udpSource() rejects bad options by name", () => {
  assert.throws(
    () => udpSource({ port: -1 }),
    /udpSource: "port" must be an integer 0–65535, got -1/,
  );
  assert.throws(() => udpSource({ port: 1, queueSize: 0 }), /"queueSize"/);
});
