/**
 * Accepted connections as pull streams, whatever their transport: a plain
 * `Deno.Conn` read with `conn.read()` (the fastest path here), or a
 * `node:tls` socket (the only server that can verify client certificates)
 * turned into pull reads. Shared by the tcp, syslog and RELP sources.
 *
 * @module
 */

import type * as nodeTls from "node:tls";
import type { TlsPeer } from "./tls.ts";
import type { SourceContext } from "./types.ts";

// The listener mechanics beside the streams: connection limits, and the TLS listener (which
// also holds verifiedPeer and listenTls, public from here before it existed).
export * from "./connection_table.ts";
export * from "./tls_listener.ts";

/** One connection, whatever its transport. */
export interface NetStream {
  /** The next bytes; `null` at the end of the stream. The chunk is valid until the next call. */
  read(): Promise<Uint8Array | null>;
  /** Writes all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes; `graceful` after the peer's end of stream (TLS then sends its close_notify). */
  close(graceful?: boolean): void;
  /** The peer's address (IPv4-mapped IPv6 addresses shown as IPv4). */
  readonly remoteIp: string;
  /** The verified client certificate, for TLS connections that presented one. */
  readonly peer: TlsPeer | undefined;
}

const _MIN_BUFFER = 16 * 1024;

/**
 * Shows an IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) as IPv4.
 *
 * @param address An address as the socket reports it.
 * @returns The address to log and store.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { peerAddress } from "./net_stream.ts";
 * assert.equal(peerAddress("::ffff:10.0.0.5"), "10.0.0.5");
 * assert.equal(peerAddress("::1"), "::1");
 * ```
 */
export function peerAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * A `Deno.Conn` read with `conn.read()` into a buffer that starts small and
 * grows (up to `maxBuffer`) while reads fill it, so idle connections cost
 * little and busy ones read in large chunks.
 *
 * @example
 * ```ts
 * import { DenoNetStream } from "./net_stream.ts";
 * const make = (conn: Deno.Conn) => new DenoNetStream(conn, 256 * 1024);
 * ```
 */
export class DenoNetStream implements NetStream {
  /** The peer's address. */
  readonly remoteIp: string;
  /** Plain TCP has no certificate. */
  readonly peer: TlsPeer | undefined = undefined;
  readonly #conn: Deno.Conn;
  readonly #max: number;
  #buffer: Uint8Array;

  /**
   * Wraps an accepted connection.
   *
   * @param conn The connection.
   * @param maxBuffer The largest read in bytes.
   */
  constructor(conn: Deno.Conn, maxBuffer: number) {
    this.#conn = conn;
    this.#max = maxBuffer;
    this.#buffer = new Uint8Array(Math.min(_MIN_BUFFER, maxBuffer));
    this.remoteIp = peerAddress((conn.remoteAddr as Deno.NetAddr).hostname ?? "");
  }

  /** Reads the next chunk. */
  async read(): Promise<Uint8Array | null> {
    const buffer = this.#buffer;
    const n = await this.#conn.read(buffer);
    if (n === null) return null;
    if (n === buffer.length && buffer.length < this.#max) {
      // The chunk still points into the old buffer, so the next read gets a new one.
      this.#buffer = new Uint8Array(Math.min(this.#max, buffer.length * 4));
    }
    return buffer.subarray(0, n);
  }

