/**
 * The object channel's sink: stores the files an objects source emits on
 * the central over SFTP, stricter than `rclone move`: a pinned host key,
 * uploads to `<name>.partial` then renamed, the remote size and SHA-256
 * checked before a source file may be deleted, a per-host manifest for
 * dedup, a shared bandwidth limit, resumable retries and optional
 * encryption at rest.
 *
 * Import it from its own entry (`sinks/sftp-object`): it loads `npm:ssh2`
 * (~25 MB RSS), which the log agent should not pay for unless it moves objects.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac, type Hash } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import ssh2Default from "ssh2";
import type { LogEvent } from "../core/event.ts";
import { pathTemplate, safeJoin } from "../core/safe_path.ts";
import type { Template, TemplateFn } from "../core/template.ts";
import { parseByteRate, TokenBucket } from "../core/token_bucket.ts";
import {
  ChunkEncryptor,
  DEFAULT_CHUNK_SIZE,
  encryptedSize,
  HEADER_SIZE,
  readObjectKey,
  TAG_SIZE,
} from "../core/crypto_chunks.ts";
import type { SinkContext } from "../core/types.ts";
import {
  confirmObject,
  localObject,
  type ObjectActivity,
  type ObjectInfo,
  objectListing,
  type ObjectSink,
  rejectObject,
  type SyncedObject,
} from "../sources/objects.ts";
import type { Ssh2Client, Ssh2Module, Ssh2Sftp, Ssh2SftpError, Ssh2Stats } from "./_ssh2_types.ts";

const ssh2 = ssh2Default as unknown as Ssh2Module;
const _NO_SUCH_FILE = 2;

/** Options for {@linkcode sftpObjectSink}. */
export interface SftpObjectSinkOptions {
  /** The SSH server (the central). */
  host: string;
  /** Its port. @default {22} */
  port?: number;
  /** The SSH user. */
  user: string;
  /** The private key file (OpenSSH or PEM format). */
  privateKeyFile: string;
  /** The key's passphrase, when it has one. @default {none} */
  passphrase?: string;
  /**
   * A known_hosts file that pins the server's key (plain or hashed host
   * names, `[host]:port` for other ports, `@revoked` honoured;
   * `@cert-authority` lines are ignored, host certificates are not
   * supported). Set this or `hostKeyFingerprint`: an unknown or changed host
   * key is always refused.
   */
  knownHostsFile?: string;
  /** The server key's SHA-256 fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`), or several. */
  hostKeyFingerprint?: string | string[];
  /** The remote directory every path is under (absolute, or relative to the login directory). @default {"."} */
  root?: string;
  /**
   * Where an object goes, under `root`. `${kind}` and `${path}` are short
   * for `${object.kind}` and `${object.path}`. Every value is made a safe
   * path component except the object's path, whose own components must be
   * safe: an absolute path, `..` or NUL is refused, never uploaded.
   * @default {"samples/${HOST}/${kind}/${path}"}
   */
  path?: Template;
  /** The manifest of each host, under `root`. @default {"samples/${HOST}/.manifest.jsonl"} */
  manifest?: Template;
  /**
   * `"copy"` uploads new and changed objects; `"move"` also confirms each
   * verified upload so a `mode: "move"` objects source deletes the file;
   * `"sync"` is copy plus, with `deleteRemote`, deleting remote objects
   * that no longer exist locally. @default {"copy"}
   */
  mode?: "copy" | "move" | "sync";
  /** In sync mode, delete remote objects missing from the source's listing (`listing: true`). @default {false} */
  deleteRemote?: boolean;
  /**
   * `"readback"` reads every upload back and compares its SHA-256;
   * `"manifest"` checks the size and records the streamed SHA-256 in the
   * manifest (half the traffic; not allowed with `mode: "move"`).
   * @default {"readback"}
   */
  verify?: "readback" | "manifest";
  /** Bandwidth limit shared by all transfers of this sink, each way (`"1M"` = 1 MiB/s, as rclone). @default {"off"} */
  bwlimit?: string | number;
  /** Objects uploaded at once. @default {4} */
  concurrency?: number;
  /** A 32-byte key file: store objects encrypted (AES-256-GCM chunks), named `<path>.enc`. @default {none} */
  encryptionKeyFile?: string;
  /** How long to wait for the SSH handshake, in ms. @default {20000} */
  readyTimeoutMs?: number;
  /** Close the connection after this long without writes, in ms. @default {60000} */
  idleCloseMs?: number;
  /** Called for every object stored (see also `syncedObjectsSource`). */
  onSynced?: (object: SyncedObject) => void;
  /** Objects per write. @default {100} */
  maxBatch?: number;
  /** A name for stats. */
  name?: string;
}

/** The sink {@linkcode sftpObjectSink} returns. */
export interface SftpObjectSink extends ObjectSink {
  /** `"sftp-object"`. */
  readonly kind: "sftp-object";
}

/** A manifest line. */
interface _Record {
  path: string;
  size: number;
  sha256: string;
  mtime: string;
  uploaded_at: string;
  host?: string;
  kind?: string;
  encrypted?: boolean;
  stored_size?: number;
  stored_sha256?: string;
  deleted_at?: string;
}

/** An upload that failed halfway, kept so a retry can resume. */
interface _Partial {
  abs: string;
  size: number;
  mtime: number;
  acked: number;
  encryptor: ChunkEncryptor | undefined;
}

/** A failure of the local file, not of the connection: retrying the batch will not help. */
class _LocalError extends Error {}

