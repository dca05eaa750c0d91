/**
 * A UDP listener: one event per datagram, dropped and counted when the
 * pipeline cannot keep up (UDP has no back-pressure).
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Source, SourceContext } from "../core/types.ts";
import { listenError } from "../core/net_stream.ts";

/** Options for {@linkcode udpSource}. */
export interface UdpSourceOptions {
  /** The port to listen on; `0` picks a free one (see {@linkcode UdpSource.addr}). */
  port: number;
  /** The IPv4 address to listen on. @default {"0.0.0.0"} */
  host?: string;
  /** Longest message in bytes; longer datagrams are cut, flagged `sluice_truncated` and counted. @default {65536} */
  maxMessageBytes?: number;
  /**
   * Datagrams held while the pipeline is busy. When it is full, further
   * datagrams are dropped and counted in `dropped`. @default {10000}
   */
  queueSize?: number;
  /** Most events per emitted batch. @default {1000} */
  batchSize?: number;
  /**
   * The socket's kernel receive buffer (SO_RCVBUF) in bytes, capped by the
   * system's `net.core.rmem_max`; the system default when left out. Only
   * applied on the `node:dgram` path (see {@linkcode udpSource}).
   */
  receiveBufferBytes?: number;
  /** A name for stats. */
  name?: string;
}

/** A {@linkcode Source} that listens on a UDP port. */
export interface UdpSource extends Source {
  /** The address listened on, once started (the real port when `port` was 0). */
  readonly addr: { hostname: string; port: number } | undefined;
}

const _utf8 = new TextDecoder("utf-8");
const _utf8Fatal = new TextDecoder("utf-8", { fatal: true });

type _Listen = (
  host: string,
  port: number,
  receiveBufferBytes: number | undefined,
  onDatagram: (bytes: Uint8Array, ip: string) => void,
) => Promise<_Socket>;

interface _Socket {
  addr: { hostname: string; port: number };
  close(): Promise<void>;
}

type _DatagramConn = {
  readonly addr: Deno.Addr;
  receive(p?: Uint8Array): Promise<[Uint8Array, Deno.Addr]>;
  close(): void;
};

type _ListenDatagram = (options: {
  transport: "udp";
  hostname: string;
  port: number;
}) => _DatagramConn;

/** `Deno.listenDatagram` when the runtime offers it (`--unstable-net`). */
function _denoListenDatagram(): _ListenDatagram | undefined {
  const fn = (Deno as unknown as { listenDatagram?: _ListenDatagram }).listenDatagram;
  return typeof fn === "function" ? fn : undefined;
}

const _listenDeno: _Listen = (host, port, _rcvbuf, onDatagram) => {
  const listen = _denoListenDatagram() as _ListenDatagram;
  const conn = listen({ transport: "udp", hostname: host, port });
  const a = conn.addr as Deno.NetAddr;
  let closing = false;
  const loop = (async () => {
    const buffer = new Uint8Array(65536);
    while (!closing) {
      let data: Uint8Array;
      let from: Deno.Addr;
      try {
        [data, from] = await conn.receive(buffer);
      } catch {
        if (closing) return;
        continue;
      }
      onDatagram(data, (from as Deno.NetAddr).hostname ?? "");
    }
  })();
  return Promise.resolve({
    addr: { hostname: a.hostname, port: a.port },
    async close() {
      closing = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
      await loop;
    },
  });
};

