import assert from "node:assert/strict";
import {
  ComponentStats,
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  generatorSource,
  type LogEvent,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { RelpFrameParser } from "../../core/relp_frame.ts";
import { syntheticAlert } from "../../sources/generator.ts";
import { relpSink, type RelpSinkOptions } from "../../sinks/relp.ts";
import { relpSource } from "../../sources/relp.ts";
import { collectSink, gatedSink } from "../fixtures/components.ts";
import { makeTestPki, OPENSSL } from "../fixtures/tls/pki.ts";
import { freePort } from "../_ports.ts";

const dec = new TextDecoder();
const OPEN_OK = "200 OK\nrelp_version=0\nrelp_software=fake\ncommands=syslog";

interface Frame {
  txnr: number;
  command: string;
  data: string;
}

/** One connection to the fake server, driven by a test script. */
class FakeSession {
  readonly received: Frame[] = [];
  readonly #conn: Deno.Conn;
  readonly #parser = new RelpFrameParser();
  #queue: Frame[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  readonly reader: Promise<void>;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.reader = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const f of this.#parser.push(buffer.subarray(0, n))) {
          const frame = { txnr: f.txnr, command: f.command, data: dec.decode(f.data) };
          this.received.push(frame);
          this.#queue.push(frame);
        }
        this.#wake?.();
      }
    } catch {
      // closed
    }
    this.#ended = true;
    this.#wake?.();
  }

  /** The next frame, or `null` after `ms` without one or at the end of the connection. */
  async next(ms = 10_000): Promise<Frame | null> {
    if (this.#queue.length === 0 && !this.#ended) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return this.#queue.shift() ?? null;
  }

  async answer(txnr: number, data: string): Promise<void> {
    await this.#conn.write(encodeRelpFrame(txnr, "rsp", data));
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.#conn.write(bytes);
  }

  /** Reads the open command and accepts it. */
  async handshake(): Promise<void> {
    const open = await this.next();
    assert.equal(open?.command, "open");
    assert.match(open?.data ?? "", /relp_version=0/);
    assert.match(open?.data ?? "", /commands=syslog/);
    await this.answer(open?.txnr ?? 0, OPEN_OK);
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** A RELP server whose n-th connection runs `scripts[n]` (the last one repeats). */
class FakeServer {
  readonly port: number;
  readonly sessions: FakeSession[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #scripts: Array<(s: FakeSession) => Promise<void>>;
  readonly #running: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(scripts: Array<(s: FakeSession) => Promise<void>>) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#scripts = scripts;
    this.#accepting = this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for (;;) {
        const conn = await this.#listener.accept();
        const session = new FakeSession(conn);
        const script = this.#scripts[Math.min(this.sessions.length, this.#scripts.length - 1)];
        this.sessions.push(session);
        this.#running.push((async () => {
          try {
            await script?.(session);
          } finally {
            session.close();
            await session.reader;
          }
        })());
      }
    } catch {
      // listener closed
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const s of this.sessions) s.close();
    await Promise.all(this.#running);
  }
}

/** Answers every syslog command with 200 until the client closes. */
async function answerAll(s: FakeSession): Promise<void> {
  await s.handshake();
  for (;;) {
    const f = await s.next();
    if (f === null) return;
    await s.answer(f.txnr, f.command === "close" ? "" : "200 OK");
    if (f.command === "close") return;
  }
}

function sinkContext(name = "relp"): { ctx: SinkContext; stop: AbortController } {
  const stop = new AbortController();
  return {
    stop,
    ctx: {
      name,
      stats: new ComponentStats("sink", name, "relp"),
      state: memoryState(),
      log: createLogger("silent"),
      signal: stop.signal,
    },
  };
}

