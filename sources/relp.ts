/**
 * A RELP server (the Reliable Event Logging Protocol of rsyslog's imrelp /
 * omrelp): every message is answered `rsp 200 OK` only once every sink it
 * reached has written it, so a sender never forgets a message this side has
 * not stored.
 *
 * @module
 */

import { type RelpFrame, RelpFrameError } from "../core/relp_frame.ts";
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
import { RelpServerSession } from "./_relp_server_session.ts";
import { readRelpFrames } from "./_relp_frames.ts";
import {
  type ConnectionLimitOptions,
  type ConnectionSlot,
  ConnectionTable,
  resolveConnectionLimits,
} from "../core/connection_table.ts";

/**
 * Options for {@linkcode relpSource}; the connection limits (`maxConnections`,
 * `maxConnectionsPerAddress`, `idleTimeoutMs`: a session with nothing
 * unanswered that sent nothing for 5 minutes is closed with `serverclose`)
 * are those of every listener.
 */
export interface RelpSourceOptions extends ConnectionLimitOptions {
  /** The port to listen on; `0` picks a free one (see {@linkcode RelpSource.addr}). */
  port: number;
  /** The address to listen on. @default {"0.0.0.0"} */
  host?: string;
  /**
   * Most messages of one connection that may wait for their acknowledgement;
   * while that many wait, the connection is not read (the sender's own
   * window, 128 in librelp, normally stops it first). The pipeline's queues
   * hold the source back before that; the window only bounds a connection
   * whose messages wait on a slow sink. @default {4096}
   */
  window?: number;
  /** Largest DATA of one frame in bytes; a larger frame closes the connection. @default {131072} */
  maxDataBytes?: number;
  /**
   * Restores events sent by a sluice RELP sink: a message wrapped as RFC
   * 5424 with the `[sluice@32473 id="…"]` element gets its id, host,
   * program, pid, facility, severity and timestamp back and its original
   * message (see `unwrapRelpEnvelope` in core/relp_frame.ts). Other
   * messages are never touched. @default {true}
   */
  unwrap?: boolean;
  /**
   * How long a closing connection (at `stop()`, after `close` or a protocol
   * error) waits for the acknowledgements of messages already received,
   * in ms. Unanswered messages are sent again by the client. @default {5000}
   */
  drainTimeoutMs?: number;
  /** TLS: server certificate, key, and how client certificates are verified. Plain TCP when left out. */
  tls?: TlsServerOptions;
  /**
   * Sets `event.host` to the common name of the verified client
   * certificate (after unwrapping, so a client cannot claim another host).
   * Needs `tls` with peerVerify `"required"` or `"optional"`. @default {false}
   */
  hostFromCertificate?: boolean;
  /** A name for stats. */
  name?: string;
}

/** A {@linkcode Source} that serves RELP. */
export interface RelpSource extends Source {
  /** The address listened on, once started (the real port when `port` was 0). */
  readonly addr: { hostname: string; port: number } | undefined;
  /** Connections open right now. */
  readonly connections: number;
}

const _READ_BUFFER = 512 * 1024;

const _SERVERCLOSE = new TextEncoder().encode("0 serverclose 0\n");

