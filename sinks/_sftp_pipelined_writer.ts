/**
 * The pipelined remote writer of the sftp-object sink: many WRITE requests
 * in flight on one remote file, up to a byte budget, with the contiguous
 * acknowledged length tracked for resuming.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { TokenBucket } from "../core/token_bucket.ts";
import type { SftpSession } from "../ssh/sftp.ts";

/**
 * Writes one remote file with many WRITE requests in flight (SFTP's
 * latency would otherwise bound the throughput), up to a byte budget, and
 * tracks how far the file is written contiguously, for resuming.
 *
 * @example
 * ```ts ignore
 * const writer = new PipelinedWriter(sftp, handle, undefined, 2 << 20, (acked) => {});
 * await writer.write(bytes, 0);
 * await writer.flush();
 * ```
 */
export class PipelinedWriter {
  readonly #conn: SftpSession;
  readonly #handle: Buffer;
  readonly #bucket: TokenBucket | undefined;
  readonly #budget: number;
  readonly #onAcked: (contiguous: number) => void;
  #inflight = 0;
  #pending: Array<{ end: number; done: boolean }> = [];
  #error: unknown;
  #waiters: Array<() => void> = [];

  /**
   * @param conn The SFTP session.
   * @param handle The open remote file.
   * @param bucket The upload bandwidth limit.
   * @param budget Bytes in flight at most.
   * @param onAcked Called with the contiguous acknowledged length.
   */
  constructor(
    conn: SftpSession,
    handle: Buffer,
    bucket: TokenBucket | undefined,
    budget: number,
    onAcked: (contiguous: number) => void,
  ) {
    this.#conn = conn;
    this.#handle = handle;
    this.#bucket = bucket;
    this.#budget = budget;
    this.#onAcked = onAcked;
    this.#unwatch = conn.whenLost(() => {
      this.#error ??= new Error("connection lost during the upload");
      this.#inflight = 0;
      this.#wake();
    });
  }

  #unwatch: () => void;

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Sends `data` to `pos`; resolves once it is handed to ssh2 (which copies it). */
  async write(data: Uint8Array, pos: number): Promise<void> {
    const max = this.#conn.maxWrite;
    for (let off = 0; off < data.length; off += max) {
      const len = Math.min(max, data.length - off);
      if (this.#error) throw this.#error;
      while (this.#inflight > 0 && this.#inflight + len > this.#budget) await this.#wait();
      if (this.#error) throw this.#error;
      await this.#bucket?.take(len);
      if (this.#conn.closed) throw new Error("connection lost during the upload");
      const item = { end: pos + off + len, done: false };
      this.#pending.push(item);
      this.#inflight += len;
      const buf = Buffer.from(data.buffer, data.byteOffset + off, len);
      this.#conn.sftp.write(this.#handle, buf, 0, len, pos + off, (err) => {
        if (this.#error && this.#inflight === 0) return;
        this.#inflight -= len;
        if (err) this.#error ??= err;
        else {
          item.done = true;
          let acked = -1;
          while (this.#pending.length && (this.#pending[0] as { done: boolean }).done) {
            acked = (this.#pending.shift() as { end: number }).end;
          }
          if (acked >= 0) this.#onAcked(acked);
        }
        this.#wake();
      });
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Waits for every write to be acknowledged. */
  async flush(): Promise<void> {
    try {
      while (this.#inflight > 0 && !this.#error) await this.#wait();
      while (this.#inflight > 0) await this.#wait();
      if (this.#error) throw this.#error;
    } finally {
      this.#unwatch();
    }
  }
}
