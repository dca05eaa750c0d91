/**
 * A RELP client (the Reliable Event Logging Protocol, as rsyslog's
 * `omrelp`): a batch counts as written only once the server answered
 * `200 OK` for every message of it.
 *
 * @module
 */

import { backoff, sleep } from "../core/backoff.ts";
import type { LogEvent } from "../core/event.ts";
import {
  formatRelpEnvelope,
  formatRelpOffers,
  nextTxnr,
  parseRelpOffers,
  parseRelpResponse,
  RELP_VERSION,
  type RelpFrame,
  RelpFrameEncoder,
  RelpFrameParser,
  type RelpResponse,
} from "../core/relp_frame.ts";
import { checkTlsClientOptions, loadTlsClient, type TlsClientOptions } from "../core/tls.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import { positiveInt } from "../core/options.ts";

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
   *   structured data, `<13>1 - vm-1 - - - [sluice@32473 id="tail:42"] MSG`
   *   (see `formatRelpEnvelope` in core/relp_frame.ts). A sluice
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
  /** Events this sink's queue holds before sources are held back. @default {DEFAULT_QUEUE_SIZE} (4000) */
  queueSize?: number;
}

/** A {@linkcode Sink} that sends RELP. */
export interface RelpSink extends Sink {
  /** Whether a RELP session is open right now. */
  readonly connected: boolean;
}

const _SYSLOG = 0;
const _OPEN = 1;
const _CLOSE = 2;
const _utf8 = new TextDecoder("utf-8");
const _encoder = new TextEncoder();
const _OFFERS = formatRelpOffers([
  ["relp_version", [RELP_VERSION]],
  ["relp_software", ["sluice"]],
  ["commands", ["syslog"]],
]);

const _OK = [50, 48, 48, 32, 79, 75]; // "200 OK"
/** How long a nearly full window waits for more answers before it sends into the few free slots. */
const _LINGER_MS = 1;

function _isOk(data: Uint8Array): boolean {
  if (data.length !== 6) return false;
  for (let i = 0; i < 6; i++) if (data[i] !== _OK[i]) return false;
  return true;
}

/** One RELP session over one connection. */
class _Session {
  readonly reader: Promise<void>;
  /** `syslog` commands answered `200` on this session. */
  acked = 0;
  broken: Error | undefined;
  openAnswer: RelpResponse | undefined;
  closeAnswered = false;
  readonly #conn: Deno.Conn;
  readonly #parser: RelpFrameParser;
  readonly #encoder = new RelpFrameEncoder();
  #txnr = 1;
  #sent: number[] = [];
  #kinds: number[] = [];
  #head = 0;
  #waiters: Array<() => void> = [];

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    // Answers are short; the limit only guards against a peer that is not RELP.
    this.#parser = new RelpFrameParser({ maxDataBytes: 1 << 20 });
    this.reader = this.#read();
  }

  /** Commands sent and not answered. */
  get unanswered(): number {
    return this.#sent.length - this.#head;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (!this.broken) {
        const n = await this.#conn.read(buffer);
        if (n === null) {
          this.abort(new Error("the server closed the connection"));
          return;
        }
        for (const frame of this.#parser.push(buffer.subarray(0, n))) this.#frame(frame);
        this.#notify();
      }
    } catch (err) {
      this.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #frame(frame: RelpFrame): void {
    if (this.broken) return;
    if (frame.command === "rsp") {
      if (this.#head >= this.#sent.length || this.#sent[this.#head] !== frame.txnr) {
        this.abort(new Error(`the server answered transaction ${frame.txnr}, which was not due`));
        return;
      }
      const kind = this.#kinds[this.#head++];
      if (this.#head > 4096 && this.#head * 2 > this.#sent.length) {
        this.#sent = this.#sent.slice(this.#head);
        this.#kinds = this.#kinds.slice(this.#head);
        this.#head = 0;
      }
      if (kind === _SYSLOG && _isOk(frame.data)) {
        this.acked++;
        return;
      }
      const rsp = parseRelpResponse(_utf8.decode(frame.data));
      if (kind === _SYSLOG) {
        if (rsp?.code === 200) this.acked++;
        else {
          this.abort(
            new Error(
              `the server refused message ${frame.txnr}: ${
                rsp ? `${rsp.code} ${rsp.text}` : "empty answer"
              }`,
            ),
          );
        }
      } else if (kind === _OPEN) {
        this.openAnswer = rsp ?? { code: 0, text: "empty answer", body: "" };
      } else this.closeAnswered = true;
      return;
    }
    if (frame.command === "serverclose") {
      this.abort(new Error("the server ended the session (serverclose)"));
    } else if (frame.txnr !== 0) {
      this.abort(new Error(`the server sent an unexpected "${frame.command}" command`));
    }
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Marks the session broken and closes its connection. */
  abort(reason: Error): void {
    this.broken ??= reason;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#notify();
  }

  /**
   * Resolves `true` at the next answer or failure. After `ms` without one
   * the session is broken (`fatal`), or the promise resolves `false`.
   */
  changed(ms: number, fatal = true): Promise<boolean> {
    if (this.broken) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        if (fatal) this.abort(new Error(`no answer from the server within ${ms} ms`));
        else {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve(false);
        }
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Sends one command. */
  command(kind: number, command: string, data?: string): Promise<void> {
    this.#track(kind);
    this.#encoder.add(this.#txnr, command, data);
    this.#txnr = nextTxnr(this.#txnr);
    return this.#write(this.#encoder.take());
  }

  /** Sends `payloads[from..to)` as `syslog` commands in one write. */
  messages(payloads: readonly string[], from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) {
      this.#track(_SYSLOG);
      this.#encoder.add(this.#txnr, "syslog", payloads[i]);
      this.#txnr = nextTxnr(this.#txnr);
    }
    return this.#write(this.#encoder.take());
  }

  #track(kind: number): void {
    this.#sent.push(this.#txnr);
    this.#kinds.push(kind);
  }

  async #write(bytes: Uint8Array): Promise<void> {
    try {
      let at = 0;
      while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
    } catch (err) {
      this.abort(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.broken) throw this.broken;
  }
}