function events(n: number, prefix = "vm-1:alerts"): LogEvent[] {
  return Array.from(
    { length: n },
    (_, i) => createEvent(`message ${i}`, { id: `${prefix}:${i}`, host: "vm-1" }),
  );
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

const fast: Partial<RelpSinkOptions> = { retryInitialMs: 10, retryMaxMs: 50 };

Deno.test("relpSink() delivers everything to relpSource in order, ids intact", async () => {
  const got = collectSink();
  const source = relpSource({ port: 0, host: "127.0.0.1" });
  const logger = createLogger("silent");
  const central = new Engine(definePipeline({ paths: [{ from: [source], to: [got] }] }), {
    logger,
  });
  await central.start();
  const n = 20_000;
  const vm = new Engine(
    definePipeline({
      paths: [{
        from: [generatorSource({ count: n, name: "alerts" })],
        to: [relpSink({ port: source.addr?.port as number })],
      }],
    }),
    { logger },
  );
  try {
    await vm.start();
    await vm.done;
    assert.equal(got.events.length, n);
    for (let i = 0; i < n; i += 997) {
      const e = got.events[i] as LogEvent;
      assert.equal(e.id, `alerts:${String(i).padStart(12, "0")}`);
      assert.equal(e.message, syntheticAlert(i));
    }
    assert.deepEqual(
      got.events.map((e) => e.id),
      Array.from({ length: n }, (_, i) => `alerts:${String(i).padStart(12, "0")}`),
    );
  } finally {
    await vm.stop();
    await central.stop();
  }
});

Deno.test("relpSink() in a pipeline fills its window past the pipeline's queue size (the engine counts a batch until it is answered)", async () => {
  const window = 600;
  let most = 0;
  const server = new FakeServer([async (s) => {
    await s.handshake();
    // Hold every answer until the window is full (or nothing more comes for 2 s).
    const held: Frame[] = [];
    while (held.length < window) {
      const f = await s.next(2000);
      if (f === null) break;
      held.push(f);
    }
    most = held.length;
    for (const f of held) await s.answer(f.txnr, "200 OK");
    await answerAll_rest(s);
  }]);
  const vm = new Engine(
    definePipeline({
      // A queue of 100 used to be the most in flight, whatever the window.
      queueSize: 100,
      maxBatch: 50,
      paths: [{
        from: [generatorSource({ count: 1000, batchSize: 50, name: "alerts" })],
        to: [relpSink({ port: server.port, window, ...fast })],
      }],
    }),
    { logger: createLogger("silent") },
  );
  try {
    await vm.start();
    await vm.done;
    assert.equal(most, window, "the window filled while the first answers were held");
    const ids = server.sessions.flatMap((x) => x.received)
      .filter((f) => f.command === "syslog").map((f) => /id="([^"]+)"/.exec(f.data)?.[1]);
    assert.equal(new Set(ids).size, 1000);
  } finally {
    await vm.stop();
    await server.close();
  }
});

Deno.test("relpSink() resolves write() only once every message is answered", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = new FakeServer([async (s) => {
    await s.handshake();
    const frames: Frame[] = [];
    while (frames.length < 3) frames.push((await s.next()) as Frame);
    await released;
    for (const f of frames) await s.answer(f.txnr, "200 OK");
    await answerAll_rest(s);
  }]);
  const sink = relpSink({ port: server.port, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    let resolved = false;
    const write = sink.write(events(3)).then(() => (resolved = true));
    await waitFor(() => (server.sessions[0]?.received.length ?? 0) >= 4, "three messages");
    await sleep(50);
    assert.equal(resolved, false, "write() resolved before the server answered");
    release();
    await write;
    assert.equal(resolved, true);
  } finally {
    await sink.close();
    await server.close();
  }
});

/** Answers the rest of a session as {@linkcode answerAll} does, after the handshake. */
async function answerAll_rest(s: FakeSession): Promise<void> {
  for (;;) {
    const f = await s.next();
    if (f === null) return;
    await s.answer(f.txnr, f.command === "close" ? "" : "200 OK");
    if (f.command === "close") return;
  }
}

