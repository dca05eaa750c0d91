import assert from "node:assert/strict";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { collectSink, gatedSink } from "../fixtures/components.ts";
import { OFFERS, RawClient, sleep, start, waitFor } from "./_relp_client.ts";

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
