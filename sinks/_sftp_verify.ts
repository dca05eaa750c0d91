/**
 * Verification for the sftp-object sink: hashing local files and reading
 * remote ones back, and the errors that say whose fault a failure is.
 *
 * @module
 */

import { readFull } from "../core/_read_full.ts";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { TokenBucket } from "../core/token_bucket.ts";
import type { SftpSession } from "../ssh/sftp.ts";

/**
 * A failure of the local file, not of the connection: retrying the batch will not help.
 *
 * @example
 * ```ts
 * import { LocalError } from "./_sftp_verify.ts";
 * console.assert(new LocalError("shrank") instanceof Error);
 * ```
 */
export class LocalError extends Error {}

/**
 * Stored bytes that are not what was sent: the partial file is removed, not resumed.
 *
 * @example
 * ```ts
 * import { Mismatch } from "./_sftp_verify.ts";
 * console.assert(new Mismatch("differs") instanceof Error);
 * ```
 */
export class Mismatch extends Error {}

/**
 * Reads until `buf` is full or the file ends, synchronously: for small
 * reads of local files, where a trip to Deno's blocking thread pool costs
 * more than the read.
 *
 * @param file The open file.
 * @param buf Where to read.
 * @returns Bytes read.
 *
 * @example
 * ```ts ignore
 * const n = readFullSync(file, new Uint8Array(1024));
 * ```
 */
export function readFullSync(file: Deno.FsFile, buf: Uint8Array): number {
  let n = 0;
  while (n < buf.length) {
    const got = file.readSync(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}

/**
 * Hashes `size` bytes of an open remote file with many READs in flight.
 *
 * @param c The SFTP session.
 * @param handle The open file.
 * @param path Its path, for messages.
 * @param size Bytes to read.
 * @param bucket The download bandwidth limit.
 * @returns SHA-256, hex.
 *
 * @example
 * ```ts ignore
 * const sha256 = await readbackHandle(sftp, handle, "a.bin", 5, undefined);
 * ```
 */
export async function readbackHandle(
  c: SftpSession,
  handle: Buffer,
  path: string,
  size: number,
  bucket: TokenBucket | undefined,
): Promise<string> {
  const hash = createHash("sha256");
  const step = c.maxRead;
  const depth = Math.max(2, Math.min(64, Math.floor((2 * 1024 * 1024) / step)));
  type Item = { pos: number; len: number; buf: Buffer; data: Promise<Buffer> };
  const queue: Item[] = [];
  // Buffers are reused: the hash consumes each before its next read is issued.
  const pool: Buffer[] = [];
  let next = 0;
  const issue = async () => {
    while (queue.length < depth && next < size) {
      const len = Math.min(step, size - next);
      await bucket?.take(len);
      const buf = pool.pop() ?? Buffer.allocUnsafe(step);
      const data = c.read(handle, len, next, buf);
      data.catch(() => {});
      queue.push({ pos: next, len, buf, data });
      next += len;
    }
  };
  await issue();
  while (queue.length) {
    const item = queue.shift() as Item;
    let data = await item.data;
    hash.update(data);
    // A short read mid-file: fetch the rest before going on.
    let got = data.length;
    while (got < item.len) {
      data = await c.read(handle, item.len - got, item.pos + got, item.buf);
      if (data.length === 0) throw new Error(`remote "${path}" is shorter than ${size} bytes`);
      hash.update(data);
      got += data.length;
    }
    pool.push(item.buf);
    await issue();
  }
  return hash.digest("hex");
}

/**
 * Opens a remote file and hashes its first `size` bytes.
 *
 * @param c The SFTP session.
 * @param path The remote path.
 * @param size Bytes to read.
 * @param bucket The download bandwidth limit.
 * @returns SHA-256, hex.
 *
 * @example
 * ```ts ignore
 * const sha256 = await readbackHash(sftp, "samples/vm1/a.bin", 5, undefined);
 * ```
 */
export async function readbackHash(
  c: SftpSession,
  path: string,
  size: number,
  bucket: TokenBucket | undefined,
): Promise<string> {
  const handle = await c.open(path, "r");
  try {
    return await readbackHandle(c, handle, path, size, bucket);
  } finally {
    await c.close(handle).catch(() => {});
  }
}

/**
 * Hashes the first `size` bytes of a local file.
 *
 * @param file The open file (its position moves).
 * @param size Bytes to read.
 * @returns SHA-256, hex.
 * @throws {LocalError} When the file is shorter.
 *
 * @example
 * ```ts ignore
 * const sha256 = await hashLocal(await Deno.open("a.bin"), 5);
 * ```
 */
export async function hashLocal(file: Deno.FsFile, size: number): Promise<string> {
  const hash = createHash("sha256");
  const buf = new Uint8Array(1024 * 1024);
  await file.seek(0, Deno.SeekMode.Start);
  let left = size;
  while (left > 0) {
    const n = await readFull(file, buf.subarray(0, Math.min(buf.length, left)));
    if (n === 0) throw new LocalError("the file shrank while it was read");
    hash.update(buf.subarray(0, n));
    left -= n;
  }
  return hash.digest("hex");
}
