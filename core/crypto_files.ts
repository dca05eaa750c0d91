/**
 * Whole files through the chunk format of `crypto_chunks.ts`: encrypted or
 * decrypted into a temporary file, synced and renamed, so the output is
 * complete or absent.
 *
 * @module
 */

import {
  ChunkDecryptor,
  ChunkEncryptor,
  DEFAULT_CHUNK_SIZE,
  HEADER_SIZE,
  TAG_SIZE,
} from "./crypto_chunks.ts";
import { readFull } from "./_read_full.ts";

async function _transform(
  input: string,
  output: string,
  work: (src: Deno.FsFile, dst: Deno.FsFile, size: number) => Promise<void>,
): Promise<number> {
  const src = await Deno.open(input, { read: true });
  const tmp = `${output}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const size = (await src.stat()).size;
    const dst = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
    try {
      await work(src, dst, size);
      await dst.sync();
    } finally {
      dst.close();
    }
    await Deno.rename(tmp, output);
    return (await Deno.stat(output)).size;
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  } finally {
    src.close();
  }
}

async function _writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let n = 0;
  while (n < data.length) n += await file.write(data.subarray(n));
}

/**
 * Encrypts a whole file into the chunk format (written to a temporary file
 * and renamed, so `output` is complete or absent).
 *
 * @param input The plaintext file.
 * @param output Where the encrypted file goes.
 * @param master The master key.
 * @param chunkSize Plaintext bytes per chunk. @default {DEFAULT_CHUNK_SIZE}
 * @returns The encrypted file's size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectKey } from "./crypto_chunks.ts";
 * import { decryptFile, encryptFile } from "./crypto_files.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a`, "secret");
 * const key = await objectKey(new Uint8Array(32));
 * await encryptFile(`${dir}/a`, `${dir}/a.enc`, key);
 * await decryptFile(`${dir}/a.enc`, `${dir}/b`, key);
 * assert.ok(await Deno.readTextFile(`${dir}/b`) === "secret");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function encryptFile(
  input: string,
  output: string,
  master: CryptoKey,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): Promise<number> {
  return _transform(input, output, async (src, dst, size) => {
    const enc = await ChunkEncryptor.create(master, chunkSize);
    await _writeAll(dst, enc.header);
    const buf = new Uint8Array(chunkSize);
    const chunks = Math.max(1, Math.ceil(size / chunkSize));
    for (let i = 0; i < chunks; i++) {
      const want = i === chunks - 1 ? size - i * chunkSize : chunkSize;
      const got = await readFull(src, buf.subarray(0, want));
      if (got !== want) throw new Error(`crypto: "${input}" changed while it was encrypted`);
      await _writeAll(dst, await enc.encrypt(buf.subarray(0, want), i, i === chunks - 1));
    }
  });
}

/**
 * Decrypts a file made by the object sink or {@linkcode encryptFile}. The
 * output is written to a temporary file and renamed only once every chunk
 * authenticated, so a wrong key or a damaged file leaves no output.
 *
 * @param input The encrypted file.
 * @param output Where the plaintext goes.
 * @param master The master key.
 * @returns The plaintext's size.
 * @throws {Error} When the file is not in the format, is truncated or was altered, or the key is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectKey } from "./crypto_chunks.ts";
 * import { decryptFile, encryptFile } from "./crypto_files.ts";
 * const dir = await Deno.makeTempDir();
 * const key = await objectKey(crypto.getRandomValues(new Uint8Array(32)));
 * await Deno.writeTextFile(`${dir}/sample.bin`, "MZ");
 * await encryptFile(`${dir}/sample.bin`, `${dir}/sample.bin.enc`, key);
 * assert.ok(await decryptFile(`${dir}/sample.bin.enc`, `${dir}/restored.bin`, key) === 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function decryptFile(input: string, output: string, master: CryptoKey): Promise<number> {
  return _transform(input, output, async (src, dst, size) => {
    const header = new Uint8Array(HEADER_SIZE);
    if (await readFull(src, header) !== HEADER_SIZE) {
      throw new Error(`crypto: "${input}" is too short to be an encrypted object`);
    }
    const dec = await ChunkDecryptor.open(master, header);
    const sealedSize = dec.chunkSize + TAG_SIZE;
    const rest = size - HEADER_SIZE;
    const full = Math.floor(rest / sealedSize);
    const tail = rest - full * sealedSize;
    if ((tail === 0 && full === 0) || (tail > 0 && tail < TAG_SIZE)) {
      throw new Error(`crypto: "${input}" is truncated`);
    }
    const chunks = tail === 0 ? full : full + 1;
    const buf = new Uint8Array(sealedSize);
    for (let i = 0; i < chunks; i++) {
      const want = i === chunks - 1 && tail > 0 ? tail : sealedSize;
      if (await readFull(src, buf.subarray(0, want)) !== want) {
        throw new Error(`crypto: "${input}" changed while it was decrypted`);
      }
      await _writeAll(dst, await dec.decrypt(buf.subarray(0, want), i, i === chunks - 1));
    }
  });
}
