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

/** UTF-8 length of a string that is not all ASCII. */
function _utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n++;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3; // a lone surrogate becomes U+FFFD
    } else n += 3;
  }
  return n;
}

/**
 * One `write()`: its events, how many of them the server answered on the
 * current session (always a prefix: answers come in order), how many were
 * sent on it. A message is rendered when it goes out (and again when it is
 * resent), so no string per message outlives its burst: a window's worth of
 * strings kept until their answers came cost the VM more garbage collection
 * than rendering them twice on the rare resend.
 */
class _Job {
  readonly events: readonly LogEvent[];
  readonly n: number;
  done: number;
  sent: number;
  /** Set when the job joins a session; settles when every message is answered or the session breaks. */
  resolve: () => void = () => {};
  reject: (err: Error) => void = () => {};

  /** Its place among the sink's writes: messages go out, and are resent, in this order. */
  readonly seq: number;
  /** The session it last joined. */
  session: _Session | undefined;

  /** Messages rendered at least once (a resend does not count a cut message again). */
  #rendered = 0;
  readonly #format: (event: LogEvent, first: boolean) => string;

  constructor(
    events: readonly LogEvent[],
    seq: number,
    format: (event: LogEvent, first: boolean) => string,
  ) {
    this.events = events;
    this.seq = seq;
    this.#format = format;
    const done = 0;
    this.n = events.length;
    this.done = done;
    this.sent = done;
  }

  /** The DATA of message `k`. */
  payload(k: number): string {
    const first = k >= this.#rendered;
    if (first) this.#rendered = k + 1;
    return this.#format(this.events[k] as LogEvent, first);
  }
}

/**
 * One RELP session over one connection. The messages of every `write()`
 * in flight (see the sink's `concurrency`) go out in the order the writes
 * joined, as the window allows, one write per burst; each write resolves
 * once all of its messages are answered, so the window stays full across
 * batches instead of draining at the end of each.
 */
class _Session {
  readonly reader: Promise<void>;
  broken: Error | undefined;
  openAnswer: RelpResponse | undefined;
  closeAnswered = false;
  readonly #conn: Deno.Conn;
  readonly #parser: RelpFrameParser;
  readonly #encoder = new RelpFrameEncoder();
  readonly #window: number;
  readonly #refill: number;
  readonly #ackTimeoutMs: number;
  #txnr = 1;
  #sent: number[] = [];
  /** Per command sent: `_OPEN`, `_CLOSE`, or the job a `syslog` message belongs to. */
  #kinds: Array<number | _Job> = [];
  #head = 0;
  #waiters: Array<() => void> = [];
  /** Writes on this session whose messages are not all answered, in the order they joined. */
  #jobs: _Job[] = [];
  /** The first of {@linkcode #jobs} with messages not sent yet. */
  #sending = 0;
  #pumping = false;
  /** Since when the server owes an answer without having given one. */
  #dueSince = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  /** Whether every earlier unfinished write of the sink has joined this session. */
  readonly #inTurn: (job: _Job, session: _Session) => boolean;