/**
 * Serves RELP, as rsyslog's `imrelp` does: clients (rsyslog's `omrelp`,
 * sluice's {@linkcode relpSink}) open a session, send `syslog` commands and
 * get `rsp 200 OK` for each — here only once the pipeline acknowledged the
 * message, that is once every sink it reached wrote it durably. Answers go
 * out in the order the commands came, those of one acknowledged batch in
 * one write; a client that resends after a broken connection gets its
 * messages stored again, so give them ids (the sluice sink does) and store
 * with insert-or-ignore.
 *
 * Every read of a connection becomes one batch; `event.message` is the
 * DATA of the `syslog` command (a syslog line for rsyslog: parse it with a
 * step), `sourceIp` the peer's address. Messages a sluice {@linkcode relpSink}
 * wrapped are unwrapped (see `unwrap`). A connection is not read while its
 * batch waits for the pipeline or `window` messages wait for their
 * acknowledgement. A frame larger than `maxDataBytes`, a broken frame or a
 * wrong transaction number is logged and counted; the connection is then
 * closed (after answering what the pipeline already took) and the server
 * goes on serving the others.
 *
 * Sessions silent for `idleTimeoutMs` with nothing unanswered are closed
 * (`serverclose`; rsyslog's omrelp opens a new one when it has something to
 * send); when `maxConnections` or `maxConnectionsPerAddress` is reached,
 * the oldest idle session of the busiest address is closed to make room
 * for the new one, as in {@linkcode tcpSource}.
 *
 * Counters: `connections` (gauge), `accepted_connections`,
 * `rejected_connections`, `evicted_connections`, `idle_timeouts`, `connection_errors`, `protocol_errors`,
 * `oversized_frames`, `unsupported_commands`, `tls_rejected`, `unwrapped`,
 * `invalid_utf8`, `acknowledged`.
 *
 * @param options Port, window, limits and TLS.
 * @returns The source; `addr` tells the port once started.
 *
 * @example Receive RELP on port 2514
 * ```ts
 * import { relpSource } from "./relp.ts";
 * const source = relpSource({ port: 2514, window: 1024, maxDataBytes: 64 * 1024 });
 * ```
 *
 * @example Mutual TLS, the host taken from the client certificate
 * ```ts
 * import { relpSource } from "./relp.ts";
 * const source = relpSource({
 *   port: 2515,
 *   tls: { certFile: "server.crt", keyFile: "server.key", caFile: "ca.crt" },
 *   hostFromCertificate: true,
 * });
 * ```
 */
