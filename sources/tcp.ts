/**
 * A TCP (and TLS, and mutual TLS) listener that frames each connection as
 * newline-delimited or RFC 6587 octet-counted messages.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { LINE_INVALID_UTF8, LINE_TRUNCATED } from "../core/framing.ts";
import { type FramedMessages, type Framing, StreamFramer } from "../core/octet_framing.ts";
import { checkTlsServerOptions, type TlsServerOptions } from "../core/tls.ts";
import type { Source, SourceContext } from "../core/types.ts";
import { positiveInt } from "../core/options.ts";
import {
  acceptConnections,
  DenoNetStream,
  listenTcp,
  type NetStream,
  sourceListenerHooks,
} from "../core/net_stream.ts";
import { startTlsListener, type TlsListener } from "../core/tls_listener.ts";
import {
  type ConnectionLimitOptions,
  type ConnectionSlot,
  ConnectionTable,
  resolveConnectionLimits,
} from "../core/connection_table.ts";

/** Options for {@linkcode tcpSource}; the connection limits are those of every listener. */
export interface TcpSourceOptions extends ConnectionLimitOptions {
  /** The port to listen on; `0` picks a free one (see {@linkcode TcpSource.addr}). */
  port: number;
  /** The address to listen on. @default {"0.0.0.0"} */
  host?: string;
  /**
   * How each connection is framed. `"auto"` decides per connection on its
   * first byte, like syslog-ng's `transport(auto)`: a digit 1–9 means RFC
   * 6587 octet counting (`LEN SP MSG`), anything else newline framing.
   * @default {"auto"}
   */
  framing?: Framing;
  /** Longest message in bytes; longer ones are cut, flagged `sluice_truncated` and counted. @default {65536} */
  maxMessageBytes?: number;
  /** Largest read per system call in bytes; a connection's buffer grows up to it when reads fill it. @default {262144} */
  readBufferBytes?: number;
  /** TLS: server certificate, key, and how client certificates are verified. Plain TCP when left out. */
  tls?: TlsServerOptions;
  /**
   * Sets `event.host` to the common name of the verified client
   * certificate, so one client cannot log in another's name. Needs `tls`
   * with `peerVerify` `"required"` (or `"optional"`, where clients without
   * a certificate keep whatever host a parser finds). @default {false}
   */
  hostFromCertificate?: boolean;
  /** A name for stats. */
  name?: string;
}

/** A {@linkcode Source} that listens on a TCP port. */
export interface TcpSource extends Source {
  /** The address listened on, once started (the real port when `port` was 0). */
  readonly addr: { hostname: string; port: number } | undefined;
  /** Connections open right now. */
  readonly connections: number;
}

interface _Connection {
  stream: NetStream;
  slot: ConnectionSlot;
  busy: boolean;
  timedOut: boolean;
}

/**
 * Listens on a TCP port and emits one event per message: `message` is the
 * message without its framing, `sourceIp` (`SOURCEIP`) the peer's address.
 * Each connection is framed on its own (`framing: "auto"` detects newline
 * or octet counting per connection). Every read becomes one batch, and a
 * connection is not read again until the pipeline accepted that batch, so a
 * slow pipeline slows the sender through TCP itself. TCP has no
 * application-level acknowledgement: what the sender wrote before a crash
 * of this process may be lost (use RELP for end-to-end acknowledgements).
 *
 * With `tls`, connections are TLS (on `node:tls`, which can ask for client
 * certificates). A verified client certificate is stored as
 * `event.fields.tls = { peer_cn, peer_subject, fingerprint }` (see
 * {@linkcode TlsPeer}); `hostFromCertificate` also sets `event.host` from it.
 *
 * Connections silent for `idleTimeoutMs` (5 minutes) are closed; when
 * `maxConnections` or `maxConnectionsPerAddress` is reached, the oldest
 * idle connection of the busiest address is closed to make room for the
 * new one (see {@linkcode ConnectionTable}), which is refused only when no
 * connection is idle. A TLS connection counts from its first byte, so
 * clients that never finish a handshake cannot lock others out either.
 *
 * Counters: `connections` (gauge), `accepted_connections`,
 * `rejected_connections`, `evicted_connections`, `idle_timeouts`,
 * `tls_rejected`, `framing_errors`, `connection_errors`, `truncated`,
 * `invalid_utf8`. Cut and invalid messages carry `sluice_truncated` /
 * `sluice_invalid_utf8` fields.
 *
 * @param options Port, framing, limits and TLS.
 * @returns The source; `addr` tells the port once started.
 *
 * @example Receive JSON lines on port 5514
 * ```ts
 * import { tcpSource } from "./tcp.ts";
 * const source = tcpSource({ port: 5514, maxConnections: 100, idleTimeoutMs: 600_000 });
 * ```
 *
 * @example Mutual TLS, the host taken from the client certificate
 * ```ts
 * import { tcpSource } from "./tcp.ts";
 * const source = tcpSource({
 *   port: 6514,
 *   tls: { certFile: "server.crt", keyFile: "server.key", caFile: "ca.crt", peerVerify: "required" },
 *   hostFromCertificate: true,
 * });
 * ```
 */