Deno.test("relpSink() never has more than window messages unanswered", async () => {
  const window = 16;
  let most = 0;
  let closed = false;
  const server = new FakeServer([async (s) => {
    await s.handshake();
    let pending: number[] = [];
    for (;;) {
      // Once the window is full, wait a while: a frame arriving now breaks the window.
      const f = await s.next(pending.length >= window ? 50 : 20);
      if (f === null) {
        for (const t of pending) await s.answer(t, "200 OK");
        pending = [];
        continue;
      }
      if (f.command === "close") {
        for (const t of pending) await s.answer(t, "200 OK");
        await s.answer(f.txnr, "");
        closed = true;
        return;
      }
      pending.push(f.txnr);
      most = Math.max(most, pending.length);
    }
  }]);
  const sink = relpSink({ port: server.port, window, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    await sink.write(events(100));
    await sink.write(events(37, "second"));
    await sink.close();
    assert.equal(most, window, `up to ${most} messages were unanswered at once`);
    assert.ok(closed, "close() did not send the close command");
    const syslog = server.sessions[0]?.received.filter((f) => f.command === "syslog") ?? [];
    assert.equal(syslog.length, 137);
    // Transaction numbers count up from 1 (the open) without gaps.
    assert.deepEqual(
      server.sessions[0]?.received.map((f) => f.txnr),
      Array.from({ length: 139 }, (_, i) => i + 1),
    );
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("relpSink() resends every unanswered message, in order, after the connection breaks", async () => {
  const server = new FakeServer([
    async (s) => {
      await s.handshake();
      for (let i = 0; i < 10; i++) {
        const f = (await s.next()) as Frame;
        if (i < 5) await s.answer(f.txnr, "200 OK");
      }
      // Drop the connection with five messages unanswered.
    },
    answerAll,
  ]);
  const sink = relpSink({ port: server.port, window: 10, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    await sink.write(events(30));
    const second = server.sessions[1]?.received.filter((f) => f.command === "syslog") ?? [];
    assert.deepEqual(
      second.map((f) => /id="([^"]+)"/.exec(f.data)?.[1]),
      Array.from({ length: 25 }, (_, i) => `vm-1:alerts:${i + 5}`),
    );
    assert.equal(second[0]?.txnr, 2, "a new session counts from 1 again");
    assert.equal(ctx.stats.counters.reconnects, 1);
    // Five were answered; the five unanswered ones and whatever the window let out after them went again.
    const resent = ctx.stats.counters.resent ?? 0;
    assert.ok(resent >= 5 && resent <= 10, `resent ${resent}`);
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("relpSink() keeps the window full across two writes in flight; each resolves when its own messages are answered, and both resend after a break, in order", async () => {
  const window = 8;
  let most = 0;
  const server = new FakeServer([
    async (s) => {
      await s.handshake();
      // Hold every answer until 12 messages came: more than one write's 6, so the
      // second write's messages went out while the first's were unanswered.
      const held: Frame[] = [];
      while (held.length < window) held.push((await s.next()) as Frame);
      most = held.length;
      for (const f of held.slice(0, 4)) await s.answer(f.txnr, "200 OK");
      for (let i = 0; i < 4; i++) held.push((await s.next()) as Frame);
      // Break with messages of both writes unanswered.
    },
    answerAll,
  ]);
  const sink = relpSink({ port: server.port, window, ...fast });
  assert.equal(sink.concurrency, 16);
  // The engine counts a batch in the queue until it is answered: the queue holds the window and a batch.
  assert.equal(sink.queueSize, window + 1000);
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    let firstDone = false;
    const first = sink.write(events(6, "a")).then(() => (firstDone = true));
    const second = sink.write(events(6, "b"));
    await Promise.all([first, second]);
    assert.ok(firstDone);
    assert.equal(most, window);
    const one = server.sessions[0]?.received.filter((f) => f.command === "syslog") ?? [];
    // One connection, in order: all of a's messages, then b's, in one sequence of numbers.
    assert.deepEqual(
      one.map((f) => /id="([^"]+)"/.exec(f.data)?.[1]),
      [
        ...Array.from({ length: 6 }, (_, i) => `a:${i}`),
        ...Array.from({ length: 6 }, (_, i) => `b:${i}`),
      ],
    );
    assert.deepEqual(one.map((f) => f.txnr), Array.from({ length: 12 }, (_, i) => i + 2));
    // a:0–3 were answered; a:4, a:5 and all of b went again, none lost, in the first order:
    // a receiver may take a later id as proof of the earlier ones (the JSONL sink's marks do).
    const two = server.sessions[1]?.received.filter((f) => f.command === "syslog") ?? [];
    assert.deepEqual(
      two.map((f) => /id="([^"]+)"/.exec(f.data)?.[1]),
      ["a:4", "a:5", ...Array.from({ length: 6 }, (_, i) => `b:${i}`)],
    );
    assert.equal(ctx.stats.counters.reconnects, 2, "each write counts its own failure");
  } finally {
    await sink.close();
    await server.close();
  }
});

Deno.test("relpSink() resolves a first write before a second one whose messages are still unanswered", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = new FakeServer([async (s) => {
    await s.handshake();
    const frames: Frame[] = [];
    while (frames.length < 6) frames.push((await s.next()) as Frame);
    for (const f of frames.slice(0, 3)) await s.answer(f.txnr, "200 OK");
    await released;
    for (const f of frames.slice(3)) await s.answer(f.txnr, "200 OK");
    await answerAll_rest(s);
  }]);
  const sink = relpSink({ port: server.port, ...fast });
  const { ctx } = sinkContext();
  await sink.open(ctx);
  try {
    let secondDone = false;
    const second = (async () => {
      await sleep(0);
      await sink.write(events(3, "b"));
      secondDone = true;
    })();
    await sink.write(events(3, "a"));
    await sleep(50);
    assert.equal(secondDone, false, "the second write resolved before its messages were answered");
    release();
    await second;
  } finally {
    await sink.close();
    await server.close();
  }
});

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
