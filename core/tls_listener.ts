/**
 * The TLS side of the tcp, syslog and RELP listeners, once: a `node:tls`
 * server (the only one here that can ask for and verify client
 * certificates) whose sockets are admitted to the listener's
 * {@linkcode ConnectionTable} at their first byte, so clients that never
 * finish a handshake cannot lock others out, and whose refusals name the
 * peer's address and port.
 *
 * @module
 */

import type * as nodeTls from "node:tls";
import type { Socket } from "node:net";
import {
  loadTlsServer,
  type PeerVerify,
  type TlsPeer,
  tlsPeer,
  type TlsServerOptions,
} from "./tls.ts";
import type { SourceContext } from "./types.ts";
import type { ConnectionSlot, ConnectionTable } from "./connection_table.ts";
import { listenError, NodeNetStream, peerAddress, socketPeer } from "./net_stream.ts";

/** Options for {@linkcode startTlsListener}. */
export interface TlsListenerOptions {
  /** The component, for messages (`tcpSource`). */
  who: string;
  /** The source's context: stats, log, name. */
  ctx: SourceContext;
  /** Certificate, key, CA and how client certificates are verified. */
  tls: TlsServerOptions;
  /** The address to bind. */
  host: string;
  /** The port (0: any). */
  port: number;
  /** The listener's connections; a TLS socket is admitted before its handshake. */
  table: ConnectionTable;
  /** The table's idle timeout: handshakes idle that long are closed by the table. */
  idleTimeoutMs: number;
  /** Bytes a connection queues before its socket is paused. */
  readBufferBytes: number;
  /** Sends small writes at once (RELP's answers). @default {false} */
  noDelay?: boolean;
  /** Whether the source is stopping. */
  stopping(): boolean;
  /** Logs a warning (the source's rate-limited one). */
  warn(message: string, extra: Record<string, unknown>): void;
  /** Receives a connection after its handshake, with the slot it was admitted in. */
  onStream(stream: NodeNetStream, slot: ConnectionSlot | undefined): void;
}

/** A started {@linkcode startTlsListener}. */
export interface TlsListener {
  /** The bound address. */
  readonly addr: { hostname: string; port: number } | undefined;
  /** Stops accepting; resolves once the server closed (after its connections ended). */
  close(): Promise<void>;
  /** Destroys every socket still open: those in their handshake, and any a source left. */
  destroySockets(): void;
}

/**
 * Starts a `node:tls` listener for a source: loads the certificate material,
 * admits every socket to `table` at its first byte (refused when the table
 * says so), verifies client certificates, hands each connection on with its
 * slot, and counts `tls_rejected` (and `idle_timeouts` for handshakes that
 * timed out), logging refusals with the peer's `address:port`.
 *
 * @param options What to listen on and where connections go.
 * @returns The listener.
 *
 * @example
 * ```ts
 * import { startTlsListener, type TlsListenerOptions } from "./tls_listener.ts";
 * const start = (options: TlsListenerOptions) => startTlsListener(options);
 * ```
 */