export function tcpSource(options: TcpSourceOptions): TcpSource {
  const who = "tcpSource";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${who}: options must be an object, got ${options}`);
  }
  const port = options.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${who}: "port" must be an integer 0–65535, got ${port}`);
  }
  const host = options.host ?? "0.0.0.0";
  const framing = options.framing ?? "auto";
  const maxMessageBytes = positiveInt(who, "maxMessageBytes", options.maxMessageBytes ?? 65536);
  const limits = resolveConnectionLimits(who, options);
  const idleTimeoutMs = limits.idleTimeoutMs;
  const readBufferBytes = positiveInt(
    who,
    "readBufferBytes",
    options.readBufferBytes ?? 262144,
    1024,
  );
  // Constructing a framer checks the framing option.
  new StreamFramer({ framing, maxMessageBytes });
  const tls = options.tls;
  if (tls !== undefined) checkTlsServerOptions(who, tls);
  const hostFromCertificate = options.hostFromCertificate ?? false;
  if (hostFromCertificate && (tls === undefined || (tls.peerVerify ?? "required") === "none")) {
    throw new TypeError(
      `${who}: "hostFromCertificate" needs "tls" with peerVerify "required" or "optional"`,
    );
  }

  let addr: { hostname: string; port: number } | undefined;
  let stopping = false;
  let listener: Deno.Listener | undefined;
  let server: TlsListener | undefined;
  const open = new Set<_Connection>();
  const loops = new Set<Promise<void>>();
  let acceptLoop: Promise<void> | undefined;
  let table: ConnectionTable | undefined;
  let warned = 0;

  const warn = (ctx: SourceContext, message: string, extra: Record<string, unknown>) => {
    // The first of every thousand problems is logged: a flood of bad clients must not flood the log.
    if (warned++ % 1000 === 0) ctx.log.warn(message, extra);
  };

  const emitFramed = async (
    ctx: SourceContext,
    framed: FramedMessages,
    stream: NetStream,
  ): Promise<void> => {
    const messages = framed.messages;
    const n = messages.length;
    if (n === 0) return;
    const now = Date.now();
    const name = ctx.name;
    const ip = stream.remoteIp;
    const peer = stream.peer;
    const batch: LogEvent[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const event: LogEvent = {
        message: messages[i] as string,
        fields: peer ? { tls: { ...peer } } : {},
        receivedAt: now,
        sourceIp: ip,
        // Set here so the engine does not add the property to every event (one object shape).
        source: name,
      };
      if (peer && hostFromCertificate) event.host = peer.peer_cn;
      batch[i] = event;
    }
    const flags = framed.flags;
    if (flags) {
      for (let i = 0; i < n; i++) {
        const flag = flags[i] ?? 0;
        if (!flag) continue;
        const fields = (batch[i] as LogEvent).fields;
        if (flag & LINE_TRUNCATED) {
          fields["sluice_truncated"] = true;
          ctx.stats.add("truncated");
        }
        if (flag & LINE_INVALID_UTF8) {
          fields["sluice_invalid_utf8"] = true;
          ctx.stats.add("invalid_utf8");
        }
      }
    }
    ctx.stats.received += n;
    await ctx.emit(batch);
  };

  const serve = async (ctx: SourceContext, conn: _Connection): Promise<void> => {
    const stream = conn.stream;
    const slot = conn.slot;
    open.add(conn);
    ctx.stats.set("connections", open.size);
    ctx.stats.add("accepted_connections");
    const framer = new StreamFramer({ framing, maxMessageBytes });
    let graceful = false;
    try {
      while (!stopping) {
        const chunk = await stream.read();
        if (chunk === null) {
          await emitFramed(ctx, _flushed(ctx, framer, stream, warn), stream);
          graceful = true;
          break;
        }
        slot.last = Date.now();
        const framed = framer.push(chunk);
        conn.busy = true;
        await emitFramed(ctx, framed, stream);
        conn.busy = false;
        slot.last = Date.now();
        if (framed.error) {
          ctx.stats.errors++;
          ctx.stats.add("framing_errors");
          warn(ctx, "closing a connection that broke its framing", {
            peer: stream.remoteIp,
            error: framed.error,
          });
          break;
        }
      }
    } catch (err) {
      if (conn.timedOut && !stopping) {
        await emitFramed(ctx, _flushed(ctx, framer, stream, warn), stream).catch(() => {});
      } else if (!stopping) {
        ctx.stats.add("connection_errors");
        ctx.log.debug("connection failed", { peer: stream.remoteIp, error: String(err) });
      }
    } finally {
      stream.close(graceful && !stopping);
      table?.release(slot);
      open.delete(conn);
      ctx.stats.set("connections", open.size);
    }
  };

  /** Serves a connection in `slot` (admitted now when not given); closes it when refused. */
  const track = (ctx: SourceContext, stream: NetStream, given?: ConnectionSlot) => {
    const conn = { stream, busy: false, timedOut: false } as _Connection;
    const close = () => {
      conn.timedOut = true;
      stream.close();
    };
    const idle = () => !conn.busy;
    let slot = given;
    if (slot !== undefined) {
      slot.close = close;
      slot.idle = idle;
      slot.last = Date.now();
    } else if (!stopping && table !== undefined) {
      slot = table.admit(stream.remoteIp, idle, close) ?? undefined;
    }
    if (stopping || slot === undefined) {
      stream.close();
      return;
    }
    conn.slot = slot;
    const loop = serve(ctx, conn);
    loops.add(loop);
    loop.finally(() => loops.delete(loop));
  };

  const source: TcpSource = {
    kind: "tcp",
    ...(options.name ? { name: options.name } : {}),
    get addr() {
      return addr;
    },
    get connections() {
      return open.size;
    },
    async start(ctx) {
      stopping = false;
      table = new ConnectionTable(`${who} "${ctx.name}"`, limits, ctx);
      if (tls) {
        server = await startTlsListener({
          who,
          ctx,
          tls,
          host,
          port,
          table,
          idleTimeoutMs,
          readBufferBytes,
          stopping: () => stopping,
          warn: (message, extra) => warn(ctx, message, extra),
          onStream: (stream, slot) => track(ctx, stream, slot),
        });
        addr = server.addr;
      } else {
        const l = listenTcp(who, ctx.name, host, port);
        listener = l;
        const a = l.addr as Deno.NetAddr;
        addr = { hostname: a.hostname, port: a.port };
        acceptLoop = acceptConnections(
          l,
          sourceListenerHooks(ctx, () => stopping),
          (conn) => track(ctx, new DenoNetStream(conn, readBufferBytes)),
        );
      }
      table.start();
    },
    async stop() {
      stopping = true;
      table?.stop();
      try {
        listener?.close();
      } catch {
        // already closed
      }
      listener = undefined;
      await acceptLoop;
      const srv = server;
      server = undefined;
      const closed = srv?.close();
      srv?.destroySockets();
      for (const conn of open) conn.stream.close();
      await Promise.all(loops);
      await closed;
    },
  };
  return source;
}

function _flushed(
  ctx: SourceContext,
  framer: StreamFramer,
  stream: NetStream,
  warn: (ctx: SourceContext, message: string, extra: Record<string, unknown>) => void,
): FramedMessages {
  const framed = framer.flush();
  if (framed.error) {
    ctx.stats.errors++;
    ctx.stats.add("framing_errors");
    warn(ctx, "a connection ended inside a frame", {
      peer: stream.remoteIp,
      error: framed.error,
    });
  }
  return framed;
}
