/**
 * A hand-driven RELP client and the helpers of the RELP source's tests
 * (relp_test, relp_protocol_test).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createLogger, definePipeline, Engine, type Sink } from "../../mod.ts";
import { encodeRelpFrame } from "../../core/relp_encode.ts";
import { type RelpFrame, RelpFrameParser } from "../../core/relp_frame.ts";
import { relpSource, type RelpSourceOptions } from "../../sources/relp.ts";

/** UTF-8 encoder. */
export const enc = new TextEncoder();
/** UTF-8 decoder. */
export const dec = new TextDecoder();
/** The offers a client sends with `open`, as librelp's do. */
export const OFFERS = "relp_version=0\nrelp_software=test\ncommands=syslog";

/**
 * A hand-driven RELP client that reads every frame the server sends.
 *
 * @example
 * ```ts ignore
 * const c = await RawClient.connect(port);
 * ```
 */
export class RawClient {
  readonly frames: Array<{ txnr: number; command: string; data: string }> = [];
  ended = false;
  readonly #conn: Deno.Conn;
  readonly #parser = new RelpFrameParser();
  readonly #reader: Promise<void>;
  #wake: (() => void) | undefined;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reader = this.#read();
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        for (const f of this.#parser.push(buffer.subarray(0, n)) as RelpFrame[]) {
          this.frames.push({ txnr: f.txnr, command: f.command, data: dec.decode(f.data) });
        }
        this.#wake?.();
      }
    } catch {
      // closed by the test or reset by the server
    }
    this.ended = true;
    this.#wake?.();
  }

  send(text: string | Uint8Array): Promise<number> {
    return this.#conn.write(typeof text === "string" ? enc.encode(text) : text);
  }

  frame(txnr: number, command: string, data?: string | Uint8Array): Promise<number> {
    return this.send(encodeRelpFrame(txnr, command, data));
  }

  /** Waits until `test` holds (or the connection ended), at most 10 s. */
  async until(test: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!test()) {
      if (this.ended) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, Math.min(left, 100));
      });
      clearTimeout(timer);
    }
  }

  /** Waits for `n` frames in all. */
  async waitFrames(n: number): Promise<void> {
    await this.until(() => this.frames.length >= n, `${n} frames`);
    assert.ok(this.frames.length >= n, `only ${this.frames.length} of ${n} frames arrived`);
  }

  async waitEnd(): Promise<void> {
    await this.until(() => this.ended, "the server to close");
    assert.ok(this.ended, "the server did not close the connection");
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#reader;
  }
}

/**
 * A RELP source on a free port in an engine writing to `sink`.
 *
 * @example
 * ```ts ignore
 * const { source, engine } = await start(collectSink());
 * ```
 */
export async function start(
  sink: Sink,
  options: Partial<RelpSourceOptions> = {},
  log: string[] | undefined = undefined,
) {
  const source = relpSource({ port: 0, host: "127.0.0.1", ...options });
  const logger = log ? createLogger("warn", (line) => log.push(line)) : createLogger("silent");
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger,
  });
  await engine.start();
  return { source, engine, port: source.addr?.port as number };
}

export { sleep, waitFor } from "../sinks/_relp_fake.ts";
