/**
 * Encryption at rest for stored objects: AES-256-GCM (WebCrypto) in chunks,
 * so files of any size stream through a fixed buffer, and a chunk can be
 * checked on its own.
 *
 * Format (all integers big-endian):
 *
 * ```
 * header  "sluice\0\x01" (8)  chunk size u32 (4)  salt (32)      = 44 bytes
 * chunk i AES-GCM(key, iv_i, plaintext_i, aad = header) = ciphertext ‖ tag (16)
 * ```
 *
 * The file key is HKDF-SHA256(master key, salt, "sluice object v1"), so no
 * two files share a key even with one master key. `iv_i` is the chunk index
 * as u64 followed by three zero bytes and a last-chunk flag, which makes a
 * truncated, reordered or extended file fail to decrypt. Every chunk holds
 * `chunk size` bytes of plaintext except the last one (0 to `chunk size`);
 * an empty file is one empty last chunk.
 *
 * @module
 */

/** Bytes before the first chunk. */
export const HEADER_SIZE = 44;
/** Bytes of the GCM tag each chunk carries. */
export const TAG_SIZE = 16;
/** Plaintext bytes per chunk unless told otherwise. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

const _MAGIC = new Uint8Array([0x73, 0x6c, 0x75, 0x69, 0x63, 0x65, 0x00, 0x01]);
const _INFO = new TextEncoder().encode("sluice object v1");

/**
 * Reads a master key file: 32 raw bytes, or 64 hex digits, or the base64 of
 * 32 bytes (text files may end in a newline). Make one with
 * `head -c 32 /dev/urandom > object.key`.
 *
 * @param path The key file.
 * @returns The master key, ready for {@linkcode ChunkEncryptor.create}.
 * @throws {RangeError} When the file holds no 32-byte key.
 *
 * @example
 * ```ts
 * import { readObjectKey } from "./crypto_chunks.ts";
 * const file = await Deno.makeTempFile();
 * await Deno.writeFile(file, crypto.getRandomValues(new Uint8Array(32)));
 * const key = await readObjectKey(file);
 * await Deno.remove(file);
 * ```
 */
export async function readObjectKey(path: string): Promise<CryptoKey> {
  const raw = await Deno.readFile(path);
  return await objectKey(_decodeKey(raw, path));
}

function _decodeKey(raw: Uint8Array, path: string): Uint8Array {
  if (raw.length === 32) return raw;
  const text = new TextDecoder().decode(raw).trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
    return out;
  }
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text)) {
    const bin = atob(text.length === 43 ? text + "=" : text);
    if (bin.length === 32) return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  throw new RangeError(
    `crypto: key file "${path}" must hold a 32-byte key (32 raw bytes, 64 hex digits or base64), got ${raw.length} bytes`,
  );
}

/**
 * Turns 32 key bytes into a master key.
 *
 * @param bytes Exactly 32 bytes.
 * @returns The master key.
 * @throws {RangeError} When the key is not 32 bytes.
 *
 * @example
 * ```ts
 * import { objectKey } from "./crypto_chunks.ts";
 * const key = await objectKey(new Uint8Array(32));
 * ```
 */
export async function objectKey(bytes: Uint8Array): Promise<CryptoKey> {
  if (bytes.length !== 32) {
    throw new RangeError(`crypto: a key must be 32 bytes, got ${bytes.length}`);
  }
  return await crypto.subtle.importKey("raw", bytes as Uint8Array<ArrayBuffer>, "HKDF", false, [
    "deriveKey",
  ]);
}

async function _fileKey(master: CryptoKey, salt: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, info: _INFO },
    master,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

function _iv(index: number, last: boolean): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(0, BigInt(index));
  iv[11] = last ? 1 : 0;
  return iv;
}

/**
 * The stored size of a plaintext of `size` bytes.
 *
 * @param size Plaintext bytes.
 * @param chunkSize Plaintext bytes per chunk. @default {DEFAULT_CHUNK_SIZE}
 * @returns Header, ciphertext and tags together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encryptedSize } from "./crypto_chunks.ts";
 * assert.ok(encryptedSize(0) === 44 + 16);
 * ```
 */
export function encryptedSize(size: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return HEADER_SIZE + size + Math.max(1, Math.ceil(size / chunkSize)) * TAG_SIZE;
}

/**
 * Encrypts one file's chunks. Make one per file with
 * {@linkcode ChunkEncryptor.create}, write its `header`, then each chunk's
 * result in order; chunk `i` must hold `chunkSize` bytes unless it is the last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChunkEncryptor, objectKey } from "./crypto_chunks.ts";
 * const enc = await ChunkEncryptor.create(await objectKey(new Uint8Array(32)));
 * const sealed = await enc.encrypt(new TextEncoder().encode("hi"), 0, true);
 * assert.ok(sealed.length === 2 + 16);
 * ```
 */
