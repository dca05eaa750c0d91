import assert from "node:assert/strict";
import { createLogger, definePipeline, Engine, type LogEvent, type Sink } from "../../mod.ts";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { type RelpFrame, RelpFrameParser } from "../../core/relp_frame.ts";
import { relpSource, type RelpSourceOptions } from "../../sources/relp.ts";
import { collectSink, gatedSink } from "../fixtures/components.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const OFFERS = "relp_version=0\nrelp_software=test\ncommands=syslog";

/** A hand-driven RELP client that reads every frame the server sends. */
class RawClient {
  readonly frames: Array<{ txnr: number; command: string; data: string }> = [];
  ended = false;
  readonly #conn: Deno.Conn;
  readonly #parser = new RelpFrameParser();
  readonly #reader: Promise<void>;
  #wake: (() => void) | undefined;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = this.#read();
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const f of this.#parser.push(buffer.subarray(0, n)) as RelpFrame[]) {
          this.frames.push({ txnr: f.txnr, command: f.command, data: dec.decode(f.data) });
        }
        this.#wake?.();
      }
    } catch {
      // closed by the test or reset by the server
    }
    this.ended = true;
    this.#wake?.();
  }

  send(text: string | Uint8Array): Promise<number> {
    return this.#conn.write(typeof text === "string" ? enc.encode(text) : text);
  }

  frame(txnr: number, command: string, data?: string | Uint8Array): Promise<number> {
    return this.send(encodeRelpFrame(txnr, command, data));
  }

  /** Waits until `test` holds (or the connection ended), at most 10 s. */
  async until(test: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!test()) {
      if (this.ended) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, Math.min(left, 100));
      });
      clearTimeout(timer);
    }
  }

  /** Waits for `n` frames in all. */
  async waitFrames(n: number): Promise<void> {
    await this.until(() => this.frames.length >= n, `${n} frames`);
    assert.ok(this.frames.length >= n, `only ${this.frames.length} of ${n} frames arrived`);
  }

  async waitEnd(): Promise<void> {
    await this.until(() => this.ended, "the server to close");
    assert.ok(this.ended, "the server did not close the connection");
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#reader;
  }
}

async function start(
  sink: Sink,
  options: Partial<RelpSourceOptions> = {},
  log: string[] | undefined = undefined,
) {
  const source = relpSource({ port: 0, host: "127.0.0.1", ...options });
  const logger = log ? createLogger("warn", (line) => log.push(line)) : createLogger("silent");
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger,
  });
  await engine.start();
  return { source, engine, port: source.addr?.port as number };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

