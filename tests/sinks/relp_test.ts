import assert from "node:assert/strict";
import { createLogger, definePipeline, Engine, generatorSource, type LogEvent } from "../../mod.ts";
import { syntheticAlert } from "../../sources/generator.ts";
import { relpSink } from "../../sinks/relp.ts";
import { relpSource } from "../../sources/relp.ts";
import { collectSink } from "../fixtures/components.ts";
import {
  answerAll,
  events,
  FakeServer,
  type FakeSession,
  fast,
  type Frame,
  sinkContext,
  sleep,
  waitFor,
} from "./_relp_fake.ts";

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
      // The generator's events have no priority: none is made up on the way.
      assert.equal(e.facility, undefined);
      assert.equal(e.severity, undefined);
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