/** A path the sink will not write to. */
class _Refused extends Error {}

/** Stored bytes that are not what was sent: the partial file is removed, not resumed. */
class _Mismatch extends Error {}

function _msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function _isSftpCode(err: unknown, code: number): boolean {
  return typeof err === "object" && err !== null && (err as Ssh2SftpError).code === code;
}

// ---------------------------------------------------------------------------
// Host key pinning

interface _KnownHost {
  marker: string | undefined;
  patterns: string[];
  type: string;
  blob: Buffer;
}

function _fingerprint(blob: Uint8Array): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

function _keyType(blob: Uint8Array): string {
  if (blob.length < 4) return "unknown";
  const len = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0);
  return new TextDecoder().decode(blob.subarray(4, 4 + Math.min(len, 64)));
}

function _parseKnownHosts(text: string): _KnownHost[] {
  const out: _KnownHost[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const parts = line.split(/\s+/);
    const marker = parts[0]?.startsWith("@") ? parts.shift() : undefined;
    const [hosts, type, key] = parts;
    if (!hosts || !type || !key) continue;
    out.push({ marker, patterns: hosts.split(","), type, blob: Buffer.from(key, "base64") });
  }
  return out;
}

function _wildcard(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${re}$`, "i").test(name);
}

function _hostMatches(entry: _KnownHost, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith("|1|")) {
      const [, , salt, hash] = pattern.split("|");
      if (!salt || !hash) continue;
      const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
      if (mac === hash) matched = true;
    } else if (pattern.startsWith("!")) {
      if (_wildcard(pattern.slice(1), name)) return false;
    } else if (_wildcard(pattern, name)) matched = true;
  }
  return matched;
}

const _HOST_KEY_ALGOS: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

// ---------------------------------------------------------------------------
// Remote paths

/** Expands `${kind}` and `${path}` to `${object.kind}` and `${object.path}`. */
function _short(template: Template): Template {
  if (typeof template !== "string") return template;
  return template.replace(/\$\{(kind|path)((?::-[^}]*)?)\}/g, "${object.$1$2}");
}

function _remoteTemplate(template: Template): TemplateFn {
  if (typeof template === "function") return template;
  // The object's relative path keeps its directories; the caller checks each component.
  return pathTemplate(template, { verbatim: /^\$\{object\.path(:-[^}]*)?\}$/ });
}

/** Normalises a rendered relative path, refusing absolute paths, `..` and NUL. */
function _relative(rendered: string): string {
  try {
    return safeJoin(".", rendered).slice(2);
  } catch (err) {
    throw new _Refused(_msg(err).replace(/^safeJoin: /, ""));
  }
}

function _dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

// ---------------------------------------------------------------------------
// The connection

/** One SSH connection with its SFTP session, promisified. */
class _Connection {
  closed = false;
  readonly #client: Ssh2Client;
  readonly #sock: Socket;
  readonly sftp: Ssh2Sftp;
  readonly #dirs = new Set<string>();
  readonly #closedPromise: Promise<void>;
  readonly #lostListeners = new Set<() => void>();

  private constructor(client: Ssh2Client, sock: Socket, sftp: Ssh2Sftp) {
    this.#client = client;
    this.#sock = sock;
    this.sftp = sftp;
    this.#closedPromise = new Promise<void>((resolve) => {
      if (sock.destroyed) return resolve();
      sock.once("close", () => resolve());
    });
    const mark = () => {
      if (this.closed && this.#lostListeners.size === 0) return;
      this.closed = true;
      const listeners = [...this.#lostListeners];
      this.#lostListeners.clear();
      for (const l of listeners) l();
    };
    client.on("close", mark);
    client.on("end", mark);
    client.on("error", mark);
    sock.once("close", mark);
  }

  /** Calls `listener` once the connection is lost (at once if it is). */
  whenLost(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => {};
    }
    this.#lostListeners.add(listener);
    return () => void this.#lostListeners.delete(listener);
  }

  static async open(config: {
    host: string;
    port: number;
    user: string;
    privateKey: Buffer;
    passphrase: string | undefined;
    verify: (key: Buffer) => string | undefined;
    algorithms: string[] | undefined;
    readyTimeoutMs: number;
  }): Promise<_Connection> {
    const sock = netConnect({ host: config.host, port: config.port });
    // Without TCP_NODELAY, ssh2 under Deno crawls (3 MB/s instead of ~40 MB/s).
    sock.setNoDelay(true);
    sock.on("error", () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once("connect", () => resolve());
        sock.once("error", reject);
      });
    } catch (err) {
      sock.destroy();
      throw new Error(`cannot connect to ${config.host}:${config.port}: ${_msg(err)}`);
    }
    const client = new ssh2.Client();
    let refusal: string | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      client.once("ready", () => resolve());
      client.once("error", (err) => reject(err));
      client.once("close", () => reject(new Error("connection closed during the handshake")));
    });
    try {
      client.connect({
        sock,
        username: config.user,
        privateKey: config.privateKey,
        ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}),
        hostVerifier: (key) => {
          refusal = config.verify(key);
          return refusal === undefined;
        },
        readyTimeout: config.readyTimeoutMs,
        ...(config.algorithms ? { algorithms: { serverHostKey: config.algorithms } } : {}),
      });
      await ready;
    } catch (err) {
      client.on("error", () => {});
      client.destroy();
      sock.destroy();
      if (refusal !== undefined) throw new Error(refusal);
      throw new Error(`SSH to ${config.host}:${config.port} failed: ${_msg(err)}`);
    }
    client.on("error", () => {});
    try {
      const sftp = await new Promise<Ssh2Sftp>((resolve, reject) =>
        client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)))
      );
      return new _Connection(client, sock, sftp);
    } catch (err) {
      client.destroy();
      sock.destroy();
      throw new Error(`no SFTP session on ${config.host}:${config.port}: ${_msg(err)}`);
    }
  }

  /** Ends the connection and waits until the socket is closed. */
  async end(): Promise<void> {
    this.closed = true;
    try {
      this.#client.end();
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.#sock.destroy(), 2000);
    await this.#closedPromise;
    clearTimeout(timer);
  }

  /** Cuts the connection at once. */
  destroy(): void {
    this.closed = true;
    this.#client.destroy();
    this.#sock.destroy();
  }

  #call<T>(
    fn: (cb: (err: Ssh2SftpError | undefined | null, value?: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(new Error("connection lost"));
      // ssh2 may never call back once the socket is gone. (A race against one
      // long-lived promise would keep every result alive until then.)
      const unwatch = this.whenLost(() => reject(new Error("connection lost")));
      fn((err, value) => {
        unwatch();
        if (err) reject(err);
        else resolve(value as T);
      });
    });
  }

  async stat(path: string): Promise<Ssh2Stats | undefined> {
    try {
      return await this.#call<Ssh2Stats>((cb) => this.sftp.stat(path, cb));
    } catch (err) {
      if (_isSftpCode(err, _NO_SUCH_FILE)) return undefined;
      throw err;
    }
  }

  open(path: string, flags: string): Promise<Buffer> {
    return this.#call<Buffer>((cb) => this.sftp.open(path, flags, cb));
  }

  close(handle: Buffer): Promise<void> {
    return this.#call<void>((cb) => this.sftp.close(handle, cb));
  }

  fstat(handle: Buffer): Promise<Ssh2Stats> {
    return this.#call<Ssh2Stats>((cb) => this.sftp.fstat(handle, cb));
  }

  unlink(path: string): Promise<void> {
    return this.#call<void>((cb) => this.sftp.unlink(path, cb));
  }

  readdir(path: string) {
    return this.#call<{ filename: string; attrs: Ssh2Stats }[]>((cb) =>
      this.sftp.readdir(path, cb)
    );
  }

  /** Flushes a file to the server's disk where the server can (`fsync@openssh.com`). */
  async fsync(handle: Buffer): Promise<void> {
    if (!this.sftp._extensions["fsync@openssh.com"]) return;
    await this.#call<void>((cb) => this.sftp.ext_openssh_fsync(handle, cb));
  }

  async futimes(handle: Buffer, mtimeMs: number): Promise<void> {
    const s = Math.floor(mtimeMs / 1000);
    await this.#call<void>((cb) => this.sftp.futimes(handle, s, s, cb));
  }

  /** Renames over an existing file: POSIX rename where the server offers it, else remove then rename. */
  async rename(from: string, to: string): Promise<void> {
    if (this.sftp._extensions["posix-rename@openssh.com"]) {
      await this.#call<void>((cb) => this.sftp.ext_openssh_rename(from, to, cb));
      return;
    }
    try {
      await this.#call<void>((cb) => this.sftp.rename(from, to, cb));
    } catch (err) {
      if (!(await this.stat(to))) throw err;
      await this.unlink(to);
      await this.#call<void>((cb) => this.sftp.rename(from, to, cb));
    }
  }

  /** Creates a directory and its parents (remembering what exists). */
  async mkdirp(dir: string): Promise<void> {
    if (dir === "." || dir === "/" || dir === "" || this.#dirs.has(dir)) return;
    const st = await this.stat(dir);
    if (st) {
      if (!st.isDirectory()) throw new Error(`remote "${dir}" exists and is not a directory`);
    } else {
      await this.mkdirp(_dirname(dir));
      try {
        await this.#call<void>((cb) => this.sftp.mkdir(dir, cb));
      } catch (err) {
        // Another upload may have made it meanwhile.
        if (!(await this.stat(dir))?.isDirectory()) throw err;
      }
    }
    this.#dirs.add(dir);
  }

  get maxWrite(): number {
    return Math.max(1024, this.sftp._maxWriteLen ?? 32 * 1024);
  }

  get maxRead(): number {
    return Math.max(1024, this.sftp._maxReadLen ?? 32 * 1024);
  }

  /** Reads up to `len` bytes at `pos`; resolves with fewer only at the end of the file. */
  read(handle: Buffer, len: number, pos: number, into?: Buffer): Promise<Buffer> {
    const buf = into && into.length >= len ? into : Buffer.allocUnsafe(len);
    return this.#call<Buffer>((cb) =>
      this.sftp.read(handle, buf, 0, len, pos, (err, n) => {
        if (err && !_isSftpCode(err, 1)) cb(err);
        else cb(undefined, err ? buf.subarray(0, 0) : n === buf.length ? buf : buf.subarray(0, n));
      })
    );
  }
}

/**
 * Writes one remote file with many WRITE requests in flight (SFTP's
 * latency would otherwise bound the throughput), up to a byte budget, and
 * tracks how far the file is written contiguously, for resuming.
 */
class _PipelinedWriter {
  readonly #conn: _Connection;
  readonly #handle: Buffer;
  readonly #bucket: TokenBucket | undefined;
  readonly #budget: number;
  readonly #onAcked: (contiguous: number) => void;
  #inflight = 0;
  #pending: Array<{ end: number; done: boolean }> = [];
  #error: unknown;
  #waiters: Array<() => void> = [];

  constructor(
    conn: _Connection,
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

async function _readFull(file: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}

/**
 * Stores the objects of an objects source on an SFTP server (the central),
 * under `root/samples/<host>/<kind>/<path>` by default.
 *
 * For each object the sink: refuses unsafe remote paths; skips the upload
 * when the host's manifest (`samples/<host>/.manifest.jsonl`) records the
 * same path, size and SHA-256 and the remote file has that size; otherwise
 * uploads to `<name>.partial` with many requests in flight, computing
 * SHA-256 (`node:crypto`, GB/s; hash-wasm's is ~7x slower here) as it
 * streams, checks the remote size, renames, then verifies the content by
 * reading it back (`verify: "readback"`), sets the remote mtime and appends
 * to the manifest. Only then does `write()` resolve and, in move mode,
 * confirm the object to its source. A broken connection makes `write()`
 * fail; the engine retries and the upload resumes where the server had
 * acknowledged it.
 *
 * The server's key must be pinned (`knownHostsFile` or
 * `hostKeyFingerprint`); an unknown or changed key is refused with a
 * message naming both fingerprints.
 *
 * Counters: `uploaded`, `bytes`, `unchanged`, `refused`, `failed`,
 * `resumed_bytes`, `verify_failures`, `deleted_remote`.
 *
 * @param options Server, key, host key pin, layout, mode, limits, encryption.
 * @returns The sink.
 * @throws {TypeError | RangeError} On a bad option.
 *
 * @example Move quarantined files to the central
 * ```ts
 * import { sftpObjectSink } from "./sftp_object.ts";
 * const upload = sftpObjectSink({
 *   host: "central.example.org",
 *   user: "samples",
 *   privateKeyFile: "/etc/sluice/id_ed25519",
 *   knownHostsFile: "/etc/sluice/known_hosts",
 *   mode: "move",
 *   bwlimit: "1M",
 * });
 * ```
 */
export function sftpObjectSink(options: SftpObjectSinkOptions): SftpObjectSink {
  const name = "sftpObjectSink";
  if (!options || typeof options !== "object") {
    throw new TypeError(`${name}: expected an options object`);
  }
  for (const key of ["host", "user", "privateKeyFile"] as const) {
    if (typeof options[key] !== "string" || options[key] === "") {
      throw new TypeError(`${name}: "${key}" must be a non-empty string`);
    }
  }
  const port = options.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${name}: "port" must be 1–65535, got ${port}`);
  }
  const fingerprints = options.hostKeyFingerprint === undefined
    ? []
    : (Array.isArray(options.hostKeyFingerprint)
      ? options.hostKeyFingerprint
      : [options.hostKeyFingerprint]).map((f) => {
        const bare = String(f).trim().replace(/^SHA256:/, "").replace(/=+$/, "");
        if (!/^[A-Za-z0-9+/]{43}$/.test(bare)) {
          throw new RangeError(
            `${name}: "hostKeyFingerprint" must look like "SHA256:" and 43 base64 characters (ssh-keygen -lf), got "${f}"`,
          );
        }
        return "SHA256:" + bare;
      });
  if (!options.knownHostsFile && fingerprints.length === 0) {
    throw new TypeError(
      `${name}: set "knownHostsFile" or "hostKeyFingerprint"; an unpinned host key is never accepted`,
    );
  }
  const mode = options.mode ?? "copy";
  if (mode !== "copy" && mode !== "move" && mode !== "sync") {
    throw new RangeError(`${name}: "mode" must be "copy", "move" or "sync", got "${String(mode)}"`);
  }
  const verify = options.verify ?? "readback";
  if (verify !== "readback" && verify !== "manifest") {
    throw new RangeError(`${name}: "verify" must be "readback" or "manifest", got "${verify}"`);
  }
  if (mode === "move" && verify !== "readback") {
    throw new RangeError(
      `${name}: "mode": "move" needs "verify": "readback"; a source is never deleted on a size check`,
    );
  }
  const deleteRemote = options.deleteRemote ?? false;
  if (deleteRemote && mode !== "sync") {
    throw new RangeError(`${name}: "deleteRemote" needs "mode": "sync"`);
  }
  const pathSource = _short(options.path ?? "samples/${HOST}/${kind}/${path}");
  if (deleteRemote && (typeof pathSource !== "string" || !pathSource.endsWith("${object.path}"))) {
    throw new RangeError(
      `${name}: "deleteRemote" needs a "path" template that ends in "\${path}"`,
    );
  }
  const renderPath = _remoteTemplate(pathSource);
  const renderDir = deleteRemote && typeof pathSource === "string"
    ? _remoteTemplate(pathSource.slice(0, pathSource.length - "${object.path}".length))
    : undefined;
  const renderManifest = _remoteTemplate(
    _short(options.manifest ?? "samples/${HOST}/.manifest.jsonl"),
  );
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new RangeError(`${name}: "concurrency" must be 1–64, got ${concurrency}`);
  }
  const rate = parseByteRate(options.bwlimit ?? "off", `${name}: "bwlimit"`);
  const upBucket = rate === Infinity ? undefined : new TokenBucket(rate);
  const downBucket = rate === Infinity ? undefined : new TokenBucket(rate);
  const rootOption = (options.root ?? ".").replace(/\/+$/, "") || "/";
  if (rootOption.includes("\0")) throw new RangeError(`${name}: "root" holds a NUL character`);
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const idleCloseMs = options.idleCloseMs ?? 60_000;
  const maxBatch = options.maxBatch ?? 100;
  const where = port === 22 ? options.host : `[${options.host}]:${port}`;

  let ctx: SinkContext | undefined;
  let privateKey: Buffer | undefined;
  let knownHosts: _KnownHost[] = [];
  let encryptionKey: CryptoKey | undefined;
  let conn: _Connection | undefined;
  let connecting: Promise<_Connection> | undefined;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const listeners = new Set<(activity: ObjectActivity) => void>();
  const manifests = new Map<string, Map<string, _Record>>();
  const manifestSizes = new Map<string, number>();
  let manifestLock: Promise<void> = Promise.resolve();
  const partials = new Map<string, _Partial>();
  const busy = new Map<string, Promise<void>>();

  const emit = (activity: ObjectActivity) => {
    for (const listener of listeners) {
      try {
        listener(activity);
      } catch {
        // a listener must not break an upload
      }
    }
  };
  const full = (rel: string) =>
    rootOption === "." ? rel : rootOption === "/" ? `/${rel}` : `${rootOption}/${rel}`;

  const verifyHostKey = (key: Buffer): string | undefined => {
    const fp = _fingerprint(key);
    const type = _keyType(key);
    const shown = `${type} ${fp}`;
    if (fingerprints.length) {
      if (fingerprints.includes(fp)) return undefined;
      if (!options.knownHostsFile) {
        return `${name}: the host key of ${where} (${shown}) does not match the pinned "hostKeyFingerprint" ${
          fingerprints.join(", ")
        }; refusing to connect (if the central's key changed on purpose, update the pin)`;
      }
    }
    const matching = knownHosts.filter((k) => _hostMatches(k, where));
    if (matching.some((k) => k.marker === "@revoked" && k.blob.equals(key))) {
      return `${name}: the host key of ${where} (${shown}) is marked @revoked in "${options.knownHostsFile}"; refusing to connect`;
    }
    const pinned = matching.filter((k) => k.marker === undefined);
    if (pinned.some((k) => k.blob.equals(key))) return undefined;
    if (pinned.length === 0) {
      return `${name}: ${where} is not in known_hosts "${options.knownHostsFile}" (it offered ${shown}); refusing an unknown host key. Add it after checking the fingerprint: ssh-keyscan -p ${port} ${options.host} >> ${options.knownHostsFile}`;
    }
    return `${name}: the host key of ${where} CHANGED: it offered ${shown}, but known_hosts "${options.knownHostsFile}" pins ${
      pinned.map((k) => `${k.type} ${_fingerprint(k.blob)}`).join(", ")
    }; refusing to connect (a man in the middle, or a reinstalled central: check, then update the file)`;
  };

  const connect = async (): Promise<_Connection> => {
    if (conn && !conn.closed) return conn;
    if (connecting) return await connecting;
    connecting = (async () => {
      if (conn) await conn.end().catch(() => {});
      conn = undefined;
      const matching = knownHosts.filter((k) => k.marker === undefined && _hostMatches(k, where));
      const algorithms = fingerprints.length || matching.length === 0 ? undefined : [
        ...new Set(matching.flatMap((k) => _HOST_KEY_ALGOS[k.type] ?? [])),
      ];
      const opened = await _Connection.open({
        host: options.host,
        port,
        user: options.user,
        privateKey: privateKey as Buffer,
        passphrase: options.passphrase,
        verify: verifyHostKey,
        algorithms: algorithms?.length ? algorithms : undefined,
        readyTimeoutMs,
      });
      conn = opened;
      ctx?.stats.set("connected", 1);
      return opened;
    })();
    try {
      return await connecting;
    } finally {
      connecting = undefined;
    }
  };

  const scheduleIdleClose = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      const c = conn;
      conn = undefined;
      ctx?.stats.set("connected", 0);
      c?.end().catch(() => {});
    }, idleCloseMs);
    Deno.unrefTimer(idleTimer);
  };

  const loadManifest = async (c: _Connection, path: string): Promise<Map<string, _Record>> => {
    const cached = manifests.get(path);
    if (cached) return cached;
    const records = new Map<string, _Record>();
    let size = 0;
    const st = await c.stat(path);
    if (st) {
      const handle = await c.open(path, "r");
      try {
        let rest = "";
        const decoder = new TextDecoder();
        const step = c.maxRead;
        while (true) {
          const chunk = await c.read(handle, step, size);
          if (chunk.length === 0) break;
          size += chunk.length;
          const text = rest + decoder.decode(chunk, { stream: true });
          const lines = text.split("\n");
          rest = lines.pop() as string;
          for (const line of lines) _applyRecord(records, line);
        }
        // A torn last line (a crash mid-append) is ignored, as is any bad line.
        _applyRecord(records, rest);
      } finally {
        await c.close(handle).catch(() => {});
      }
    }
    manifests.set(path, records);
    manifestSizes.set(path, size);
    return records;
  };

  const appendManifest = (c: _Connection, path: string, batch: _Record[]): Promise<void> => {
    const run = async () => {
      await c.mkdirp(_dirname(path));
      const handle = await c.open(path, "a");
      try {
        const st = await c.fstat(handle);
        // Some servers ignore the append flag; writing at the end works with either.
        const size = Math.max(st.size, manifestSizes.get(path) ?? 0);
        const data = Buffer.from(batch.map((r) => JSON.stringify(r) + "\n").join(""));
        for (let off = 0; off < data.length;) {
          const len = Math.min(c.maxWrite, data.length - off);
          await new Promise<void>((resolve, reject) =>
            c.sftp.write(
              handle,
              data,
              off,
              len,
              size + off,
              (err) => (err ? reject(err) : resolve()),
            )
          );
          off += len;
        }
        await c.fsync(handle);
        manifestSizes.set(path, size + data.length);
      } finally {
        await c.close(handle).catch(() => {});
      }
      const records = manifests.get(path);
      if (records) {
        for (const record of batch) {
          if (record.deleted_at) records.delete(record.path);
          else records.set(record.path, record);
        }
      }
    };
    const next = manifestLock.then(run, run);
    manifestLock = next.catch(() => {});
    return next;
  };

  /** Hashes `size` bytes of an open remote file, many READs in flight. */
  const readbackHandle = async (
    c: _Connection,
    handle: Buffer,
    path: string,
    size: number,
  ): Promise<string> => {
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
        await downBucket?.take(len);
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
  };

  const readbackHash = async (c: _Connection, path: string, size: number): Promise<string> => {
    const handle = await c.open(path, "r");
    try {
      return await readbackHandle(c, handle, path, size);
    } finally {
      await c.close(handle).catch(() => {});
    }
  };

  const hashLocal = async (file: Deno.FsFile, size: number): Promise<string> => {
    const hash = createHash("sha256");
    const buf = new Uint8Array(1024 * 1024);
    await file.seek(0, Deno.SeekMode.Start);
    let left = size;
    while (left > 0) {
      const n = await _readFull(file, buf.subarray(0, Math.min(buf.length, left)));
      if (n === 0) throw new _LocalError("the file shrank while it was read");
      hash.update(buf.subarray(0, n));
      left -= n;
    }
    return hash.digest("hex");
  };

  interface _Job {
    event: LogEvent;
    info: Readonly<ObjectInfo>;
    rel: string;
    remote: string;
    manifestPath: string;
    manifestKey: string;
  }

  const plan = (event: LogEvent, info: Readonly<ObjectInfo>): _Job => {
    let rel = _relative(renderPath(event));
    if (encryptionKey) rel += ".enc";
    const manifestRel = _relative(renderManifest(event));
    if (rel === manifestRel || rel.endsWith(".partial")) {
      throw new _Refused(`"${rel}" is a name the sink keeps for itself`);
    }
    return {
      event,
      info,
      rel,
      remote: full(rel),
      manifestPath: full(manifestRel),
      manifestKey: rel,
    };
  };

  const upload = async (
    c: _Connection,
    job: _Job,
    file: Deno.FsFile,
    size: number,
    mtime: number,
  ): Promise<{ sha256: string; stored: string; storedSize: number; sent: number }> => {
    const partialPath = `${job.remote}.partial`;
    await c.mkdirp(_dirname(job.remote));
    const chunkSize = DEFAULT_CHUNK_SIZE;
    const storedSize = encryptionKey ? encryptedSize(size, chunkSize) : size;
    let resumeAt = 0;
    let encryptor: ChunkEncryptor | undefined;
    const previous = partials.get(partialPath);
    if (
      previous && previous.abs === job.info.abs && previous.size === size &&
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
    const entry: _Partial = { abs: job.info.abs, size, mtime, acked: resumeAt, encryptor };
    partials.set(partialPath, entry);
    if (resumeAt > 0) ctx?.stats.add("resumed_bytes", resumeAt);
    emit({ type: "start", path: job.info.path, remote: job.rel, size: storedSize, resumeAt });
    const handle = await c.open(partialPath, resumeAt > 0 ? "r+" : "w+");
    let closed = false;
    try {
      let lastProgress = 0;
      const writer = new _PipelinedWriter(c, handle, upBucket, 2 * 1024 * 1024, (acked) => {
        entry.acked = acked;
        if (acked - lastProgress >= 1024 * 1024 || acked === storedSize) {
          lastProgress = acked;
          emit({ type: "progress", remote: job.rel, sent: acked, size: storedSize });
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
      await file.seek(0, Deno.SeekMode.Start);
      const step = encryptor ? chunkSize : 1024 * 1024;
      const buf = new Uint8Array(step);
      const chunks = encryptor ? Math.max(1, Math.ceil(size / chunkSize)) : 0;
      let index = 0;
      for (let off = 0; off < size || (encryptor && index < chunks);) {
        const want = Math.min(step, size - off);
        const n = await _readFull(file, buf.subarray(0, want));
        if (n !== want) throw new _LocalError("the file shrank while it was uploaded");
        const plain = buf.subarray(0, n);
        plainHash.update(plain);
        if (encryptor) {
          await send(await encryptor.encrypt(plain, index, index === chunks - 1));
          index++;
        } else await send(plain);
        off += n;
      }
      await writer.flush();
      const sha256 = plainHash.digest("hex");
      const stored = encryptor ? storedHash.digest("hex") : sha256;
      // One round trip for three requests: the server answers them in order.
      const [, st] = await Promise.all([
        c.fsync(handle),
        c.fstat(handle),
        c.futimes(handle, mtime).catch(() => {}),
      ]);
      if (st.size !== storedSize) {
        throw new _Mismatch(
          `remote "${partialPath}" has ${st.size} bytes after the upload, expected ${storedSize}`,
        );
      }
      if (verify === "readback") {
        const back = await readbackHandle(c, handle, partialPath, storedSize);
        if (back !== stored) {
          ctx?.stats.add("verify_failures");
          throw new _Mismatch(
            `remote "${partialPath}" reads back with SHA-256 ${back}, expected ${stored}; removed it and will upload again`,
          );
        }
      }
      closed = true;
      await c.close(handle);
      await c.rename(partialPath, job.remote);
      partials.delete(partialPath);
      return { sha256, stored, storedSize, sent: storedSize - resumeAt };
    } catch (err) {
      if (err instanceof _Mismatch || err instanceof _LocalError) {
        // Never resume onto bytes that proved wrong, nor keep half of a file that changed.
        partials.delete(partialPath);
        if (!closed) await c.close(handle).catch(() => {});
        closed = true;
        await c.unlink(partialPath).catch(() => {});
      }
      throw err;
    } finally {
      if (!closed) await c.close(handle).catch(() => {});
    }
  };

  const processObject = async (
    c: _Connection,
    event: LogEvent,
    addRecord: (manifest: string, rec: _Record) => void,
  ): Promise<void> => {
    const info = localObject(event) as Readonly<ObjectInfo>;
    let job: _Job;
    try {
      job = plan(event, info);
    } catch (err) {
      if (!(err instanceof _Refused)) throw err;
      if (ctx) {
        ctx.stats.add("refused");
        ctx.stats.errors++;
      }
      rejectObject(event, `remote path refused: ${err.message}`);
      emit({ type: "refused", path: info.path, reason: err.message });
      ctx?.log.warn(`refusing object "${info.path}": ${err.message}`);
      return;
    }
    // Two objects of one batch may render the same remote path: one at a time.
    const before = busy.get(job.remote);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    busy.set(job.remote, mine);
    try {
      await before;
      await storeObject(c, job, addRecord);
    } finally {
      release();
      if (busy.get(job.remote) === mine) busy.delete(job.remote);
    }
  };

  const storeObject = async (
    c: _Connection,
    job: _Job,
    addRecord: (manifest: string, rec: _Record) => void,
  ): Promise<void> => {
    const { event, info } = job;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(info.abs, { read: true });
    } catch (err) {
      return failLocal(job, err);
    }
    try {
      const st = await file.stat();
      const size = st.size;
      const mtime = st.mtime?.getTime() ?? 0;
      const records = await loadManifest(c, job.manifestPath);
      const record = records.get(job.manifestKey);
      let sha256: string | undefined;
      if (record && record.size === size) {
        sha256 = await hashLocal(file, size);
        const storedSize = record.stored_size ?? record.size;
        const remote = record.sha256 === sha256 ? await c.stat(job.remote) : undefined;
        if (remote && remote.size === storedSize) {
          // A move deletes the source, so it trusts no record: it reads the stored file back.
          const verified = mode !== "move" ||
            await readbackHash(c, job.remote, storedSize) ===
              (record.stored_sha256 ?? record.sha256);
          if (verified) {
            ctx?.stats.add("unchanged");
            if (mode === "move" && !api.dryRun) {
              confirmObject(event, { remote: job.rel, size, mtime, sha256 });
            }
            emit({ type: "unchanged", path: info.path, remote: job.rel, size });
            return;
          }
        }
      }
      if (api.dryRun) {
        emit({
          type: "would-upload",
          path: info.path,
          remote: job.rel,
          size,
          move: mode === "move",
        });
        return;
      }
      const done = await upload(c, job, file, size, mtime);
      if (sha256 !== undefined && sha256 !== done.sha256) {
        ctx?.log.info(`"${info.path}" changed between hashing and upload; stored what was read`);
      }
      const now = new Date().toISOString();
      const rec: _Record = {
        path: job.manifestKey,
        size,
        sha256: done.sha256,
        mtime: new Date(mtime).toISOString(),
        uploaded_at: now,
        host: event.host ?? "",
        kind: info.kind,
        ...(encryptionKey
          ? { encrypted: true, stored_size: done.storedSize, stored_sha256: done.stored }
          : {}),
      };
      // Appended once per write(), before it resolves (so before any source deletes).
      addRecord(job.manifestPath, rec);
      ctx?.stats.add("uploaded");
      ctx?.stats.add("bytes", done.sent);
      // A file changed while it was read is stored as read, but a move keeps it.
      const now2 = await file.stat();
      const unchanged = now2.size === size && (now2.mtime?.getTime() ?? 0) === mtime;
      if (mode === "move" && unchanged) {
        confirmObject(event, { remote: job.rel, size, mtime, sha256: done.sha256 });
      }
      const synced: SyncedObject = {
        host: event.host ?? "",
        kind: info.kind,
        path: info.path,
        remote: job.rel,
        size,
        sha256: done.sha256,
        mtime,
        uploaded_at: now,
        encrypted: encryptionKey !== undefined,
      };
      emit({ type: "uploaded", object: synced, bytes: done.sent });
      options.onSynced?.(synced);
    } catch (err) {
      if (err instanceof _LocalError || err instanceof Deno.errors.NotFound) {
        partials.delete(`${job.remote}.partial`);
        return failLocal(job, err);
      }
      throw err;
    } finally {
      file.close();
    }
  };

  const failLocal = (job: _Job, err: unknown) => {
    ctx?.stats.add("failed");
    rejectObject(job.event, `cannot read the local file: ${_msg(err)}`);
    emit({ type: "failed", path: job.info.path, error: _msg(err) });
    if (!(err instanceof Deno.errors.NotFound)) {
      ctx?.log.warn(`cannot upload "${job.info.path}": ${_msg(err)}`);
    }
  };

  const syncDeletions = async (c: _Connection, event: LogEvent) => {
    const listing = objectListing(event);
    if (!listing || !renderDir) return;
    const pseudo = (path: string): LogEvent => ({
      ...event,
      fields: { ...event.fields, object: { kind: listing.kind, path } },
    });
    let dirRel: string;
    try {
      dirRel = _relative(renderDir(pseudo("")) || ".");
    } catch {
      return;
    }
    const keep = new Set<string>();
    for (const path of listing.paths) {
      try {
        keep.add(_relative(renderPath(pseudo(path))) + (encryptionKey ? ".enc" : ""));
      } catch {
        // a refused path was never uploaded
      }
    }
    const manifestRel = _relative(renderManifest(pseudo("")));
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await c.readdir(full(rel));
      } catch (err) {
        if (_isSftpCode(err, _NO_SUCH_FILE)) return;
        throw err;
      }
      for (const entry of entries) {
        if (entry.filename === "." || entry.filename === "..") continue;
        const child = `${rel}/${entry.filename}`;
        if (entry.attrs.isDirectory()) await walk(child);
        else if (
          !keep.has(child) && !child.endsWith(".partial") && child !== manifestRel
        ) {
          if (api.dryRun) {
            emit({ type: "would-delete-remote", remote: child });
            continue;
          }
          await c.unlink(full(child));
          ctx?.stats.add("deleted_remote");
          const now = new Date().toISOString();
          await appendManifest(c, full(manifestRel), [{
            path: child,
            size: entry.attrs.size,
            sha256: "",
            mtime: new Date(entry.attrs.mtime * 1000).toISOString(),
            uploaded_at: "",
            deleted_at: now,
          }]);
          emit({ type: "deleted-remote", remote: child });
        }
      }
    };
    await walk(dirRel);
  };

  const api: SftpObjectSink = {
    kind: "sftp-object",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    mode,
    dryRun: false,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async open(context) {
      ctx = context;
      try {
        privateKey = Buffer.from(await Deno.readFile(options.privateKeyFile));
      } catch (err) {
        throw new Error(
          `${name}: cannot read "privateKeyFile" "${options.privateKeyFile}": ${_msg(err)}`,
        );
      }
      const parsed = ssh2.utils.parseKey(privateKey, options.passphrase);
      if (parsed instanceof Error) {
        throw new Error(
          `${name}: "privateKeyFile" "${options.privateKeyFile}" is not a usable private key: ${parsed.message}`,
        );
      }
      if (options.knownHostsFile) {
        try {
          knownHosts = _parseKnownHosts(await Deno.readTextFile(options.knownHostsFile));
        } catch (err) {
          throw new Error(
            `${name}: cannot read "knownHostsFile" "${options.knownHostsFile}": ${_msg(err)}`,
          );
        }
      }
      if (options.encryptionKeyFile) {
        try {
          encryptionKey = await readObjectKey(options.encryptionKeyFile);
        } catch (err) {
          throw new Error(`${name}: "encryptionKeyFile": ${_msg(err)}`);
        }
      }
    },
    async write(batch) {
      if (!privateKey) throw new Error(`${name}: write() before open()`);
      clearTimeout(idleTimer);
      const objects: LogEvent[] = [];
      const listings: LogEvent[] = [];
      for (const event of batch) {
        if (localObject(event)) objects.push(event);
        else if (objectListing(event)) listings.push(event);
        else ctx?.stats.add("ignored");
      }
      if (objects.length === 0 && (listings.length === 0 || !deleteRemote)) return;
      let c: _Connection;
      try {
        c = await connect();
      } catch (err) {
        ctx?.stats.set("connected", 0);
        emit({ type: "error", error: _msg(err) });
        throw err;
      }
      let firstError: unknown;
      let next = 0;
      const pending = new Map<string, _Record[]>();
      const record = (manifest: string, rec: _Record) => {
        const list = pending.get(manifest);
        if (list) list.push(rec);
        else pending.set(manifest, [rec]);
      };
      const worker = async () => {
        while (next < objects.length && firstError === undefined) {
          const event = objects[next++] as LogEvent;
          try {
            await processObject(c, event, record);
          } catch (err) {
            firstError ??= err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
      // Even after a failure: what was stored is recorded, so a retry does not send it again.
      for (const [manifest, recs] of pending) {
        try {
          await appendManifest(c, manifest, recs);
        } catch (err) {
          firstError ??= err;
        }
      }
      if (firstError === undefined && deleteRemote) {
        for (const event of listings) {
          try {
            await syncDeletions(c, event);
          } catch (err) {
            firstError = err;
            break;
          }
        }
      }
      if (firstError !== undefined) {
        if (c.closed) ctx?.stats.set("connected", 0);
        const message = `${name}: ${_msg(firstError)}`;
        emit({ type: "error", error: message });
        throw new Error(message);
      }
      scheduleIdleClose();
    },
    async close() {
      clearTimeout(idleTimer);
      idleTimer = undefined;
      if (connecting) await connecting.catch(() => {});
      const c = conn;
      conn = undefined;
      await c?.end();
      ctx?.stats.set("connected", 0);
    },
  };
  return api;
}

function _applyRecord(records: Map<string, _Record>, line: string): void {
  if (!line.trim()) return;
  try {
    const rec = JSON.parse(line) as _Record;
    if (typeof rec.path !== "string") return;
    if (rec.deleted_at) records.delete(rec.path);
    else if (typeof rec.size === "number" && typeof rec.sha256 === "string") {
      records.set(rec.path, rec);
    }
  } catch {
    // a torn or foreign line
  }
}