function _cut(text: string, max: number): string | undefined {
  // Three bytes per UTF-16 unit at most: most messages need no encoding here.
  if (text.length * 3 <= max) return undefined;
  const bytes = _encoder.encode(text);
  if (bytes.length <= max) return undefined;
  let end = max;
  // Do not split a UTF-8 sequence: step back over continuation bytes.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return _utf8.decode(bytes.subarray(0, end));
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
  const refill = Math.max(1, window >> 2);

  let ctx: SinkContext | undefined;
  let session: _Session | undefined;
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

  const open = async (c: SinkContext): Promise<_Session> => {
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
    const s = new _Session(conn);
    try {
      await s.command(_OPEN, "open", _OFFERS);
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

  const drop = async (c: SinkContext) => {
    const s = session;
    session = undefined;
    c.stats.set("connected", 0);
    if (!s) return;
    s.abort(new Error("dropped"));
    await s.reader;
  };

  const format1 = (c: SinkContext, event: LogEvent): string => {
    const text = render(event);
    const cut = _cut(text, maxDataBytes);
    if (cut === undefined) return text;
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
    ...(options.queueSize ? { queueSize: options.queueSize } : {}),
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
      const payloads = new Array<string>(n);
      for (let i = 0; i < n; i++) payloads[i] = format1(c, batch[i] as LogEvent);
      const onAbort = () => session?.abort(new Error("the pipeline is stopping"));
      c.signal.addEventListener("abort", onAbort, { once: true });
      let done = 0;
      let sentMost = 0;
      let failures = 0;
      try {
        while (done < n) {
          if (c.signal.aborted) {
            throw new Error(`${who}: stopping with ${n - done} messages unanswered by ${where}`);
          }
          let s: _Session | undefined;
          let start = done;
          let base = 0;
          try {
            if (!session || session.broken) {
              if (session) await drop(c);
              session = await open(c);
              if (sentMost > done) {
                c.log.info(`reconnected to ${where}`, { resending: sentMost - done });
                c.stats.add("resent", sentMost - done);
              }
            }
            s = session;
            start = done;
            base = s.acked;
            let sent = done;
            let lingered = false;
            for (;;) {
              // Count answers before looking at a failure: a server may answer and then leave.
              done = start + (s.acked - base);
              if (done >= n) break;
              if (s.broken) throw s.broken;
              if (done > start) failures = 0;
              const free = done + window - sent;
              if (sent < n && free > 0) {
                if (free >= Math.min(refill, n - sent) || lingered) {
                  const to = Math.min(n, sent + free);
                  if (to > sentMost) sentMost = to;
                  await s.messages(payloads, sent, to);
                  sent = to;
                  lingered = false;
                  continue;
                }
                // Only a few slots are free: wait a moment for more answers so writes
                // stay large, then send anyway. Sending is also what carries the TCP
                // ACK that a server's Nagle algorithm may be holding its answers for.
                lingered = !(await s.changed(_LINGER_MS, false));
                continue;
              }
              await s.changed(ackTimeoutMs);
            }
          } catch (err) {
            if (s) done = start + (s.acked - base);
            await drop(c);
            if (c.signal.aborted || done >= n) continue;
            failures++;
            c.stats.errors++;
            c.stats.add("reconnects");
            const delay = backoff(failures, { initialMs: retryInitialMs, maxMs: retryMaxMs });
            c.log.warn(`RELP session with ${where} failed; resending in ${delay} ms`, {
              unanswered: n - done,
              attempt: failures,
              error: err instanceof Error ? err.message : String(err),
            });
            await sleep(delay, c.signal);
          }
        }
      } finally {
        c.signal.removeEventListener("abort", onAbort);
      }
    },
    async close() {
      const s = session;
      if (!s) return;
      if (!s.broken && s.unanswered === 0) {
        try {
          await s.command(_CLOSE, "close");
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
