/**
 * Transfers of the sftp-object sink: one upload to a short temporary name
 * with many writes in flight, streaming SHA-256 (and encryption), the size
 * and read-back checks, the rename into place, and resumption after a
 * broken connection.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { createHash, type Hash } from "node:crypto";
import {
  ChunkEncryptor,
  DEFAULT_CHUNK_SIZE,
  encryptedSize,
  HEADER_SIZE,
  TAG_SIZE,
} from "../core/crypto_chunks.ts";
import type { ComponentStats } from "../core/stats.ts";
import type { TokenBucket } from "../core/token_bucket.ts";
import type { ObjectActivity } from "../sources/objects.ts";
import { remoteDirname, type SftpSession } from "../ssh/sftp.ts";
import { RemoteHasher } from "./_sftp_remote_hash.ts";
import {
  LocalError,
  Mismatch,
  readbackHandle,
  readbackHash,
  readFullSync,
} from "./_sftp_verify.ts";
import { readFull } from "../core/_read_full.ts";
import { partialPathFor } from "./_sftp_partial_name.ts";
import { PipelinedWriter } from "./_sftp_pipelined_writer.ts";

export { isPartialName, partialPathFor } from "./_sftp_partial_name.ts";
export { PipelinedWriter } from "./_sftp_pipelined_writer.ts";

/**
 * How uploads are verified, resolved: `"auto"` hashes on the server when it
 * can (files of {@linkcode REMOTE_HASH_MIN} bytes or more) and reads back
 * otherwise; `"remote-hash"` only hashes on the server; `"read-back"` reads
 * every upload back; `"manifest"` checks the size only.
 */
export type VerifyMode = "auto" | "remote-hash" | "read-back" | "manifest";

/**
 * Below this size `"auto"` reads back: one READ round trip costs less than
 * opening a channel and starting `sha256sum`. Above it, `"auto"` also weighs
 * what a command costs on the connection (measured on the first one: the
 * remote user's shell startup can take a second) against reading the file
 * back at {@linkcode READ_BACK_BYTES_PER_S}.
 */
export const REMOTE_HASH_MIN = 256 * 1024;

/** The read-back rate `"auto"` assumes when it weighs a command's cost (a loaded loopback sshd). */
export const READ_BACK_BYTES_PER_S = 40e6;

/**
 * Local reads up to this size are synchronous: for a small file the trip to
 * Deno's blocking thread pool and back costs more than the read.
 */
const SYNC_READ_MAX = 64 * 1024;

/** An upload that failed halfway, kept so a retry can resume. */
interface _Partial {
  abs: string;
  size: number;
  mtime: number;
  acked: number;
  encryptor: ChunkEncryptor | undefined;
}

/** One object to upload. */
export interface UploadJob {
  /** The local file. */
  abs: string;
  /** Its path relative to the scanned directory. */
  path: string;
  /** The remote path relative to the sink's root. */
  rel: string;
  /** The remote path as sent to the server. */
  remote: string;
}

/** What an upload stored. */
export interface UploadResult {
  /** SHA-256 of the plaintext. */
  sha256: string;
  /** SHA-256 of the stored bytes. */
  stored: string;
  /** Stored size. */
  storedSize: number;
  /** Bytes sent in this attempt. */
  sent: number;
}

/** What an {@linkcode Uploader} needs from its sink. */
export interface UploaderOptions {
  /** How uploads are verified. */
  verify: VerifyMode;
  /** Upload bandwidth limit. */
  up: TokenBucket | undefined;
  /** Download bandwidth limit (read-back). */
  down: TokenBucket | undefined;
  /** The encryption key, once the sink is open. */
  encryptionKey: () => CryptoKey | undefined;
  /** The sink's stats, once open. */
  stats: () => ComponentStats | undefined;
  /** Reports activity. */
  emit: (activity: ObjectActivity) => void;
}

/**
 * Uploads objects and remembers half-done uploads so that a retry resumes.
 *
 * @example
 * ```ts
 * import { Uploader } from "./_sftp_transfer.ts";
 * const uploader = new Uploader({
 *   verify: "auto", up: undefined, down: undefined,
 *   encryptionKey: () => undefined, stats: () => undefined, emit: () => {},
 * });
 * ```
 */
export class Uploader {
  readonly #o: UploaderOptions;
  readonly #partials = new Map<string, _Partial>();
  readonly #hasher: RemoteHasher;

  /** @param options Verification, limits, key, stats, activity. */
  constructor(options: UploaderOptions) {
    this.#o = options;
    this.#hasher = new RemoteHasher(2, () => options.stats()?.add("remote_hash_commands"));
  }

  /**
   * Forgets a half-done upload of `remote` (its local file changed or vanished).
   *
   * @param remote The target path.
   */
  forget(remote: string): void {
    this.#partials.delete(partialPathFor(remote));
  }

