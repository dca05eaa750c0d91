/**
 * An SFTP session on an {@linkcode SshConnection}, its requests as
 * promises that reject (never hang) when the connection is lost.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Ssh2DirEntry, Ssh2Sftp, Ssh2SftpError, Ssh2Stats } from "./_ssh2_types.ts";
import type { SshConnection } from "./connect.ts";
import { SshError } from "./error.ts";
import { coalesceWrites, type CorkableSocket } from "./_coalesce.ts";

/** SFTP status codes used by callers. */
export const SFTP_STATUS = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4 } as const;

/**
 * Whether an error is an SFTP status `code`.
 *
 * @param err Anything thrown.
 * @param code The SFTP status code.
 * @returns Whether it is.
 *
 * @example
 * ```ts
 * import { isSftpCode, SFTP_STATUS } from "./sftp.ts";
 * console.assert(isSftpCode({ code: 2 }, SFTP_STATUS.NO_SUCH_FILE));
 * ```
 */
export function isSftpCode(err: unknown, code: number): boolean {
  return typeof err === "object" && err !== null && (err as Ssh2SftpError).code === code;
}

/**
 * The parent of a remote path (`.` for a bare name, `/` for a top-level one).
 *
 * @param path A `/`-separated path.
 * @returns Its directory.
 *
 * @example
 * ```ts
 * import { remoteDirname } from "./sftp.ts";
 * console.assert(remoteDirname("a/b.bin") === "a" && remoteDirname("b") === ".");
 * ```
 */
export function remoteDirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/**
 * One SFTP session.
 *
 * @example List a directory
 * ```ts ignore
 * const sftp = await openSftp(ssh);
 * for (const entry of await sftp.readdir(".")) console.log(entry.filename);
 * ```
 */
export class SftpSession {
  /** The connection it runs on. */
  readonly connection: SshConnection;
  /** ssh2's SFTP client, for pipelined writes and reads. */
  readonly sftp: Ssh2Sftp;
  readonly #dirs: Set<string>;

  /** @internal Made by {@linkcode openSftp}. */
  constructor(connection: SshConnection, sftp: Ssh2Sftp, dirs: Set<string> = new Set()) {
    this.connection = connection;
    this.sftp = sftp;
    this.#dirs = dirs;
  }

  /** Whether the connection is gone. */
  get closed(): boolean {
    return this.connection.closed;
  }

  /**
   * Calls `listener` once the connection is lost.
   *
   * @param listener Called once.
   * @returns A function that removes it.
   */
  whenLost(listener: () => void): () => void {
    return this.connection.whenLost(listener);
  }

  #call<T>(
    fn: (cb: (err: Ssh2SftpError | undefined | null, value?: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(this.connection.lost("during an SFTP request"));
      // ssh2 may never call back once the socket is gone. (A race against one
      // long-lived promise would keep every result alive until then.)
      const unwatch = this.whenLost(() => reject(this.connection.lost("during an SFTP request")));
      fn((err, value) => {
        unwatch();
        if (err) reject(err);
        else resolve(value as T);
      });
    });
  }

  /** Stats a path; `undefined` when it does not exist. */
  async stat(path: string): Promise<Ssh2Stats | undefined> {
    try {
      return await this.#call<Ssh2Stats>((cb) => this.sftp.stat(path, cb));
    } catch (err) {
      if (isSftpCode(err, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
      throw err;
    }
  }

  /** Opens a file (`"r"`, `"w"`, `"w+"`, `"r+"`, `"a"` …). */
  open(path: string, flags: string): Promise<Buffer> {
    return this.#call<Buffer>((cb) => this.sftp.open(path, flags, cb));
  }

  /** Closes a handle. */
  close(handle: Buffer): Promise<void> {
    return this.#call<void>((cb) => this.sftp.close(handle, cb));
  }

  /** Stats an open handle. */
  fstat(handle: Buffer): Promise<Ssh2Stats> {
    return this.#call<Ssh2Stats>((cb) => this.sftp.fstat(handle, cb));
  }

  /** Removes a file. */
  unlink(path: string): Promise<void> {
    return this.#call<void>((cb) => this.sftp.unlink(path, cb));
  }

  /** Lists a directory. */
  readdir(path: string): Promise<Ssh2DirEntry[]> {
    return this.#call<Ssh2DirEntry[]>((cb) => this.sftp.readdir(path, cb));
  }

  /** Writes `length` bytes of `data` from `offset` at `position`. */
  write(
    handle: Buffer,
    data: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<void> {
    return this.#call<void>((cb) => this.sftp.write(handle, data, offset, length, position, cb));
  }

  /** Flushes a file to the server's disk where the server can (`fsync@openssh.com`). */
  async fsync(handle: Buffer): Promise<void> {
    if (!this.sftp._extensions["fsync@openssh.com"]) return;
    await this.#call<void>((cb) => this.sftp.ext_openssh_fsync(handle, cb));
  }

  /** Sets a file's atime and mtime (ms, rounded down to seconds). */
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
      await this.mkdirp(remoteDirname(dir));
      try {
        await this.#call<void>((cb) => this.sftp.mkdir(dir, cb));
      } catch (err) {
        // Another upload may have made it meanwhile.
        if (!(await this.stat(dir))?.isDirectory()) throw err;
      }
    }
    this.#dirs.add(dir);
  }

  /** Largest payload of one WRITE. */
  get maxWrite(): number {
    return Math.max(1024, this.sftp._maxWriteLen ?? 32 * 1024);
  }

  /** Largest payload of one READ. */
  get maxRead(): number {
    return Math.max(1024, this.sftp._maxReadLen ?? 32 * 1024);
  }

  /** Reads up to `len` bytes at `pos`; resolves with fewer only at the end of the file. */
  read(handle: Buffer, len: number, pos: number, into?: Buffer): Promise<Buffer> {
    const buf = into && into.length >= len ? into : Buffer.allocUnsafe(len);
    return this.#call<Buffer>((cb) =>
      this.sftp.read(handle, buf, 0, len, pos, (err, n) => {
        if (err && !isSftpCode(err, SFTP_STATUS.EOF)) cb(err);
        else cb(undefined, err ? buf.subarray(0, 0) : n === buf.length ? buf : buf.subarray(0, n));
      })
    );
  }
}