const _listenNode: _Listen = async (host, port, rcvbuf, onDatagram) => {
  // Loaded when a UDP source starts: node:dgram costs a few MB of resident memory.
  const dgram = (await import("node:dgram")).default;
  const socket = dgram.createSocket({
    type: host.includes(":") ? "udp6" : "udp4",
    ...(rcvbuf !== undefined ? { recvBufferSize: rcvbuf } : {}),
  });
  socket.on("message", (msg: Uint8Array, rinfo: { address: string }) => {
    onDatagram(msg, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const a = socket.address();
  return {
    addr: { hostname: a.address, port: a.port },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
};

function _int(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `udpSource: "${name}" must be an integer of at least ${min}, got ${value}`,
    );
  }
  return value;
}

/**
 * Listens on a UDP port and emits one event per datagram: `message` is the
 * datagram as text (one trailing `\n` or `\r\n` and trailing NULs removed),
 * `sourceIp` (`SOURCEIP`) the sender.
 *
 * UDP cannot slow a sender down. Datagrams wait in a bounded queue while
 * the pipeline is busy; when it is full they are dropped and counted in the
 * source's `dropped` (and in the `queue_full` counter). Datagrams the kernel
 * drops before they are read (its receive buffer full) cannot be counted
 * here; a larger `receiveBufferBytes` makes them rarer.
 *
 * The socket is `Deno.listenDatagram` when the runtime offers it (with
 * `--unstable-net`, or `"unstable": ["net"]` in deno.json), which reads
 * about five times as many datagrams per second as the `node:dgram`
 * fallback used otherwise.
 *
 * @param options Port, limits and queue size.
 * @returns The source; `addr` tells the port once started.
 *
 * @example Receive syslog datagrams on port 5514
 * ```ts
 * import { udpSource } from "./udp.ts";
 * const source = udpSource({ port: 5514, queueSize: 50_000 });
 * ```
 */
export function udpSource(options: UdpSourceOptions): UdpSource {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`udpSource: options must be an object, got ${options}`);
  }
  const port = options.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`udpSource: "port" must be an integer 0–65535, got ${port}`);
  }
  const host = options.host ?? "0.0.0.0";
  const maxMessageBytes = _int("maxMessageBytes", options.maxMessageBytes ?? 65536, 1);
  const queueSize = _int("queueSize", options.queueSize ?? 10_000, 1);
  const batchSize = _int("batchSize", options.batchSize ?? 1000, 1);
  const rcvbuf = options.receiveBufferBytes === undefined
    ? undefined
    : _int("receiveBufferBytes", options.receiveBufferBytes, 1024);
  let socket: _Socket | undefined;
  let addr: { hostname: string; port: number } | undefined;
  let queue: LogEvent[] = [];
  let pump: Promise<void> | undefined;

  const drain = async (ctx: SourceContext) => {
    while (queue.length > 0) {
      let batch: LogEvent[];
      if (queue.length <= batchSize) {
        batch = queue;
        queue = [];
      } else {
        batch = queue.slice(0, batchSize);
        queue = queue.slice(batchSize);
      }
      try {
        await ctx.emit(batch);
      } catch (err) {
        ctx.stats.errors++;
        ctx.log.error("emit failed", { error: String(err) });
      }
    }
    pump = undefined;
  };

  const receive = (ctx: SourceContext, bytes: Uint8Array, ip: string) => {
    ctx.stats.received++;
    if (queue.length >= queueSize) {
      ctx.stats.dropped++;
      ctx.stats.add("queue_full");
      return;
    }
    let flag = 0;
    let end = bytes.length;
    if (end > maxMessageBytes) {
      end = maxMessageBytes;
      flag = 1;
    }
    while (end > 0 && bytes[end - 1] === 0) end--;
    if (end > 0 && bytes[end - 1] === 10) end--;
    if (end > 0 && bytes[end - 1] === 13) end--;
    const body = bytes.subarray(0, end);
    let message: string;
    try {
      message = _utf8Fatal.decode(body);
    } catch {
      message = _utf8.decode(body);
      flag |= 2;
    }
    const event: LogEvent = { message, fields: {}, receivedAt: Date.now(), sourceIp: ip };
    if (flag & 1) {
      event.fields["sluice_truncated"] = true;
      ctx.stats.add("truncated");
    }
    if (flag & 2) {
      event.fields["sluice_invalid_utf8"] = true;
      ctx.stats.add("invalid_utf8");
    }
    queue.push(event);
    pump ??= drain(ctx);
  };

  return {
    kind: "udp",
    ...(options.name ? { name: options.name } : {}),
    get addr() {
      return addr;
    },
    async start(ctx) {
      const listen = _denoListenDatagram() ? _listenDeno : _listenNode;
      try {
        socket = await listen(host, port, rcvbuf, (bytes, ip) => receive(ctx, bytes, ip));
      } catch (err) {
        throw listenError("udpSource", ctx.name, host, port, "udp", err);
      }
      addr = socket.addr;
    },
    async stop() {
      const s = socket;
      socket = undefined;
      await s?.close();
      await pump;
    },
  };
}