  /**
   * The SHA-256 of the first `size` bytes of a remote file, as the sink's
   * `verify` mode asks: computed by the server (`sha256sum`) or read back.
   * Counts `verify_remote_hash` or `verify_read_back`.
   *
   * @param c The SFTP session.
   * @param path The remote path.
   * @param size Bytes to hash (the file's size).
   * @param handle The file's open handle, when it is open (read-back uses it).
   * @returns SHA-256, hex.
   * @throws {Error} With `verify: "remote-hash"`, when the server cannot hash.
   */
  async remoteSha256(
    c: SftpSession,
    path: string,
    size: number,
    handle?: Buffer,
  ): Promise<string> {
    const mode = this.#o.verify;
    const stats = this.#o.stats();
    if (this.#remoteHashFirst(c, size)) {
      const r = await this.#hasher.hash(c.connection, path, size);
      if (r.ok) {
        stats?.add("verify_remote_hash");
        return r.sha256;
      }
      if (mode === "remote-hash") {
        throw new Error(
          `remote "${path}" cannot be verified with "verify": "remote-hash": ${r.reason}`,
        );
      }
    }
    stats?.add("verify_read_back");
    return handle
      ? await readbackHandle(c, handle, path, size, this.#o.down)
      : await readbackHash(c, path, size, this.#o.down);
  }

  /** Whether {@linkcode remoteSha256} asks the server before reading back. */
  #remoteHashFirst(c: SftpSession, size: number): boolean {
    const mode = this.#o.verify;
    if (mode === "remote-hash") return true;
    if (mode !== "auto") return false;
    const latencyMs = this.#hasher.latencyMs(c.connection) ?? 0;
    return size >= Math.max(REMOTE_HASH_MIN, (latencyMs / 1000) * READ_BACK_BYTES_PER_S);
  }

  /**
   * Uploads `size` bytes of `file` to `job.remote`, verified, then renamed into place.
   *
   * @param c The SFTP session.
   * @param job The object.
   * @param file The open local file, at its start (it is read from where it is).
   * @param size Its size when opened.
   * @param mtime Its mtime when opened (ms).
   * @param unchanged Whether the local file is still as it was read; asked before the rename.
   * @param onSent Called once the bytes are on the server, closed, when what is left (the
   *   server hashing them, the rename) needs no more of this process than a wait: the caller
   *   may start the next upload meanwhile.
   * @returns Hashes and sizes.
   * @throws {LocalError} When the local file shrank.
   * @throws {Mismatch} When the stored bytes are not what was sent.
   */
  async upload(
    c: SftpSession,
    job: UploadJob,
    file: Deno.FsFile,
    size: number,
    mtime: number,
    unchanged: () => Promise<boolean> = () => Promise.resolve(true),
    onSent?: () => void,
  ): Promise<UploadResult> {
    const encryptionKey = this.#o.encryptionKey();
    const partialPath = partialPathFor(job.remote);
    await c.mkdirp(remoteDirname(job.remote));
    const chunkSize = DEFAULT_CHUNK_SIZE;
    const storedSize = encryptionKey ? encryptedSize(size, chunkSize) : size;
    let resumeAt = 0;
    let encryptor: ChunkEncryptor | undefined;
    const previous = this.#partials.get(partialPath);
    if (
      previous && previous.abs === job.abs && previous.size === size &&
      previous.mtime === mtime
    ) {
      const st = await c.stat(partialPath);
      if (st) resumeAt = Math.min(st.size, previous.acked, storedSize);
      encryptor = previous.encryptor;
      if (encryptor) {
        // Resume on a whole chunk: the header and chunks before it are already there.
        const sealed = chunkSize + TAG_SIZE;
        resumeAt = resumeAt < HEADER_SIZE
          ? 0
          : HEADER_SIZE + Math.floor((resumeAt - HEADER_SIZE) / sealed) * sealed;
      }
    }
    if (encryptionKey && (!encryptor || resumeAt === 0)) {
      encryptor = await ChunkEncryptor.create(encryptionKey, chunkSize);
    }
    const entry: _Partial = { abs: job.abs, size, mtime, acked: resumeAt, encryptor };
    this.#partials.set(partialPath, entry);
    if (resumeAt > 0) this.#o.stats()?.add("resumed_bytes", resumeAt);
    this.#o.emit({ type: "start", path: job.path, remote: job.rel, size: storedSize, resumeAt });
    // The server's side of the hash command starts while the bytes go.
    if (this.#o.verify !== "manifest" && this.#remoteHashFirst(c, storedSize)) {
      this.#hasher.prepare(c.connection, storedSize);
    }
    const handle = await c.open(partialPath, resumeAt > 0 ? "r+" : "w+");
    let closed = false;
    try {
      let lastProgress = 0;
      const writer = new PipelinedWriter(c, handle, this.#o.up, 2 * 1024 * 1024, (acked) => {
        entry.acked = acked;
        if (acked - lastProgress >= 1024 * 1024 || acked === storedSize) {
          lastProgress = acked;
          this.#o.emit({ type: "progress", remote: job.rel, sent: acked, size: storedSize });
        }
      });
      const plainHash = createHash("sha256");
      const storedHash: Hash = encryptor ? createHash("sha256") : plainHash;
      let pos = 0;
      const send = async (data: Uint8Array) => {
        if (encryptor) storedHash.update(data);
        const end = pos + data.length;
        if (end > resumeAt) {
          const skip = Math.max(0, resumeAt - pos);
          await writer.write(data.subarray(skip), pos + skip);
        }
        pos = end;
      };
      if (encryptor) await send(encryptor.header);
      const step = encryptor ? chunkSize : 1024 * 1024;
      // No larger than the file: a 1 MiB buffer zeroed for each 10 KiB file was a third of
      // the CPU of a small upload.
      const buf = new Uint8Array(Math.max(1, Math.min(step, size)));
      const chunks = encryptor ? Math.max(1, Math.ceil(size / chunkSize)) : 0;
      let index = 0;
      for (let off = 0; off < size || (encryptor && index < chunks);) {
        const want = Math.min(step, size - off);
        const n = want <= SYNC_READ_MAX
          ? readFullSync(file, buf.subarray(0, want))
          : await readFull(file, buf.subarray(0, want));
        if (n !== want) throw new LocalError("the file shrank while it was uploaded");
        const plain = buf.subarray(0, n);
        plainHash.update(plain);
        if (encryptor) {
          await send(await encryptor.encrypt(plain, index, index === chunks - 1));
          index++;
        } else await send(plain);
        off += n;
      }
      const sha256 = plainHash.digest("hex");
      const stored = encryptor ? storedHash.digest("hex") : sha256;
      // The requests after the last WRITE go out at once, not one round trip each: the
      // server answers a channel's requests in order. A file that fits one READ is read
      // back in the same round trip (after the fsync) and then closed in it too.
      const verifying = this.#o.verify !== "manifest";
      const hashFirst = verifying && this.#remoteHashFirst(c, storedSize);
      const readAlong = verifying && storedSize > 0 && storedSize <= c.maxRead &&
        !this.#o.down && !hashFirst;
      const synced = c.fsync(handle);
      const sized = c.fstat(handle);
      const timed = c.futimes(handle, mtime).catch(() => {});
      const along = readAlong ? c.read(handle, storedSize, 0) : undefined;
      // Read back along, hashed by the server, or not read back at all: nothing more needs
      // the handle.
      const closing = readAlong || !verifying || hashFirst ? c.close(handle) : undefined;
      if (closing) closed = true;
      for (const p of [synced, sized, along, closing]) p?.catch(() => {});
      // The local file was read whole: whether it changed meanwhile is asked now, before the
      // rename, while the server works.
      const settled = unchanged();
      settled.catch(() => {});
      await writer.flush();
      await synced;
      await timed;
      const st = await sized;
      if (st.size !== storedSize) {
        throw new Mismatch(
          `remote "${partialPath}" has ${st.size} bytes after the upload, expected ${storedSize}`,
        );
      }
      const early = along ? await along : undefined;
      if (closing) await closing;
      if (hashFirst) onSent?.();
      if (verifying) {
        let back: string;
        if (early && early.length === storedSize) {
          this.#o.stats()?.add("verify_read_back");
          back = createHash("sha256").update(early).digest("hex");
        } else {
          // A short READ (a server with a lower limit): read back by path once closed.
          back = await this.remoteSha256(c, partialPath, storedSize, closed ? undefined : handle);
        }
        if (back !== stored) {
          this.#o.stats()?.add("verify_failures");
          throw new Mismatch(
            `remote "${partialPath}" reads back with SHA-256 ${back}, expected ${stored}; removed it and will upload again`,
          );
        }
      }
      // A file still being written is never put in place half-written, in any mode.
      if (!(await settled)) {
        throw new LocalError(
          "the file changed while it was uploaded (still being written?); it is sent once it has settled",
        );
      }
      if (!closed) {
        closed = true;
        await c.close(handle);
      }
      await c.rename(partialPath, job.remote);
      this.#partials.delete(partialPath);
      return { sha256, stored, storedSize, sent: storedSize - resumeAt };
    } catch (err) {
      if (err instanceof Mismatch || err instanceof LocalError) {
        // Never resume onto bytes that proved wrong, nor keep half of a file that changed.
        this.#partials.delete(partialPath);
        if (!closed) await c.close(handle).catch(() => {});
        closed = true;
        await c.unlink(partialPath).catch(() => {});
      }
      throw err;
    } finally {
      if (!closed) await c.close(handle).catch(() => {});
    }
  }
}
