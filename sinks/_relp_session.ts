/**
 * The RELP sink's session: one connection, its window of messages in flight and
 * their answers, and the writes ({@linkcode RelpJob}) whose messages it carries.
 * The sink (sinks/relp.ts) opens, reopens and closes sessions, hands them writes.
 *
 * @module
 */

import {
  formatRelpOffers,
  parseRelpResponse,
  RelpFrameEncoder,
  type RelpResponse,
} from "../core/relp_encode.ts";
import { nextTxnr, RELP_VERSION, type RelpFrame } from "../core/relp_frame.ts";
import { type RelpJob, utf8Length } from "./_relp_job.ts";
import { RelpAnswerReader } from "../core/relp_acks.ts";

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
  readonly #encoder = new RelpFrameEncoder();
  readonly #window: number;
  readonly #refill: number;
  readonly #ackTimeoutMs: number;
  #txnr = 1;
  /** The transaction number of the oldest command not answered (numbers go out in order). */
  #acked = 1;
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
  /** The buffer bursts are encoded into, reused from burst to burst. */
  #burst = new Uint8Array(0);
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
    this.reader = this.#read();
  }

  /** Commands sent and not answered. */
  get unanswered(): number {
    return this.#kinds.length - this.#head;
  }

  async #read(): Promise<void> {
    const answers = new RelpAnswerReader((txnr) => this.#ok(txnr), (frame) => this.#frame(frame));
    try {
      while (!this.broken) {
        const n = await this.#conn.read(answers.room);
        if (n === null) {
          this.abort(new Error("the server closed the connection"));
          return;
        }
        answers.took(n);
        this.#dueSince = this.unanswered > 0 ? Date.now() : 0;
        this.#notify();
      }
    } catch (err) {
      this.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** A plain `200 OK` for `txnr`; `false` leaves it to the parser (not a message's answer, or broken). */
  #ok(txnr: number): boolean {
    if (this.broken || this.#head >= this.#kinds.length) return false;
    const kind = this.#kinds[this.#head] as number | RelpJob;
    if (typeof kind !== "object" || txnr !== this.#acked) return false;
    this.#answered();
    if (++kind.done === kind.n) this.#finish(kind);
    return true;
  }

  /** Moves past the oldest command sent, now answered. */
  #answered(): void {
    this.#head++;
    this.#acked = nextTxnr(this.#acked);
    if (this.#head > 4096 && this.#head * 2 > this.#kinds.length) {
      this.#kinds = this.#kinds.slice(this.#head);
      this.#head = 0;
    }
  }

  #frame(frame: RelpFrame): void {
    if (this.broken) return;
    if (frame.command === "rsp") {
      if (this.#head >= this.#kinds.length || this.#acked !== frame.txnr) {
        this.abort(new Error(`the server answered transaction ${frame.txnr}, which was not due`));
        return;
      }
      const kind = this.#kinds[this.#head] as number | RelpJob;
      this.#answered();
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
    const start = this.#txnr;
    let txnr = start;
    let count = 0;
    const payloads: string[] = [];
    // ASCII first: DATALEN is the string's length, one encode does the burst (cheaper, issue 26).
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
    let encoded = this.#encode(text);
    if (encoded.length !== text.length) {
      // Some message is not ASCII: DATALEN counts bytes, not UTF-16 units.
      text = "";
      txnr = start;
      for (const p of payloads) {
        text += `${txnr} syslog ${utf8Length(p)} ${p}\n`;
        txnr = nextTxnr(txnr);
      }
      encoded = this.#encode(text);
    }
    // Track what went out: every message is owned by its job.
    count = 0;
    while (this.#sending < end && count < most) {
      const job = this.#jobs[this.#sending] as RelpJob;
      const to = Math.min(job.n, job.sent + most - count);
      for (let k = job.sent; k < to; k++) this.#kinds.push(job);
      count += to - job.sent;
      job.sent = to;
      if (job.sent === job.n) this.#sending++;
      else break;
    }
    this.#txnr = txnr;
    if (this.#dueSince === 0) this.#dueSince = Date.now();
    this.#arm();
    return encoded.length > 0 ? this.#write(encoded) : Promise.resolve();
  }

  /**
   * `text` as UTF-8 in the session's burst buffer, grown (in 64 KiB steps) and reused:
   * bursts go out one at a time (the pump awaits each write), and a new buffer per burst
   * (~150 KB at a window of 4096) was garbage for the VM's collector (issue 26). Text that
   * is not ASCII and does not fit gets a buffer of its own.
   */
  #encode(text: string): Uint8Array {
    if (this.#burst.length < text.length) {
      this.#burst = new Uint8Array(Math.ceil(text.length / 65536) * 65536);
    }
    const { read, written } = _encoder.encodeInto(text, this.#burst);
    return read < text.length ? _encoder.encode(text) : this.#burst.subarray(0, written);
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