Deno.test("relpSource() negotiates the session with the offers librelp expects", async () => {
  const sink = collectSink();
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  try {
    await client.frame(1, "open", OFFERS);
    await client.waitFrames(1);
    const [open] = client.frames;
    assert.equal(open?.txnr, 1);
    assert.equal(open?.command, "rsp");
    const [status, ...offers] = (open?.data ?? "").split("\n");
    assert.equal(status, "200 OK");
    assert.ok(offers.includes("relp_version=0"));
    assert.ok(offers.includes("commands=syslog"));
    // A second open inside the session is answered and ignored, as librelp does.
    await client.frame(2, "open", OFFERS);
    await client.waitFrames(2);
    assert.match(client.frames[1]?.data ?? "", /^200 /);
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() answers 200 only after the sink wrote the messages", async () => {
  const sink = gatedSink();
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  try {
    await client.frame(1, "open", OFFERS);
    await client.waitFrames(1);
    await client.send("2 syslog 5 first\n3 syslog 6 second\n4 syslog 5 third\n");
    await waitFor(() => sink.waiting > 0, "the sink's write to start");
    // The write is held: nothing may be acknowledged, however long we wait.
    await sleep(100);
    assert.equal(client.frames.length, 1, "a message was acknowledged before it was written");
    assert.equal(sink.events.length, 0);
    sink.release();
    await client.waitFrames(4);
    assert.deepEqual(
      client.frames.slice(1).map((f) => [f.txnr, f.command, f.data]),
      [[2, "rsp", "200 OK"], [3, "rsp", "200 OK"], [4, "rsp", "200 OK"]],
    );
    assert.deepEqual(sink.events.map((e) => e.message), ["first", "second", "third"]);
    assert.equal(sink.events[0]?.sourceIp, "127.0.0.1");
    assert.equal(sink.events[0]?.id, undefined);
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() answers in order across batches, frames split anywhere", async () => {
  const sink = collectSink({ delayMs: 2 });
  const { engine, port } = await start(sink);
  const client = await RawClient.connect(port);
  try {
    const parts: Uint8Array[] = [encodeRelpFrame(1, "open", OFFERS)];
    for (let t = 2; t <= 301; t++) parts.push(encodeRelpFrame(t, "syslog", `message ${t} ü`));
    parts.push(encodeRelpFrame(302, "close"));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    // Odd-sized writes split frames across reads and make several batches.
    for (let i = 0; i < all.length; i += 977) {
      await client.send(all.slice(i, i + 977));
      await sleep(1);
    }
    await client.waitEnd();
    const rsps = client.frames.filter((f) => f.command === "rsp");
    assert.deepEqual(rsps.map((f) => f.txnr), Array.from({ length: 302 }, (_, i) => i + 1));
    assert.ok(rsps.slice(1, 301).every((f) => f.data === "200 OK"));
    assert.equal(rsps.at(-1)?.data, "", "close is answered with an empty rsp");
    assert.deepEqual(client.frames.at(-1), { txnr: 0, command: "serverclose", data: "" });
    assert.deepEqual(
      sink.events.map((e) => e.message),
      Array.from({ length: 300 }, (_, i) => `message ${i + 2} ü`),
    );
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() keeps every message whole when one read holds hundreds of KiB of them: long, multi-byte and invalid ones among plain ASCII", async () => {
  const sink = collectSink();
  const { engine, port } = await start(sink, { maxDataBytes: 256 * 1024 });
  const client = await RawClient.connect(port);
  try {
    const messages: Array<string | Uint8Array> = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 97 === 5) messages.push(`long ${i} ` + "L".repeat(100_000));
      // A run of multi-byte messages, so that most of the stream is plain ASCII.
      else if (i >= 100 && i < 130) messages.push(`multi-byte ${i} é日本🚨`.repeat(1 + (i % 4)));
      else if (i === 500) messages.push(new Uint8Array([0x61, 0xff, 0x62]));
      else messages.push(`{"n":${i},"msg":"${"x".repeat(i % 300)}"}`);
    }
    const parts = [encodeRelpFrame(1, "open", OFFERS)];
    messages.forEach((m, i) => parts.push(encodeRelpFrame(i + 2, "syslog", m)));
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    // One write of ~1.3 MB: the server reads it in chunks as large as its buffer grows to.
    await client.send(all);
    await waitFor(() => sink.events.length >= messages.length, "every message");
    sink.events.forEach((e, i) => {
      const sent = messages[i] as string | Uint8Array;
      assert.equal(e.message, typeof sent === "string" ? sent : "a\uFFFDb", `message ${i}`);
      assert.equal(e.fields.sluice_invalid_utf8, typeof sent === "string" ? undefined : true);
    });
  } finally {
    await client.close();
    await engine.stop();
  }
});

Deno.test("relpSource() stops reading a connection while its window is full", async () => {
  const sink = gatedSink();
  const { engine, port } = await start(sink, { window: 2, name: "relp" });
  const stats = engine.stats.get("relp");
  const client = await RawClient.connect(port);
  try {
    await client.send(encodeRelpFrame(1, "open", OFFERS));
    await client.waitFrames(1);
    await client.send("2 syslog 1 a\n3 syslog 1 b\n");
    await waitFor(() => stats?.received === 2, "two messages");
    await client.send("4 syslog 1 c\n5 syslog 1 d\n");
    await sleep(100);
    assert.equal(stats?.received, 2, "the source read past its window");
    sink.release();
    await client.waitFrames(5);
    assert.deepEqual(client.frames.map((f) => f.txnr), [1, 2, 3, 4, 5]);
    assert.deepEqual(sink.events.map((e) => e.message), ["a", "b", "c", "d"]);
  } finally {
    await client.close();
    await engine.stop();
  }
});

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
