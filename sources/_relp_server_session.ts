/**
 * The RELP source's state of one connection ({@linkcode RelpServerSession}):
 * what the server owes the client, in order.
 *
 * @module
 */

import type { ConnectionSlot } from "../core/connection_table.ts";
import type { NetStream } from "../core/net_stream.ts";
import { RelpFrameParser } from "../core/relp_frame.ts";
import { relpOksLength, writeRelpOks } from "../core/relp_acks.ts";

const _encoder = new TextEncoder();

/** Responses of one connection, answered strictly in the order the commands came. */
export interface RelpAnswer {
  /** The `rsp` frame, ready to write; `""` for the `200 OK` of {@linkcode RelpAnswer.count} messages. */
  text: string;
  /** The first message's transaction number (numbers of one run follow each other). */
  first: number;
  /** How many messages the run answers. */
  count: number;
  /** Ready to be written (for messages: acknowledged by the pipeline). */
  done: boolean;
}

/**
 * One RELP session of the server: its connection and frame parser, the
 * transaction number it expects, and its answers, written strictly in the
 * order the commands came and only once ready.
 *
 * @example
 * ```ts ignore
 * import { RelpServerSession } from "./_relp_server_session.ts";
 * const session = new RelpServerSession(stream, 64 * 1024);
 * session.answer(1, "200 OK");
 * session.flush();
 * ```
 */
export class RelpServerSession {
  readonly stream: NetStream;
  readonly parser: RelpFrameParser;
  /** The transaction number the next command must carry. */
  expect = 1;
  opened = false;
  /** No further commands are taken (close, protocol error, stop). */
  closing = false;
  /** The stream is gone: nothing more is written. */
  dead = false;
  /** Messages emitted and not acknowledged yet. */
  inflight = 0;
  answers: RelpAnswer[] = [];
  head = 0;
  writing: Promise<void> = Promise.resolve();
  ending: Promise<void> | undefined;
  slot: ConnectionSlot | undefined;
  #waiters: Array<() => void> = [];
  #flushing = false;

  constructor(stream: NetStream, maxDataBytes: number) {
    this.stream = stream;
    this.parser = new RelpFrameParser({ maxDataBytes });
  }

  /** Answers not written yet. */
  get unanswered(): number {
    return this.answers.length - this.head;
  }

  /** Resolves at the next acknowledgement, close or stop (or after `ms`). */
  changed(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.#waiters.push(done);
    });
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /**
   * {@linkcode RelpServerSession.flush} once the current task is done: the
   * pipeline acknowledges the batches of several reads together, and their
   * answers then go out in one write instead of one each.
   */
  flushSoon(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      this.#flushing = false;
      this.flush();
    });
  }

  /** Writes every answer that is ready, in order, in one write. */
  flush(): void {
    const from = this.head;
    let bytes = 0;
    while (this.head < this.answers.length) {
      const answer = this.answers[this.head] as RelpAnswer;
      if (!answer.done) break;
      bytes += answer.text === ""
        ? relpOksLength(answer.first, answer.count)
        : answer.text.length * 3;
      this.head++;
    }
    if (bytes > 0 && !this.dead) {
      const out = new Uint8Array(bytes);
      let at = 0;
      for (let i = from; i < this.head; i++) {
        const answer = this.answers[i] as RelpAnswer;
        if (answer.text === "") at = writeRelpOks(out, at, answer.first, answer.count);
        else at += _encoder.encodeInto(answer.text, out.subarray(at)).written;
      }
      this.send(out.subarray(0, at));
    }
    if (this.head > 1024 && this.head * 2 > this.answers.length) {
      this.answers = this.answers.slice(this.head);
      this.head = 0;
    }
    this.notify();
  }

  /** Writes `bytes` after what is being written. */
  send(bytes: Uint8Array): void {
    this.writing = this.writing.then(() => this.dead ? undefined : this.stream.write(bytes))
      .catch(() => {
        this.dead = true;
        this.closing = true;
        this.stream.close();
      });
  }

  /** Queues an answer that is ready now (to a command other than `syslog`). */
  answer(txnr: number, data: string): void {
    const text = data === "" ? `${txnr} rsp 0\n` : `${txnr} rsp ${data.length} ${data}\n`;
    this.answers.push({ text, first: txnr, count: 0, done: true });
  }
}
