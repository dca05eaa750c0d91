/**
 * A RELP client (the Reliable Event Logging Protocol, as rsyslog's
 * `omrelp`): a batch counts as written only once the server answered
 * `200 OK` for every message of it.
 *
 * @module
 */

import { backoff, sleep } from "../core/backoff.ts";
import type { LogEvent } from "../core/event.ts";
import { parseRelpOffers, type RelpResponse } from "../core/relp_encode.ts";
import { formatRelpEnvelope } from "../core/relp_envelope.ts";
import { checkTlsClientOptions, loadTlsClient, type TlsClientOptions } from "../core/tls.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { positiveInt } from "../core/options.ts";
import { RELP_CLIENT_OFFERS, RELP_CLOSE, RELP_OPEN, RelpSession } from "./_relp_session.ts";
import { cutUtf8, RelpJob } from "./_relp_job.ts";

/** How the sink turns an event into the DATA of a `syslog` command. */
export type RelpSinkFormat = "rfc5424" | "raw" | ((event: LogEvent) => string);

/** Options for {@linkcode relpSink}. */
export interface RelpSinkOptions {
  /** The server's port. */
  port: number;
  /** The server's host name or address. @default {"127.0.0.1"} */
  host?: string;
  /**
   * Most messages sent and not yet answered; librelp's (and rsyslog
   * omrelp's) default is 128. @default {128}
   */
  window?: number;
  /**
   * What is sent for each event:
   *
   * - `"rfc5424"`: an RFC 5424 syslog message carrying the event's id as
   *   structured data, `<13>1 - vm-1 - - - [sluice@32473 id="tail:42" nopri="fs"] MSG`
   *   (see `formatRelpEnvelope` in core/relp_envelope.ts). A sluice
   *   {@linkcode relpSource} restores id, host, program, pid, severity,
   *   facility, timestamp and the original message from it, so a store that
   *   inserts or ignores on the id keeps each event once however often it
   *   was resent; rsyslog and syslog-ng read it as ordinary RFC 5424.
   * - `"raw"`: `event.message` as it is (no id travels).
   * - a function: its result.
   *
   * @default {"rfc5424"}
   */
  format?: RelpSinkFormat;
  /**
   * Largest DATA of one message in bytes; longer messages are cut to it and
   * counted (`truncated`). Keep it at or below the server's limit (rsyslog's
   * imrelp `maxDataSize` defaults to its 8 KiB `maxMessageSize`), or the
   * server closes the connection at each attempt. @default {131072}
   */
  maxDataBytes?: number;
  /** How long connecting (and the TLS handshake) may take, in ms. @default {10000} */
  connectTimeoutMs?: number;
  /**
   * How long the server may stay silent while answers are due, in ms;
   * then the connection is dropped and every unanswered message resent on
   * a new one. @default {30000}
   */
  ackTimeoutMs?: number;
  /** First delay before reconnecting after a failure, in ms; it doubles per failure. @default {100} */
  retryInitialMs?: number;
  /** Largest delay between reconnection attempts, in ms. @default {30000} */
  retryMaxMs?: number;
  /** TLS: CA to trust, client certificate and key. Plain TCP when left out. */
  tls?: TlsClientOptions;
  /** A name for stats. */
  name?: string;
  /** Most events per write. @default {1000} */
  maxBatch?: number;
  /**
   * Events this sink's queue holds before sources are held back. The
   * engine counts a batch in the queue until its write resolves, that is
   * until the server answered it, so the queue must hold the window and a
   * batch more, or the window never fills. @default {window + 1000}
   */
  queueSize?: number;
  /**
   * Batches in flight at once. Several batches share the window: while the
   * last messages of one wait for their answers, the next ones are sent, so
   * the window does not drain at the end of every batch (a stall of one
   * round trip plus the server's commit per batch). Batches beyond the
   * window wait, unsent, behind it. Messages go out, and after a failure are
   * resent, in the order the batches came, on one connection. @default {16}
   */
  concurrency?: number;
}

/** A {@linkcode Sink} that sends RELP. */
export interface RelpSink extends Sink {
  /** Whether a RELP session is open right now. */
  readonly connected: boolean;
}

