/**
 * A scripted fake RELP server and the helpers of the RELP sink's tests
 * (relp_test, relp_resend_test): every frame the sink sends is seen, every
 * answer is the test's choice.
 *
 * @module
 */

import { waitFor as waitUntil } from "../_processes.ts";
import assert from "node:assert/strict";
import {
  ComponentStats,
  createEvent,
  createLogger,
  type LogEvent,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { RelpFrameParser } from "../../core/relp_frame.ts";
import type { RelpSinkOptions } from "../../sinks/relp.ts";

/** UTF-8 decoder. */
export const dec = new TextDecoder();
/** The fake server's answer to `open`: RELP version 0, `syslog` offered. */
export const OPEN_OK = "200 OK\nrelp_version=0\nrelp_software=fake\ncommands=syslog";

/** A frame the fake server received. */
export interface Frame {
  txnr: number;
  command: string;
  data: string;
}

/**
 * One connection to the fake server, driven by a test script.
 *
 * @example
 * ```ts ignore
 * const server = new FakeServer([async (s) => { await answerAll(s); }]);
 * ```
 */
export class FakeSession {
  readonly received: Frame[] = [];
  readonly #conn: Deno.Conn;
  readonly #parser = new RelpFrameParser();
  #queue: Frame[] = [];
  #ended = false;
  #wake: (() => void) | undefined;
  readonly reader: Promise<void>;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.reader = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const f of this.#parser.push(buffer.subarray(0, n))) {
          const frame = { txnr: f.txnr, command: f.command, data: dec.decode(f.data) };
          this.received.push(frame);
          this.#queue.push(frame);
        }
        this.#wake?.();
      }
    } catch {
      // closed
    }
    this.#ended = true;
    this.#wake?.();
  }

  /** The next frame, or `null` after `ms` without one or at the end of the connection. */
  async next(ms = 10_000): Promise<Frame | null> {
    if (this.#queue.length === 0 && !this.#ended) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
    return this.#queue.shift() ?? null;
  }

  async answer(txnr: number, data: string): Promise<void> {
    await this.#conn.write(encodeRelpFrame(txnr, "rsp", data));
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.#conn.write(bytes);
  }

  /** Reads the open command and accepts it. */
  async handshake(): Promise<void> {
    const open = await this.next();
    assert.equal(open?.command, "open");
    assert.match(open?.data ?? "", /relp_version=0/);
    assert.match(open?.data ?? "", /commands=syslog/);
    await this.answer(open?.txnr ?? 0, OPEN_OK);
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * A RELP server whose n-th connection runs `scripts[n]` (the last one repeats).
 *
 * @example
 * ```ts ignore
 * const server = new FakeServer([answerAll]);
 * const sink = relpSink({ host: "127.0.0.1", port: server.port });
 * ```
 */
export class FakeServer {
  readonly port: number;
  readonly sessions: FakeSession[] = [];
  readonly #listener: Deno.TcpListener;
  readonly #scripts: Array<(s: FakeSession) => Promise<void>>;
  readonly #running: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  constructor(scripts: Array<(s: FakeSession) => Promise<void>>) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#scripts = scripts;
    this.#accepting = this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for (;;) {
        const conn = await this.#listener.accept();
        const session = new FakeSession(conn);
        const script = this.#scripts[Math.min(this.sessions.length, this.#scripts.length - 1)];
        this.sessions.push(session);
        this.#running.push((async () => {
          try {
            await script?.(session);
          } finally {
            session.close();
            await session.reader;
          }
        })());
      }
    } catch {
      // listener closed
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const s of this.sessions) s.close();
    await Promise.all(this.#running);
  }
}

/**
 * Answers every syslog command with 200 until the client closes.
 *
 * @example
 * ```ts ignore
 * new FakeServer([answerAll]);
 * ```
 */
export async function answerAll(s: FakeSession): Promise<void> {
  await s.handshake();
  for (;;) {
    const f = await s.next();
    if (f === null) return;
    await s.answer(f.txnr, f.command === "close" ? "" : "200 OK");
    if (f.command === "close") return;
  }
}

/**
 * A sink context, with the controller that aborts its signal.
 *
 * @example
 * ```ts ignore
 * const { ctx, stop } = sinkContext();
 * ```
 */
export function sinkContext(name = "relp"): { ctx: SinkContext; stop: AbortController } {
  const stop = new AbortController();
  return {
    stop,
    ctx: {
      name,
      stats: new ComponentStats("sink", name, "relp"),
      state: memoryState(),
      log: createLogger("silent"),
      signal: stop.signal,
    },
  };
}

/**
 * `n` events with ids `<prefix>:<i>` from host vm-1.
 *
 * @example
 * ```ts ignore
 * await sink.write(events(10), ctx);
 * ```
 */
export function events(n: number, prefix = "vm-1:alerts"): LogEvent[] {
  return Array.from(
    { length: n },
    (_, i) => createEvent(`message ${i}`, { id: `${prefix}:${i}`, host: "vm-1" }),
  );
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `test` every 5 ms; throws naming `what` after 10 s (tests/_processes.ts's
 * `waitFor`, in the argument order these tests use).
 *
 * @example
 * ```ts ignore
 * await waitFor(() => server.frames.length === 3, "three frames");
 * ```
 */
export async function waitFor(test: () => boolean, what: string): Promise<void> {
  await waitUntil(what, test, 10_000, 5);
}

/** Retry options that make a test's reconnects quick. */
export const fast: Partial<RelpSinkOptions> = { retryInitialMs: 10, retryMaxMs: 50 };