export async function startTlsListener(options: TlsListenerOptions): Promise<TlsListener> {
  const { who, ctx, table, stopping, warn } = options;
  const loaded = await loadTlsServer(who, options.tls);
  const verify = loaded.peerVerify;
  // Loaded only here: plain TCP listeners do without the Node compatibility layer's TLS.
  const { createServer } = await import("node:tls");
  const idle = options.idleTimeoutMs;
  const srv = createServer({
    cert: loaded.cert,
    key: loaded.key,
    ...(loaded.ca !== undefined ? { ca: [loaded.ca] } : {}),
    requestCert: verify !== "none",
    rejectUnauthorized: verify === "required",
    // The connection table closes handshakes idle past idleTimeoutMs first.
    handshakeTimeout: idle > 0 && idle < 60_000 ? idle + 1000 : 60_000,
  });
  const pending = new Set<Socket>();
  // Sockets are admitted at their first byte; the handshake's end finds them by address:port.
  const handshaking = new Map<string, ConnectionSlot>();
  // Handshakes the table closed (idle, or to make room): their handshake errors are no news.
  const closedByTable = new WeakSet<object>();
  srv.on("connection", (socket: Socket) => {
    if (stopping()) {
      socket.destroy();
      return;
    }
    const key = socketPeer(socket);
    const slot = table.admit(peerAddress(socket.remoteAddress ?? ""), () => true, () => {
      closedByTable.add(socket);
      socket.destroy();
    });
    if (slot === null) {
      socket.destroy();
      return;
    }
    pending.add(socket);
    handshaking.set(key, slot);
    socket.on("close", () => {
      pending.delete(socket);
      if (handshaking.get(key) === slot) handshaking.delete(key);
      table.release(slot);
    });
  });
  srv.on("secureConnection", (socket: nodeTls.TLSSocket) => {
    const key = socketPeer(socket);
    const slot = handshaking.get(key);
    handshaking.delete(key);
    const peer = verifiedPeer(socket, verify, (message, extra) => {
      ctx.stats.errors++;
      ctx.stats.add("tls_rejected");
      warn(message, extra);
    });
    if (peer === null) return;
    if (options.noDelay) socket.setNoDelay(true);
    options.onStream(new NodeNetStream(socket, peer, options.readBufferBytes), slot);
  });
  srv.on("tlsClientError", (err: Error & { code?: string }, socket: nodeTls.TLSSocket) => {
    const peer = socketPeer(socket);
    // After a handshake timeout the socket is not always closed for us.
    socket?.destroy();
    const parent = (socket as { _parent?: object } | undefined)?._parent;
    if (stopping() || closedByTable.has(socket) || (parent && closedByTable.has(parent))) return;
    if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT" || /handshake timeout/i.test(err.message)) {
      ctx.stats.add("idle_timeouts");
      return;
    }
    ctx.stats.errors++;
    ctx.stats.add("tls_rejected");
    warn("TLS handshake failed", { peer, error: err.message });
  });
  srv.on("error", (err: Error) => {
    if (!stopping()) ctx.log.error(`${who}: TLS server failed`, { error: err.message });
  });
  const addr = await listenTls(srv, options.port, options.host, { component: who, name: ctx.name });
  return {
    addr,
    close: () => new Promise<void>((resolve) => srv.close(() => resolve())),
    destroySockets() {
      for (const socket of pending) socket.destroy();
    },
  };
}

/**
 * The verified client certificate of a `node:tls` connection: `undefined`
 * when none is asked for or none was presented, `null` (and the socket
 * destroyed, the refusal reported) when one was presented that does not
 * verify.
 *
 * @param socket The connection after its handshake.
 * @param verify The listener's `peerVerify`.
 * @param refuse Reports a refused certificate.
 * @returns The peer, nothing, or `null` for a refused connection.
 *
 * @example
 * ```ts
 * import type * as nodeTls from "node:tls";
 * import { verifiedPeer } from "./tls_listener.ts";
 * const onSecure = (socket: nodeTls.TLSSocket) =>
 *   verifiedPeer(socket, "optional", (message, extra) => console.warn(message, extra));
 * ```
 */
export function verifiedPeer(
  socket: nodeTls.TLSSocket,
  verify: PeerVerify,
  refuse: (message: string, extra: Record<string, unknown>) => void,
): TlsPeer | undefined | null {
  if (verify === "none") return undefined;
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && typeof cert === "object" && Object.keys(cert).length > 0;
  if (!presented) return undefined;
  if (!socket.authorized) {
    refuse("refusing a client certificate", {
      peer: socketPeer(socket),
      error: String(socket.authorizationError),
    });
    socket.destroy();
    return null;
  }
  return tlsPeer(cert);
}

/**
 * Starts a `node:tls` server listening and returns the address it got.
 *
 * @param server The server.
 * @param port The port (0: any).
 * @param host The address to bind.
 * @param who The component and source name, for a bind error (see {@linkcode listenError}).
 * @returns The bound address.
 *
 * @example
 * ```ts
 * import { createServer } from "node:tls";
 * import { listenTls } from "./tls_listener.ts";
 * const listen = (cert: string, key: string) => listenTls(createServer({ cert, key }), 0, "127.0.0.1");
 * ```
 */
export async function listenTls(
  server: nodeTls.Server,
  port: number,
  host: string,
  who?: { component: string; name?: string | undefined },
): Promise<{ hostname: string; port: number } | undefined> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    if (who === undefined) throw err;
    throw listenError(who.component, who.name, host, port, "tls", err);
  }
  const a = server.address();
  return a && typeof a === "object"
    ? { hostname: peerAddress(a.address), port: a.port }
    : undefined;
}
