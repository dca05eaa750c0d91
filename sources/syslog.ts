/**
 * A syslog server: TCP, UDP or TLS listeners whose messages are parsed as
 * RFC 5424 or RFC 3164 on arrival.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Framing } from "../core/octet_framing.ts";
import type { TlsServerOptions } from "../core/tls.ts";
import type { Source, SourceContext } from "../core/types.ts";
import { syslogParser, type SyslogParserOptions } from "../parsers/syslog.ts";
import { type TcpSource, tcpSource } from "./tcp.ts";
import { type UdpSource, udpSource } from "./udp.ts";

/** Which listeners a {@linkcode syslogSource} opens. */
export type SyslogTransport = "tcp" | "udp" | "tls" | "tcp+udp";

/** Options for {@linkcode syslogSource}. */
export interface SyslogSourceOptions extends Omit<SyslogParserOptions, "name"> {
  /** Listeners: `"tcp+udp"` listens on the same port number with both. @default {"tcp+udp"} */
  transport?: SyslogTransport;
  /**
   * The port; `0` picks a free one (both protocols then share it). Ports
   * below 1024 need root or `CAP_NET_BIND_SERVICE`.
   * @default {514} (6514 for `"tls"`)
   */
  port?: number;
  /** The address to listen on. @default {"0.0.0.0"} */
  host?: string;
  /** TCP/TLS framing, detected per connection by default (see {@linkcode tcpSource}). @default {"auto"} */
  framing?: Framing;
  /** Longest message in bytes. @default {65536} */
  maxMessageBytes?: number;
  /**
   * Most simultaneous TCP/TLS connections; when reached, the oldest idle
   * connection of the busiest address makes room (see {@linkcode tcpSource}).
   * @default {1000}
   */
  maxConnections?: number;
  /** Most simultaneous TCP/TLS connections from one address. @default {100} */
  maxConnectionsPerAddress?: number;
  /** Closes TCP/TLS connections silent for this long, in ms; `0` never. @default {300000} */
  idleTimeoutMs?: number;
  /** TLS options; required with `transport: "tls"`. */
  tls?: TlsServerOptions;
  /**
   * Sets `HOST` from the verified client certificate's common name instead
   * of the message's HOSTNAME (kept in `syslog.hostname` when it differs).
   * @default {false}
   */
  hostFromCertificate?: boolean;
  /** UDP datagrams held while the pipeline is busy; more are dropped and counted. @default {10000} */
  queueSize?: number;
  /** UDP kernel receive buffer in bytes. */
  receiveBufferBytes?: number;
  /** A name for stats. */
  name?: string;
}

/** A {@linkcode Source} that runs syslog listeners. */
export interface SyslogSource extends Source {
  /** The TCP or TLS address, once started. */
  readonly tcpAddr: { hostname: string; port: number } | undefined;
  /** The UDP address, once started. */
  readonly udpAddr: { hostname: string; port: number } | undefined;
}

/**
 * Receives syslog over TCP (newline or octet-counting framing, detected per
 * connection), UDP (one message per datagram) or TLS (optionally mutual),
 * and parses every message with {@linkcode syslogParser}: HOST, PROGRAM,
 * PID, FACILITY, SEVERITY, the timestamp and `syslog.sd` structured data
 * are set and `message` becomes the MSG part. A message that is not syslog
 * is kept whole as `message`, flagged `sluice_unparsed` and counted in the
 * `unparsed` counter; it is never dropped. `sourceIp` is the sender, and TLS
 * client certificates are stored as in {@linkcode tcpSource}.
 *
 * @param options Transport, port, parser options, TLS.
 * @returns The source.
 *
 * @example The central's syslog listener for routers and VMs
 * ```ts
 * import { syslogSource } from "./syslog.ts";
 * const source = syslogSource({ transport: "tcp+udp", port: 514, timeZoneOffset: 60 });
 * ```
 */