  /** Writes all the bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * A `node:tls` socket turned into pull reads: it is paused while a buffer's
 * worth of chunks waits, so a slow pipeline slows the sender.
 *
 * @example
 * ```ts
 * import type * as nodeTls from "node:tls";
 * import { NodeNetStream } from "./net_stream.ts";
 * const make = (socket: nodeTls.TLSSocket) => new NodeNetStream(socket, undefined, 256 * 1024);
 * ```
 */
export class NodeNetStream implements NetStream {
  /** The peer's address. */
  readonly remoteIp: string;
  /** The verified client certificate, if any. */
  readonly peer: TlsPeer | undefined;
  readonly #socket: nodeTls.TLSSocket;
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  /**
   * Wraps an accepted TLS socket.
   *
   * @param socket The socket, after its handshake.
   * @param peer Its verified client certificate, if any.
   * @param maxBuffer Bytes queued before the socket is paused.
   */
  constructor(socket: nodeTls.TLSSocket, peer: TlsPeer | undefined, maxBuffer: number) {
    this.#socket = socket;
    this.#max = maxBuffer;
    this.peer = peer;
    this.remoteIp = peerAddress(socket.remoteAddress ?? "");
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
      if (this.#bytes >= this.#max) socket.pause();
      this.#notify();
    });
    const end = () => {
      this.#ended = true;
      this.#notify();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", (err: Error) => {
      this.#error = err;
      this.#notify();
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Reads everything queued since the last read. */
  async read(): Promise<Uint8Array | null> {
    while (this.#chunks.length === 0) {
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    // Keep reading into the queue while this chunk is framed and emitted;
    // the queue pauses the socket again once it holds a buffer's worth.
    if (this.#socket.isPaused()) this.#socket.resume();
    if (chunks.length === 1) return chunks[0] as Uint8Array;
    let size = 0;
    for (const c of chunks) size += c.length;
    const joined = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      joined.set(c, at);
      at += c.length;
    }
    return joined;
  }

  /** Writes all the bytes. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#socket.destroyed) return reject(new Error("connection closed"));
      this.#socket.write(bytes, (err?: Error | null) => err ? reject(err) : resolve());
    });
  }

  /** Closes; `graceful` ends the TLS session properly, otherwise the socket is destroyed. */
  close(graceful = false): void {
    if (graceful) this.#socket.end();
    else this.#socket.destroy();
    this.#ended = true;
    this.#notify();
  }
}

/**
 * An error for a listener that could not bind, naming the component, the
 * source's name, the address and port: `tcpSource "json": cannot listen on
 * 127.0.0.1:5514 (tcp): Address already in use (os error 98)`. Deno's own
 * error classes are kept (`Deno.errors.AddrInUse`), with the original as
 * `cause`.
 *
 * @param who The component (`tcpSource`).
 * @param name The source's name in the pipeline, if any.
 * @param host The address it tried to bind.
 * @param port The port it tried to bind.
 * @param transport `tcp`, `udp` or `tls`.
 * @param err What the bind threw.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenError } from "./net_stream.ts";
 * const err = listenError("tcpSource", "json", "127.0.0.1", 5514, "tcp", new Deno.errors.AddrInUse("in use"));
 * assert.ok(err instanceof Deno.errors.AddrInUse);
 * assert.equal(err.message, 'tcpSource "json": cannot listen on 127.0.0.1:5514 (tcp): in use');
 * ```
 */
export function listenError(
  who: string,
  name: string | undefined,
  host: string,
  port: number,
  transport: "tcp" | "udp" | "tls",
  err: unknown,
): Error {
  const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const message = `${who}${name ? ` "${name}"` : ""}: cannot listen on ${where} (${transport}): ${
    err instanceof Error ? err.message : String(err)
  }`;
  const denoClass = err instanceof Error &&
    (Object.values(Deno.errors) as unknown[]).includes(err.constructor);
  const error = denoClass
    ? new (err.constructor as ErrorConstructor)(message, { cause: err })
    : new Error(message, { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== undefined) (error as Error & { code?: unknown }).code = code;
  return error;
}

/**
 * `Deno.listen` on TCP whose bind error names the component, the source
 * and the address (see {@linkcode listenError}).
 *
 * @param who The component (`tcpSource`).
 * @param name The source's name, if any.
 * @param host The address to bind.
 * @param port The port (0: any).
 * @returns The listener.
 *
 * @example
 * ```ts
 * import { listenTcp } from "./net_stream.ts";
 * const listener = listenTcp("tcpSource", "json", "127.0.0.1", 0);
 * listener.close();
 * ```
 */
export function listenTcp(
  who: string,
  name: string | undefined,
  host: string,
  port: number,
): Deno.TcpListener {
  try {
    return Deno.listen({ hostname: host, port, transport: "tcp" });
  } catch (err) {
    throw listenError(who, name, host, port, "tcp", err);
  }
}

/**
 * The remote `address:port` of a `node:net` or `node:tls` socket, also
 * when a TLS socket that failed its handshake no longer reports it itself
 * (its underlying socket still does).
 *
 * @param socket The socket.
 * @returns `10.0.0.5:41234` (`[::1]:41234` for IPv6), or `""` when unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { socketPeer } from "./net_stream.ts";
 * assert.equal(socketPeer({ remoteAddress: "::ffff:10.0.0.5", remotePort: 41234 }), "10.0.0.5:41234");
 * assert.equal(socketPeer({ _parent: { remoteAddress: "10.0.0.6", remotePort: 1 } }), "10.0.0.6:1");
 * assert.equal(socketPeer(undefined), "");
 * ```
 */
export function socketPeer(socket: unknown): string {
  type S = { remoteAddress?: string; remotePort?: number; _parent?: S };
  const s = socket as S | null | undefined;
  const address = s?.remoteAddress ?? s?._parent?.remoteAddress;
  if (!address) return "";
  const port = s?.remotePort ?? s?._parent?.remotePort;
  const ip = peerAddress(address);
  const shown = ip.includes(":") ? `[${ip}]` : ip;
  return port === undefined ? ip : `${shown}:${port}`;
}

/** What {@linkcode acceptConnections} reports through. */
export interface ListenerHooks {
  /** Whether the source is stopping (accept errors are then expected). */
  stopping(): boolean;
  /** Counts an error. */
  error(message: string, extra: Record<string, unknown>): void;
}

/**
 * The hooks of a listening source: accept errors count in its stats and go
 * to its log.
 *
 * @param ctx The source's context.
 * @param stopping Whether the source is stopping.
 * @returns The hooks for {@linkcode acceptConnections}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * import { ComponentStats } from "./stats.ts";
 * import type { SourceContext } from "./types.ts";
 * import { sourceListenerHooks } from "./net_stream.ts";
 * const stats = new ComponentStats("source", "tcp", "tcp");
 * const ctx = { stats, log: createLogger("silent") } as unknown as SourceContext;
 * const hooks = sourceListenerHooks(ctx, () => false);
 * hooks.error("accept failed", { error: "EMFILE" });
 * assert.equal(stats.errors, 1);
 * assert.equal(hooks.stopping(), false);
 * ```
 */
export function sourceListenerHooks(ctx: SourceContext, stopping: () => boolean): ListenerHooks {
  return {
    stopping,
    error: (message, extra) => {
      ctx.stats.errors++;
      ctx.log.error(message, extra);
    },
  };
}

/**
 * Accepts connections from a Deno listener until the source stops; a failed
 * accept (too many open files) is reported and retried after 100 ms.
 *
 * @param listener The listener.
 * @param hooks Stop flag and error reporting.
 * @param onConnection Receives each connection.
 * @returns When the listener is closed.
 *
 * @example
 * ```ts
 * import { acceptConnections } from "./net_stream.ts";
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * let stopping = false;
 * const loop = acceptConnections(l, { stopping: () => stopping, error: () => {} }, (c) => c.close());
 * stopping = true;
 * l.close();
 * await loop;
 * ```
 */
export async function acceptConnections<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  hooks: ListenerHooks,
  onConnection: (conn: C) => void,
): Promise<void> {
  while (!hooks.stopping()) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (hooks.stopping()) return;
      hooks.error("accept failed", { error: String(err) });
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    onConnection(conn);
  }
}