export class ChunkEncryptor {
  /** The file's header, written before the first chunk. */
  readonly header: Uint8Array;
  /** Plaintext bytes per chunk. */
  readonly chunkSize: number;
  readonly #key: CryptoKey;

  private constructor(header: Uint8Array, chunkSize: number, key: CryptoKey) {
    this.header = header;
    this.chunkSize = chunkSize;
    this.#key = key;
  }

  /**
   * Starts a new file with a fresh random salt (so a fresh file key).
   *
   * @param master The master key.
   * @param chunkSize Plaintext bytes per chunk. @default {DEFAULT_CHUNK_SIZE}
   * @returns The encryptor.
   */
  static async create(
    master: CryptoKey,
    chunkSize: number = DEFAULT_CHUNK_SIZE,
  ): Promise<ChunkEncryptor> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 2 ** 30) {
      throw new RangeError(`crypto: "chunkSize" must be 1 B – 1 GiB, got ${chunkSize}`);
    }
    const header = new Uint8Array(HEADER_SIZE);
    header.set(_MAGIC, 0);
    new DataView(header.buffer).setUint32(8, chunkSize);
    crypto.getRandomValues(header.subarray(12, 44));
    return new ChunkEncryptor(header, chunkSize, await _fileKey(master, header.subarray(12, 44)));
  }

  /**
   * Seals one chunk.
   *
   * @param plain The chunk's plaintext.
   * @param index The chunk's position, from 0.
   * @param last Whether this is the file's last chunk.
   * @returns Ciphertext followed by the 16-byte tag.
   */
  async encrypt(plain: Uint8Array, index: number, last: boolean): Promise<Uint8Array> {
    const out = await crypto.subtle.encrypt(
      {
        name: "AES-GCM",
        iv: _iv(index, last),
        additionalData: this.header as Uint8Array<ArrayBuffer>,
      },
      this.#key,
      plain as Uint8Array<ArrayBuffer>,
    );
    return new Uint8Array(out);
  }
}

/**
 * Decrypts one file's chunks, given its header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChunkDecryptor, ChunkEncryptor, objectKey } from "./crypto_chunks.ts";
 * const key = await objectKey(new Uint8Array(32));
 * const enc = await ChunkEncryptor.create(key);
 * const sealed = await enc.encrypt(new Uint8Array([1, 2]), 0, true);
 * const dec = await ChunkDecryptor.open(key, enc.header);
 * assert.ok((await dec.decrypt(sealed, 0, true)).length === 2);
 * ```
 */
export class ChunkDecryptor {
  /** Plaintext bytes per chunk. */
  readonly chunkSize: number;
  readonly #header: Uint8Array;
  readonly #key: CryptoKey;

  private constructor(header: Uint8Array, chunkSize: number, key: CryptoKey) {
    this.#header = header;
    this.chunkSize = chunkSize;
    this.#key = key;
  }

  /**
   * Reads a header.
   *
   * @param master The master key.
   * @param header The file's first {@linkcode HEADER_SIZE} bytes.
   * @returns The decryptor.
   * @throws {Error} When the header is not a sluice header.
   */
  static async open(master: CryptoKey, header: Uint8Array): Promise<ChunkDecryptor> {
    if (header.length < HEADER_SIZE || !_MAGIC.every((b, i) => header[i] === b)) {
      throw new Error("crypto: not a sluice encrypted object (bad header)");
    }
    const copy = header.slice(0, HEADER_SIZE);
    const chunkSize = new DataView(copy.buffer).getUint32(8);
    if (chunkSize < 1) throw new Error("crypto: bad chunk size 0 in header");
    return new ChunkDecryptor(copy, chunkSize, await _fileKey(master, copy.subarray(12, 44)));
  }

  /**
   * Opens one chunk.
   *
   * @param sealed Ciphertext and tag.
   * @param index The chunk's position, from 0.
   * @param last Whether this is the file's last chunk.
   * @returns The plaintext.
   * @throws {Error} When the chunk was altered, moved, or the key is wrong.
   */
  async decrypt(sealed: Uint8Array, index: number, last: boolean): Promise<Uint8Array> {
    try {
      const out = await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: _iv(index, last),
          additionalData: this.#header as Uint8Array<ArrayBuffer>,
        },
        this.#key,
        sealed as Uint8Array<ArrayBuffer>,
      );
      return new Uint8Array(out);
    } catch {
      throw new Error(
        `crypto: chunk ${index} does not authenticate (wrong key, or the file was altered or truncated)`,
      );
    }
  }
}