export function relpSource(options: RelpSourceOptions): RelpSource {
  const who = "relpSource";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${who}: options must be an object, got ${options}`);
  }
  const port = options.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${who}: "port" must be an integer 0–65535, got ${port}`);
  }
  const host = options.host ?? "0.0.0.0";
  const window = positiveInt(who, "window", options.window ?? 4096);
  const maxDataBytes = positiveInt(who, "maxDataBytes", options.maxDataBytes ?? 131072);
  if (maxDataBytes > 999_999_999) {
    throw new RangeError(`${who}: "maxDataBytes" must be at most 999999999, got ${maxDataBytes}`);
  }
  const limits = resolveConnectionLimits(who, options);
  const drainTimeoutMs = positiveInt(who, "drainTimeoutMs", options.drainTimeoutMs ?? 5000, 0);
  const unwrap = options.unwrap ?? true;
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
  let listener: Deno.TcpListener | undefined;
  let server: TlsListener | undefined;
  const sessions = new Set<RelpServerSession>();
  const loops = new Set<Promise<void>>();
  let acceptLoop: Promise<void> | undefined;
  let table: ConnectionTable | undefined;
  let warned = 0;

  const warn = (ctx: SourceContext, message: string, extra: Record<string, unknown>) => {
    // A misbehaving peer that reconnects in a loop must not flood the log.
    if (warned++ % 1000 === 0) ctx.log.warn(message, extra);
  };

  const protocolError = (ctx: SourceContext, s: RelpServerSession, message: string, code = "") => {
    s.closing = true;
    ctx.stats.errors++;
    ctx.stats.add(code === "too-large" ? "oversized_frames" : "protocol_errors");
    warn(ctx, `closing a RELP connection: ${message}`, { peer: s.stream.remoteIp });
  };

  /** Handles the frames of one read: answers commands, emits the messages as one batch. */
  const handle = async (
    ctx: SourceContext,
    s: RelpServerSession,
    chunk: Uint8Array,
    frames: RelpFrame[],
  ) => {
    const now = Date.now();
    const { events, pending, unwrapped, invalid } = readRelpFrames(
      {
        source: ctx.name,
        unwrap,
        hostFromCertificate,
        protocolError: (message, code) => protocolError(ctx, s, message, code),
        unsupported: () => ctx.stats.add("unsupported_commands"),
      },
      s,
      chunk,
      frames,
      now,
    );
    const n = events.length;
    if (s.slot) s.slot.last = now;
    if (unwrapped) ctx.stats.add("unwrapped", unwrapped);
    if (invalid) ctx.stats.add("invalid_utf8", invalid);
    if (n > 0) {
      s.inflight += n;
      ctx.stats.received += n;
      await ctx.emit(events, () => {
        for (const answer of pending) answer.done = true;
        s.inflight -= n;
        if (s.slot) s.slot.last = Date.now();
        ctx.stats.add("acknowledged", n);
        s.flushSoon();
      });
    }
    s.flush();
  };

  /** Answers what is acknowledged in time, says `serverclose`, closes. Idempotent. */
  const end = (s: RelpServerSession): Promise<void> => {
    s.ending ??= (async () => {
      s.closing = true;
      s.notify();
      const deadline = Date.now() + drainTimeoutMs;
      while (s.unanswered > 0 && !s.dead) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await s.changed(left);
      }
      if (!s.dead) s.send(_SERVERCLOSE);
      await s.writing;
      s.dead = true;
      s.stream.close();
    })();
    return s.ending;
  };

  const serve = async (ctx: SourceContext, s: RelpServerSession): Promise<void> => {
    const stream = s.stream;
    sessions.add(s);
    ctx.stats.set("connections", sessions.size);
    ctx.stats.add("accepted_connections");
    try {
      while (!s.closing && !stopping) {
        while (s.inflight >= window && !s.closing) await s.changed();
        if (s.closing) break;
        const chunk = await stream.read();
        if (chunk === null) {
          // The client is gone: answers still pending would reach nobody.
          s.dead = true;
          break;
        }
        // Data read while stopping is dropped unanswered: the client sends it again.
        if (stopping) break;
        let frames: RelpFrame[];
        try {
          frames = s.parser.push(chunk);
        } catch (err) {
          if (!(err instanceof RelpFrameError)) throw err;
          protocolError(ctx, s, err.message, err.code);
          frames = [];
        }
        await handle(ctx, s, chunk, frames);
      }
    } catch (err) {
      if (!stopping && !s.dead) {
        ctx.stats.add("connection_errors");
        ctx.log.debug("RELP connection failed", { peer: stream.remoteIp, error: String(err) });
      }
      s.dead = true;
    } finally {
      await end(s);
      if (s.slot) table?.release(s.slot);
      sessions.delete(s);
      ctx.stats.set("connections", sessions.size);
    }
  };

  /** Serves a connection in `slot` (admitted now when not given); closes it when refused. */
  const track = (ctx: SourceContext, stream: NetStream, given?: ConnectionSlot) => {
    const s = new RelpServerSession(stream, maxDataBytes);
    const close = () => void end(s);
    const idle = () => s.inflight === 0 && s.unanswered === 0 && !s.closing;
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
    s.slot = slot;
    const loop = serve(ctx, s);
    loops.add(loop);
    loop.finally(() => loops.delete(loop));
  };

  const source: RelpSource = {
    kind: "relp",
    ...(options.name ? { name: options.name } : {}),
    get addr() {
      return addr;
    },
    get connections() {
      return sessions.size;
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
          idleTimeoutMs: limits.idleTimeoutMs,
          readBufferBytes: _READ_BUFFER,
          noDelay: true,
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
        acceptLoop = acceptConnections(l, sourceListenerHooks(ctx, () => stopping), (conn) => {
          try {
            conn.setNoDelay(true);
          } catch {
            // not a TCP connection
          }
          track(ctx, new DenoNetStream(conn, _READ_BUFFER));
        });
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
      await Promise.all([...sessions].map(end));
      await Promise.all(loops);
      // What is left are sockets still in their TLS handshake.
      srv?.destroySockets();
      await closed;
    },
  };
  return source;
}