  constructor(
    conn: Deno.Conn,
    window: number,
    ackTimeoutMs: number,
    inTurn: (job: _Job, session: _Session) => boolean,
  ) {
    this.#conn = conn;
    this.#inTurn = inTurn;
    this.#window = window;
    this.#refill = Math.max(1, window >> 2);
    this.#ackTimeoutMs = ackTimeoutMs;
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
        this.#dueSince = this.unanswered > 0 ? Date.now() : 0;
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
      const kind = this.#kinds[this.#head++] as number | _Job;
      if (this.#head > 4096 && this.#head * 2 > this.#sent.length) {
        this.#sent = this.#sent.slice(this.#head);
        this.#kinds = this.#kinds.slice(this.#head);
        this.#head = 0;
      }
      if (typeof kind === "object") {
        if (_isOk(frame.data) || parseRelpResponse(_utf8.decode(frame.data))?.code === 200) {
          if (++kind.done === kind.n) this.#finish(kind);
          return;
        }
        const rsp = parseRelpResponse(_utf8.decode(frame.data));
        this.abort(
          new Error(
            `the server refused message ${frame.txnr}: ${
              rsp ? `${rsp.code} ${rsp.text}` : "empty answer"
            }`,
          ),
        );
        return;
      }
      const rsp = parseRelpResponse(_utf8.decode(frame.data));
      if (kind === _OPEN) {
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

  #finish(job: _Job): void {
    const at = this.#jobs.indexOf(job);
    if (at >= 0) {
      this.#jobs.splice(at, 1);
      if (at < this.#sending) this.#sending--;
    }
    job.resolve();
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Marks the session broken, closes its connection and fails the writes on it. */
  abort(reason: Error): void {
    this.broken ??= reason;
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    const jobs = this.#jobs;
    this.#jobs = [];
    this.#sending = 0;
    for (const job of jobs) job.reject(this.broken);
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

  /**
   * Sends the job's messages from `job.done` on, as the window allows,
   * after those of the writes that joined before it; resolves when all
   * are answered, rejects when the session breaks first.
   */
  run(job: _Job): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    const settled = new Promise<void>((resolve, reject) => {
      job.resolve = resolve;
      job.reject = reject;
    });
    job.sent = job.done;
    job.session = this;
    if (job.done >= job.n) {
      job.resolve();
      return settled;
    }
    // In the sink's order: after a break, the writes rejoin in whatever order their
    // writers wake up, and a receiver may take a later message as proof of the earlier
    // ones (the JSONL sink's high-water marks do).
    let at = this.#jobs.length;
    while (at > this.#sending && (this.#jobs[at - 1] as _Job).seq > job.seq) at--;
    this.#jobs.splice(at, 0, job);
    if (!this.#pumping) this.#pump();
    else this.#notify();
    return settled;
  }

  /** The end of the writes whose messages may go out now: up to one an earlier write has yet to join before. */
  #ready(): number {
    let end = this.#sending;
    while (end < this.#jobs.length && this.#inTurn(this.#jobs[end] as _Job, this)) end++;
    return end;
  }

  /** Looks again at what may go out (a write that others waited behind has given up). */
  kick(): void {
    if (this.broken) return;
    if (!this.#pumping) this.#pump();
    else this.#notify();
  }

  /** Messages that may go out now and were not sent yet. */
  #unsent(end: number): number {
    let n = 0;
    for (let i = this.#sending; i < end; i++) {
      const job = this.#jobs[i] as _Job;
      n += job.n - job.sent;
    }
    return n;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      let lingered = false;
      while (!this.broken) {
        const end = this.#ready();
        const unsent = this.#unsent(end);
        // Nothing to send, or only writes waiting for an earlier one to rejoin: its run() restarts this.
        if (unsent === 0) return;
        const free = this.#window - this.unanswered;
        if (free > 0 && (free >= Math.min(this.#refill, unsent) || lingered)) {
          lingered = false;
          await this.#messages(Math.min(free, unsent), end);
          continue;
        }
        if (free > 0) {
          // Only a few slots are free: wait a moment for more answers so writes stay
          // large, then send anyway. Sending is also what carries the TCP ACK that a
          // server's Nagle algorithm may be holding its answers for.
          lingered = !(await this.changed(_LINGER_MS, false));
          continue;
        }
        // The window is full: the next answer frees it (the watchdog breaks a silent session).
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    } catch (err) {
      // The session broke (the writes on it were failed with it), or a message
      // could not be rendered (a format function threw): break it, so the writes retry.
      this.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#pumping = false;
    }
  }

  /** Sends up to `most` unsent messages, across writes, in one write. */
  #messages(most: number, end: number): Promise<void> {
    let text = "";
    let bytes = 0;
    const start = this.#txnr;
    let txnr = start;
    let count = 0;
    const payloads: string[] = [];
    // ASCII first: the DATALEN is the string's length, and one encode does the whole burst.
    for (let i = this.#sending; i < end && count < most; i++) {
      const job = this.#jobs[i] as _Job;
      const to = Math.min(job.n, job.sent + most - count);
      for (let k = job.sent; k < to; k++) {
        const p = job.payload(k);
        payloads.push(p);
        text += `${txnr} syslog ${p.length} ${p}\n`;
        txnr = nextTxnr(txnr);
      }
      count += to - job.sent;
    }
    let encoded = _encoder.encode(text);
    if (encoded.length !== text.length) {
      // Some message is not ASCII: DATALEN counts bytes, not UTF-16 units.
      text = "";
      txnr = start;
      for (const p of payloads) {
        text += `${txnr} syslog ${_utf8Length(p)} ${p}\n`;
        txnr = nextTxnr(txnr);
      }
      encoded = _encoder.encode(text);
    }
    bytes = encoded.length;
    // Track what went out: every message is owned by its job.
    count = 0;
    while (this.#sending < end && count < most) {
      const job = this.#jobs[this.#sending] as _Job;
      const to = Math.min(job.n, job.sent + most - count);
      for (let k = job.sent; k < to; k++) {
        this.#sent.push(this.#txnr);
        this.#kinds.push(job);
        this.#txnr = nextTxnr(this.#txnr);
      }
      count += to - job.sent;
      job.sent = to;
      if (job.sent === job.n) this.#sending++;
      else break;
    }
    if (this.#dueSince === 0) this.#dueSince = Date.now();
    this.#arm();
    return bytes > 0 ? this.#write(encoded) : Promise.resolve();
  }

  /** Breaks the session when the server owes answers and stays silent for the ack timeout. */
  #arm(): void {
    if (this.#watchdog !== undefined) return;
    const every = Math.max(5, Math.min(1000, this.#ackTimeoutMs >> 2));
    this.#watchdog = setInterval(() => {
      if (this.#dueSince === 0 || this.unanswered === 0) return;
      const silent = Date.now() - this.#dueSince;
      if (silent >= this.#ackTimeoutMs) {
        this.abort(new Error(`no answer from the server within ${this.#ackTimeoutMs} ms`));
      }
    }, every);
    Deno.unrefTimer(this.#watchdog);
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
  const concurrency = positiveInt(who, "concurrency", options.concurrency ?? 16);
  const queueSize = positiveInt(who, "queueSize", options.queueSize ?? window + 1000);

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
    const s = new _Session(conn, window, ackTimeoutMs, inTurn);
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

  /** Writes not finished, in the order they came. */
  const live: _Job[] = [];
  let nextSeq = 0;
  const inTurn = (job: _Job, s: _Session) => {
    for (const j of live) if (j.seq < job.seq && j.session !== s) return false;
    return true;
  };
  let connecting: Promise<_Session> | undefined;
  /** The open session, or a new one: writes in flight at once share one attempt to connect. */
  const connected = (c: SinkContext): Promise<_Session> => {
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
    const cut = _cut(text, maxDataBytes);
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
      const job = new _Job(batch, nextSeq++, (e, first) => format1(c, e, first));
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
