/**
 * Reading a file until a buffer is full, shared by the object encryption
 * (core/crypto_files.ts) and the sftp-object sink's transfers.
 *
 * @module
 */

/**
 * Reads until `buf` is full or the file ends.
 *
 * @param file The open file.
 * @param buf Where to read.
 * @returns Bytes read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readFull } from "./_read_full.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * using file = await Deno.open(path);
 * assert.equal(await readFull(file, new Uint8Array(8)), 3);
 * await Deno.remove(path);
 * ```
 */
export async function readFull(file: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}