/**
 * Sends events over RELP, to rsyslog's `imrelp` or to a sluice
 * {@linkcode relpSource}. Up to `window` messages are on the wire at once;
 * `write()` resolves only when the server answered `200 OK` for every
 * message of the batch, so the engine acknowledges the batch — and a
 * file-tail source advances its checkpoint — only then. When the
 * connection breaks (or the server stays silent for `ackTimeoutMs`, or says
 * `serverclose`), the sink reconnects with exponential back-off and resends
 * every message that was not answered, in order. Delivery is at least once;
 * with the default `rfc5424` format the event id travels along, so a
 * receiver that stores with insert-or-ignore keeps each event once.
 *
 * Counters: `connected` (gauge), `connects`, `reconnects` (failures),
 * `resent`, `truncated`.
 *
 * @param options Server, window, format, timeouts and TLS.
 * @returns The sink.
 *
 * @example Forward to the central over RELP
 * ```ts
 * import { relpSink } from "./relp.ts";
 * const sink = relpSink({ host: "central.example", port: 2514, window: 256 });
 * ```
 *
 * @example With a client certificate
 * ```ts
 * import { relpSink } from "./relp.ts";
 * const sink = relpSink({
 *   host: "central.example",
 *   port: 2515,
 *   tls: { caFile: "ca.crt", certFile: "vm-1.crt", keyFile: "vm-1.key" },
 * });
 * ```
 */
