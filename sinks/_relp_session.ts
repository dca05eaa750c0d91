/**
 * The RELP sink's session: one connection, its window of messages in
 * flight and their answers, and the writes ({@linkcode RelpJob}) whose
 * messages it carries. The sink (sinks/relp.ts) opens, reopens and closes
 * sessions and hands them its writes.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import {
  formatRelpOffers,
  parseRelpResponse,
  RelpFrameEncoder,
  type RelpResponse,
} from "../core/relp_encode.ts";
import { nextTxnr, RELP_VERSION, type RelpFrame, RelpFrameParser } from "../core/relp_frame.ts";

/** The kind of an `open` command in a session's record of what it sent. */
export const RELP_OPEN = 1;
/** The kind of a `close` command in a session's record of what it sent. */
export const RELP_CLOSE = 2;
const _utf8 = new TextDecoder("utf-8");
const _encoder = new TextEncoder();
/** The offers the sink sends in its `open` command. */
export const RELP_CLIENT_OFFERS = formatRelpOffers([
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
 *
 * @example
 * ```ts ignore
 * import { RelpJob } from "./_relp_session.ts";
 * const job = new RelpJob(events, 1, (e) => e.message);
 * ```
 */
export class RelpJob {
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
  session: RelpSession | undefined;

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
 *
 * @example
 * ```ts ignore
 * import { RelpSession } from "./_relp_session.ts";
 * const s = new RelpSession(conn, 128, 30_000, () => true);
 * ```
 */
export class RelpSession {
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
  /** Per command sent: `RELP_OPEN`, `RELP_CLOSE`, or the job a `syslog` message belongs to. */
  #kinds: Array<number | RelpJob> = [];
  #head = 0;
  #waiters: Array<() => void> = [];
  /** Writes on this session whose messages are not all answered, in the order they joined. */
  #jobs: RelpJob[] = [];
  /** The first of {@linkcode #jobs} with messages not sent yet. */
  #sending = 0;
  #pumping = false;
  /** Since when the server owes an answer without having given one. */
  #dueSince = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;

  /** Whether every earlier unfinished write of the sink has joined this session. */
  readonly #inTurn: (job: RelpJob, session: RelpSession) => boolean;

  constructor(
    conn: Deno.Conn,
    window: number,
    ackTimeoutMs: number,
    inTurn: (job: RelpJob, session: RelpSession) => boolean,
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
      const kind = this.#kinds[this.#head++] as number | RelpJob;
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
      if (kind === RELP_OPEN) {
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

  #finish(job: RelpJob): void {
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
  run(job: RelpJob): Promise<void> {
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
    while (at > this.#sending && (this.#jobs[at - 1] as RelpJob).seq > job.seq) at--;
    this.#jobs.splice(at, 0, job);
    if (!this.#pumping) this.#pump();
    else this.#notify();
    return settled;
  }

  /** The end of the writes whose messages may go out now: up to one an earlier write has yet to join before. */
  #ready(): number {
    let end = this.#sending;
    while (end < this.#jobs.length && this.#inTurn(this.#jobs[end] as RelpJob, this)) end++;
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
      const job = this.#jobs[i] as RelpJob;
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
      const job = this.#jobs[i] as RelpJob;
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
      const job = this.#jobs[this.#sending] as RelpJob;
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

/**
 * `text` cut to at most `max` bytes of UTF-8 without splitting a
 * character, or `undefined` when it fits.
 *
 * @param text The message.
 * @param max The most bytes.
 * @returns The cut text, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cutUtf8 } from "./_relp_session.ts";
 * assert.equal(cutUtf8("héllo", 2), "h");
 * assert.equal(cutUtf8("hello", 64), undefined);
 * ```
 */
export function cutUtf8(text: string, max: number): string | undefined {
  // Three bytes per UTF-16 unit at most: most messages need no encoding here.
  if (text.length * 3 <= max) return undefined;
  const bytes = _encoder.encode(text);
  if (bytes.length <= max) return undefined;
  let end = max;
  // Do not split a UTF-8 sequence: step back over continuation bytes.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return _utf8.decode(bytes.subarray(0, end));
}