/**
 * Opens an SFTP session on a connection. The connection's socket then
 * gathers the pieces of the packets written in one turn of the event loop
 * into one write (ssh/_coalesce.ts).
 *
 * @param conn A connection from `connectSsh`.
 * @param dirs Directories known to exist, shared between the sessions of
 *   one connection (see {@linkcode openSftpChannels}).
 * @returns The session.
 * @throws {SshError} `command-failed` when the server has no SFTP subsystem,
 *   `unreachable` when the connection is lost.
 *
 * @example
 * ```ts ignore
 * import { connectSsh } from "./connect.ts";
 * import { openSftp } from "./sftp.ts";
 * const sftp = await openSftp(await connectSsh(options));
 * ```
 */
export function openSftp(conn: SshConnection, dirs?: Set<string>): Promise<SftpSession> {
  const sock = (conn.client as unknown as { _sock?: CorkableSocket })._sock;
  if (sock && typeof sock.cork === "function") coalesceWrites(sock);
  return new Promise<SftpSession>((resolve, reject) => {
    if (conn.closed) return reject(conn.lost("before SFTP started"));
    const unwatch = conn.whenLost(() => reject(conn.lost("before SFTP started")));
    conn.client.sftp((err, sftp) => {
      unwatch();
      if (err) {
        reject(
          new SshError("command-failed", `ssh: no SFTP session on ${conn.where}: ${err.message}`, {
            cause: err,
          }),
        );
      } else resolve(new SftpSession(conn, sftp, dirs));
    });
  });
}

/**
 * Opens up to `count` SFTP sessions (channels) on one connection. OpenSSH
 * serves each channel with a process of its own that handles its requests
 * one at a time, so a request that waits on the server's disk (an fsync)
 * holds up only its own channel, and the fsyncs of several channels share
 * the file system's journal commits. The first session must open; a server
 * that refuses more (sshd's `MaxSessions`) just gives fewer.
 *
 * @param conn A connection from `connectSsh`.
 * @param count Sessions wanted (1 or more).
 * @returns One to `count` sessions, sharing their known directories.
 * @throws {SshError} When not even one session opens.
 *
 * @example
 * ```ts ignore
 * import { openSftpChannels } from "./sftp.ts";
 * const sessions = await openSftpChannels(ssh, 4);
 * ```
 */
export async function openSftpChannels(
  conn: SshConnection,
  count: number,
): Promise<SftpSession[]> {
  const dirs = new Set<string>();
  const first = await openSftp(conn, dirs);
  const more = await Promise.allSettled(
    Array.from({ length: Math.max(0, count - 1) }, () => openSftp(conn, dirs)),
  );
  const sessions = [first];
  for (const r of more) if (r.status === "fulfilled") sessions.push(r.value);
  return sessions;
}
