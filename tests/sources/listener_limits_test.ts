// Issue 20 item 4: idle connections must not lock real senders out of a listener.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { createLogger, definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { type RelpFrame, RelpFrameParser } from "../../core/relp_frame.ts";
import { ComponentStats } from "../../core/stats.ts";
import { memoryState } from "../../core/state.ts";
import type { SourceContext } from "../../core/types.ts";
import { tcpSource } from "../../sources/tcp.ts";
import { relpSource, type RelpSourceOptions } from "../../sources/relp.ts";
import { waitFor } from "../_peers.ts";
import { collectSink } from "../fixtures/components.ts";

const OFFERS = "relp_version=0\nrelp_software=test\ncommands=syslog";

/** Opens `n` connections from `localAddress` (another loopback address), each within 10 s. */
async function flood(port: number, localAddress: string, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    // The listener closes some of them: that is the point.
    socket.on("error", () => {});
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`connection ${i} from ${localAddress} hung`)),
        10_000,
      );
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return sockets;
}

function destroyAll(sockets: Socket[]): void {
  for (const s of sockets) s.destroy();
}

/** A sender from `localAddress` that writes `text` and ends. */
function sendFrom(port: number, localAddress: string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the sender from ${localAddress} hung`));
    }, 10_000);
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("connect", () => socket.end(text));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function collector(): {
  ctx: SourceContext;
  events: LogEvent[];
  stats: ComponentStats;
  lines: string[];
} {
  const events: LogEvent[] = [];
  const lines: string[] = [];
  const stats = new ComponentStats("source", "json", "tcp");
  const ctx: SourceContext = {
    name: "json",
    stats,
    state: memoryState(),
    log: createLogger("warn", (line) => lines.push(line)),
    signal: new AbortController().signal,
    emit(batch) {
      events.push(...batch);
      return Promise.resolve();
    },
  };
  return { ctx, events, stats, lines };
}

Deno.test("tcpSource() with its defaults lets a VM in after 1,100 idle connections from one address", async () => {
  const source = tcpSource({ port: 0, host: "127.0.0.1" });
  const c = collector();
  await source.start(c.ctx);
  const port = source.addr?.port as number;
  let idle: Socket[] = [];
  try {
    idle = await flood(port, "127.0.0.1", 1100);
    await waitFor("the flood to be capped", () => source.connections <= 100, 10_000);
    await sendFrom(port, "127.0.0.2", '{"host":"vm-1","msg":"through"}\n');
    await waitFor("the VM's event", () => c.events.length === 1, 10_000);
    assert.equal(c.events[0]?.sourceIp, "127.0.0.2");
    assert.ok((c.stats.counters.evicted_connections ?? 0) >= 1000);
    assert.equal(c.stats.counters.rejected_connections, undefined);
  } finally {
    destroyAll(idle);
    await source.stop();
  }
  // What was closed is logged (at most every 10 s), naming the address that lost most.
  const report = c.lines.find((l) => l.includes("closed connections to keep room"));
  assert.ok(report, c.lines.join("\n"));
  assert.match(report, /most_from=127\.0\.0\.1 /);
});

Deno.test("tcpSource() when full closes the oldest idle connection of the busiest address", async () => {
  const source = tcpSource({
    port: 0,
    host: "127.0.0.1",
    maxConnections: 30,
    maxConnectionsPerAddress: 20,
  });
  const c = collector();
  await source.start(c.ctx);
  const port = source.addr?.port as number;
  let idle: Socket[] = [];
  try {
    idle = [
      ...await flood(port, "127.0.0.3", 20),
      ...await flood(port, "127.0.0.4", 5),
      ...await flood(port, "127.0.0.5", 20),
    ];
    await waitFor("30 connections", () => source.connections === 30, 10_000);
    const from4 = idle.slice(20, 25);
    await sendFrom(port, "127.0.0.9", "from the VM\n");
    await waitFor("the VM's event", () => c.events.length === 1, 10_000);
    assert.equal(c.events[0]?.sourceIp, "127.0.0.9");
    // The quiet address with few connections kept all of them.
    assert.ok(from4.every((s) => !s.destroyed && s.readyState === "open"));
    assert.ok((c.stats.counters.evicted_connections ?? 0) >= 15);
    assert.equal(c.stats.counters.rejected_connections, undefined);
  } finally {
    destroyAll(idle);
    await source.stop();
  }
});

/** A RELP client on node:net from a chosen loopback address. */
class RelpFrom {
  readonly frames: Array<{ txnr: number; command: string; data: string }> = [];
  closed = false;
  readonly #socket: Socket;
  readonly #parser = new RelpFrameParser();

  constructor(port: number, localAddress: string) {
    this.#socket = connect({ host: "127.0.0.1", port, localAddress });
    this.#socket.on("error", () => {});
    this.#socket.on("data", (chunk: Uint8Array) => {
      for (const f of this.#parser.push(chunk) as RelpFrame[]) {
        this.frames.push({
          txnr: f.txnr,
          command: f.command,
          data: new TextDecoder().decode(f.data),
        });
      }
    });
    this.#socket.on("close", () => (this.closed = true));
  }

  frame(txnr: number, command: string, data?: string): void {
    this.#socket.write(encodeRelpFrame(txnr, command, data));
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

async function relpEngine(options: Partial<RelpSourceOptions>) {
  const sink = collectSink();
  const source = relpSource({ port: 0, host: "127.0.0.1", name: "relp", ...options });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: createLogger("silent"),
  });
  await engine.start();
  return { sink, source, engine, port: source.addr?.port as number };
}

Deno.test("relpSource() gives a new session its rsp 200 after a flood of idle connections", async () => {
  const { sink, source, engine, port } = await relpEngine({ maxConnections: 100 });
  let idle: Socket[] = [];
  const vm = { client: undefined as RelpFrom | undefined };
  try {
    idle = [
      ...await flood(port, "127.0.0.2", 150),
      ...await flood(port, "127.0.0.3", 150),
    ];
    await waitFor("the flood to be capped", () => source.connections <= 100, 10_000);
    const client = vm.client = new RelpFrom(port, "127.0.0.9");
    client.frame(1, "open", OFFERS);
    client.frame(2, "syslog", "<13>1 - vm-1 app - - - over the flood");
    await waitFor("rsp 200 for the message", () => client.frames.some((f) => f.txnr === 2), 10_000);
    assert.deepEqual(client.frames.find((f) => f.txnr === 2), {
      txnr: 2,
      command: "rsp",
      data: "200 OK",
    });
    assert.equal(sink.events.length, 1);
    assert.equal(sink.events[0]?.sourceIp, "127.0.0.9");
    const counters = engine.stats.get("relp")?.counters ?? {};
    assert.ok((counters.evicted_connections ?? 0) >= 200);
    assert.equal(counters.rejected_connections, undefined);
  } finally {
    vm.client?.destroy();
    destroyAll(idle);
    await engine.stop();
  }
});

Deno.test("relpSource() closes a session idle past idleTimeoutMs with serverclose", async () => {
  const { engine, port } = await relpEngine({ idleTimeoutMs: 200 });
  const client = new RelpFrom(port, "127.0.0.1");
  try {
    client.frame(1, "open", OFFERS);
    await waitFor("the open answer", () => client.frames.length >= 1, 10_000);
    await waitFor("the server to close the idle session", () => client.closed, 10_000);
    assert.equal(client.frames.at(-1)?.command, "serverclose");
    assert.equal(engine.stats.get("relp")?.counters.idle_timeouts, 1);
  } finally {
    client.destroy();
    await engine.stop();
  }
});