export function relpSink(options: RelpSinkOptions): RelpSink {
  const who = "relpSink";
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${who}: options must be an object, got ${options}`);
  }
  const port = options.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${who}: "port" must be an integer 1–65535, got ${port}`);
  }
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") {
    throw new TypeError(`${who}: "host" must be a host name or address, got ${host}`);
  }
  const window = positiveInt(who, "window", options.window ?? 128);
  const maxDataBytes = positiveInt(who, "maxDataBytes", options.maxDataBytes ?? 131072, 64);
  const connectTimeoutMs = positiveInt(
    who,
    "connectTimeoutMs",
    options.connectTimeoutMs ?? 10_000,
  );
  const ackTimeoutMs = positiveInt(who, "ackTimeoutMs", options.ackTimeoutMs ?? 30_000);
  const retryInitialMs = positiveInt(who, "retryInitialMs", options.retryInitialMs ?? 100);
  const retryMaxMs = positiveInt(who, "retryMaxMs", options.retryMaxMs ?? 30_000);
  const format = options.format ?? "rfc5424";
  if (format !== "rfc5424" && format !== "raw" && typeof format !== "function") {
    throw new TypeError(
      `${who}: "format" must be "rfc5424", "raw" or a function, got ${JSON.stringify(format)}`,
    );
  }
  const render: (event: LogEvent) => string = format === "rfc5424"
    ? formatRelpEnvelope
    : format === "raw"
    ? (e) => e.message
    : format;
  const tls = options.tls;
  if (tls !== undefined) checkTlsClientOptions(who, tls);
  const where = `${host}:${port}`;
  const concurrency = positiveInt(who, "concurrency", options.concurrency ?? 16);
  const queueSize = positiveInt(who, "queueSize", options.queueSize ?? window + 1000);

  let ctx: SinkContext | undefined;
  let session: RelpSession | undefined;
  let connectOptions: Deno.ConnectTlsOptions & Partial<Deno.TlsCertifiedKeyPem> | undefined;
  let truncatedWarned = 0;

  const connect = async (signal: AbortSignal): Promise<Deno.Conn> => {
    if (!connectOptions) {
      if (!tls) return await Deno.connect({ hostname: host, port, signal });
      throw new Error(`${who}: TLS options are not loaded`);
    }
    const pending = Deno.connectTls(connectOptions);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
    });
    try {
      const conn = await Promise.race([pending, timeout]);
      // Complete the handshake now, so a refused certificate fails here.
      await conn.handshake();
      return conn;
    } catch (err) {
      pending.then((c) => c.close(), () => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };

  const open = async (c: SinkContext): Promise<RelpSession> => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), connectTimeoutMs);
    const onStop = () => abort.abort();
    c.signal.addEventListener("abort", onStop, { once: true });
    let conn: Deno.Conn;
    try {
      conn = await connect(abort.signal);
    } catch (err) {
      throw new Error(
        `cannot connect to ${where}: ${
          abort.signal.aborted && !c.signal.aborted
            ? `timed out after ${connectTimeoutMs} ms`
            : err instanceof Error
            ? err.message
            : String(err)
        }`,
      );
    } finally {
      clearTimeout(timer);
      c.signal.removeEventListener("abort", onStop);
    }
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const s = new RelpSession(conn, window, ackTimeoutMs, inTurn);
    try {
      await s.command(RELP_OPEN, "open", RELP_CLIENT_OFFERS);
      while (!s.openAnswer && !s.broken) await s.changed(ackTimeoutMs);
      if (s.broken) throw s.broken;
      const rsp = s.openAnswer as RelpResponse;
      if (rsp.code !== 200) {
        throw new Error(`the server refused the session: ${rsp.code} ${rsp.text}`);
      }
      const offers = parseRelpOffers(rsp.body);
      if (!offers.has("relp_version")) {
        throw new Error("the server's answer to open has no relp_version offer");
      }
      if (!(offers.get("commands") ?? []).includes("syslog")) {
        throw new Error("the server does not accept the syslog command");
      }
    } catch (err) {
      s.abort(err instanceof Error ? err : new Error(String(err)));
      await s.reader;
      throw err;
    }
    c.stats.add("connects");
    c.stats.set("connected", 1);
    return s;
  };

  /** Writes not finished, in the order they came. */
  const live: RelpJob[] = [];
  let nextSeq = 0;
  const inTurn = (job: RelpJob, s: RelpSession) => {
    for (const j of live) if (j.seq < job.seq && j.session !== s) return false;
    return true;
  };
  let connecting: Promise<RelpSession> | undefined;
  /** The open session, or a new one: writes in flight at once share one attempt to connect. */
  const connected = (c: SinkContext): Promise<RelpSession> => {
    if (session && !session.broken) return Promise.resolve(session);
    connecting ??= (async () => {
      try {
        if (session) await drop(c);
        session = await open(c);
        return session;
      } finally {
        connecting = undefined;
      }
    })();
    return connecting;
  };

  const drop = async (c: SinkContext) => {
    const s = session;
    session = undefined;
    c.stats.set("connected", 0);
    if (!s) return;
    s.abort(new Error("dropped"));
    await s.reader;
  };

  /** Renders an event; a cut message is counted (and logged) when `first` rendered. */
  const format1 = (c: SinkContext, event: LogEvent, first: boolean): string => {
    const text = render(event);
    const cut = cutUtf8(text, maxDataBytes);
    if (cut === undefined) return text;
    if (!first) return cut;
    c.stats.add("truncated");
    if (truncatedWarned++ % 1000 === 0) {
      c.log.warn(`cutting a message longer than maxDataBytes (${maxDataBytes} bytes)`, {
        id: event.id ?? "",
      });
    }
    return cut;
  };

  const sink: RelpSink = {
    kind: "relp",
    ...(options.name ? { name: options.name } : {}),
    ...(options.maxBatch ? { maxBatch: options.maxBatch } : {}),
    queueSize,
    concurrency,
    get connected() {
      return session !== undefined && !session.broken;
    },
    async open(context) {
      ctx = context;
      if (tls) {
        const loaded = await loadTlsClient(who, tls);
        connectOptions = {
          hostname: host,
          port,
          ...(loaded.ca !== undefined ? { caCerts: [loaded.ca] } : {}),
          ...(loaded.cert !== undefined && loaded.key !== undefined
            ? { cert: loaded.cert, key: loaded.key }
            : {}),
          ...(loaded.verifyHostname ? {} : { unsafelyDisableHostnameVerification: true }),
        };
      }
      context.stats.set("connected", 0);
    },
    async write(batch) {
      const c = ctx;
      if (!c) throw new Error(`${who}: write() before open()`);
      const n = batch.length;
      if (n === 0) return;
      const onAbort = () => session?.abort(new Error("the pipeline is stopping"));
      c.signal.addEventListener("abort", onAbort, { once: true });
      const job = new RelpJob(batch, nextSeq++, (e, first) => format1(c, e, first));
      live.push(job);
      let sentMost = 0;
      let failures = 0;
      try {
        while (job.done < n) {
          if (c.signal.aborted) {
            throw new Error(
              `${who}: stopping with ${n - job.done} messages unanswered by ${where}`,
            );
          }
          const start = job.done;
          try {
            const s = await connected(c);
            if (sentMost > job.done) {
              c.log.info(`reconnected to ${where}`, { resending: sentMost - job.done });
              c.stats.add("resent", sentMost - job.done);
            }
            await s.run(job);
          } catch (err) {
            if (job.sent > sentMost) sentMost = job.sent;
            if (job.done > start) failures = 0;
            if (session?.broken) await drop(c);
            if (c.signal.aborted || job.done >= n) continue;
            failures++;
            c.stats.errors++;
            c.stats.add("reconnects");
            const delay = backoff(failures, { initialMs: retryInitialMs, maxMs: retryMaxMs });
            c.log.warn(`RELP session with ${where} failed; resending in ${delay} ms`, {
              unanswered: n - job.done,
              attempt: failures,
              error: err instanceof Error ? err.message : String(err),
            });
            await sleep(delay, c.signal);
          }
        }
      } finally {
        live.splice(live.indexOf(job), 1);
        session?.kick();
        c.signal.removeEventListener("abort", onAbort);
      }
    },
    async close() {
      const s = session;
      if (!s) return;
      if (!s.broken && s.unanswered === 0) {
        try {
          await s.command(RELP_CLOSE, "close");
          while (!s.closeAnswered && !s.broken) await s.changed(2000);
        } catch {
          // the server is gone already: nothing left to close politely
        }
      }
      if (ctx) await drop(ctx);
      else {
        s.abort(new Error("closed"));
        await s.reader;
      }
    },
  };
  return sink;
}