export function syslogSource(options: SyslogSourceOptions = {}): SyslogSource {
  const transport = options.transport ?? "tcp+udp";
  if (!["tcp", "udp", "tls", "tcp+udp"].includes(transport)) {
    throw new TypeError(
      `syslogSource: "transport" must be "tcp", "udp", "tls" or "tcp+udp", got "${transport}"`,
    );
  }
  if (transport === "tls" && options.tls === undefined) {
    throw new TypeError(`syslogSource: transport "tls" needs "tls" options`);
  }
  if (transport !== "tls" && options.tls !== undefined) {
    throw new TypeError(`syslogSource: "tls" options need transport "tls", got "${transport}"`);
  }
  const port = options.port ?? (transport === "tls" ? 6514 : 514);
  const hostFromCertificate = options.hostFromCertificate ?? false;
  const parser = syslogParser({
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.format !== undefined ? { format: options.format } : {}),
    ...(options.keepRaw !== undefined ? { keepRaw: options.keepRaw } : {}),
    ...(options.timeZoneOffset !== undefined ? { timeZoneOffset: options.timeZoneOffset } : {}),
    ...(options.maxFutureMs !== undefined ? { maxFutureMs: options.maxFutureMs } : {}),
    keepHost: (options.keepHost ?? false) || hostFromCertificate,
  });
  const common = {
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
  };
  const makeTcp = (p: number): TcpSource =>
    tcpSource({
      ...common,
      port: p,
      ...(options.framing !== undefined ? { framing: options.framing } : {}),
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      ...(options.maxConnectionsPerAddress !== undefined
        ? { maxConnectionsPerAddress: options.maxConnectionsPerAddress }
        : {}),
      ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      hostFromCertificate,
    });
  const makeUdp = (p: number): UdpSource =>
    udpSource({
      ...common,
      port: p,
      ...(options.queueSize !== undefined ? { queueSize: options.queueSize } : {}),
      ...(options.receiveBufferBytes !== undefined
        ? { receiveBufferBytes: options.receiveBufferBytes }
        : {}),
    });
  // Built now so that bad options throw at construction.
  let tcp: TcpSource | undefined = transport === "udp" ? undefined : makeTcp(port);
  let udp: UdpSource | undefined = transport === "udp" ? makeUdp(port) : undefined;
  if (transport === "tcp+udp") makeUdp(port);

  const wrap = (ctx: SourceContext): SourceContext => ({
    name: ctx.name,
    stats: ctx.stats,
    state: ctx.state,
    log: ctx.log,
    signal: ctx.signal,
    emit(batch: LogEvent[], onAck) {
      let unparsed = 0;
      for (const event of batch) {
        if (!parser.parse(event)) {
          event.fields["sluice_unparsed"] = true;
          unparsed++;
        }
      }
      if (unparsed) ctx.stats.add("unparsed", unparsed);
      return ctx.emit(batch, onAck);
    },
  });

  return {
    kind: "syslog",
    ...(options.name ? { name: options.name } : {}),
    get tcpAddr() {
      return tcp?.addr;
    },
    get udpAddr() {
      return udp?.addr;
    },
    async start(ctx) {
      const inner = wrap(ctx);
      if (transport !== "tcp+udp") {
        await (tcp ?? udp)?.start(inner);
        return;
      }
      // Both on one port number; with port 0 the free TCP port may be taken for UDP: try again.
      for (let attempt = 1;; attempt++) {
        const t = tcp ?? makeTcp(port);
        await t.start(inner);
        const u = makeUdp(t.addr?.port ?? port);
        try {
          await u.start(inner);
          tcp = t;
          udp = u;
          return;
        } catch (err) {
          await t.stop();
          tcp = undefined;
          if (port !== 0 || attempt >= 5) throw err;
        }
      }
    },
    async stop() {
      await Promise.all([tcp?.stop(), udp?.stop()]);
    },
  };
}
