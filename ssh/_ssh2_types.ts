/**
 * The small part of `npm:ssh2`'s API that sluice uses, typed by hand.
 * `@types/ssh2` pulls in an old `@types/node` that breaks `node:sqlite`'s
 * types, so the project does without it. Only `ssh/` and the tests' SSH
 * fixtures import ssh2 itself; this file holds types only.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import type { Socket } from "node:net";

/** A callback with only an error. */
export type Ssh2Callback = (err: Error | undefined | null) => void;

/** File attributes as ssh2 reports and accepts them (SFTP v3 ATTRS). */
export interface Ssh2Attributes {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  atime: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** What `stat`, `lstat` and `fstat` give. */
export interface Ssh2Stats extends Ssh2Attributes {
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/** One entry of `readdir`. */
export interface Ssh2DirEntry {
  filename: string;
  longname: string;
  attrs: Ssh2Stats;
}

/** An SFTP error: `code` is the SFTP status code (2 no such file, 4 failure …). */
export interface Ssh2SftpError extends Error {
  code?: number | string;
}

/** The client side of an SFTP session (ssh2's `SFTPWrapper`). */
export interface Ssh2Sftp {
  /** Extensions the server announced (`posix-rename@openssh.com`, `fsync@openssh.com` …). */
  readonly _extensions: Record<string, string>;
  /** Largest data payload of one WRITE request. */
  readonly _maxWriteLen?: number;
  /** Largest data payload of one READ request. */
  readonly _maxReadLen?: number;
  open(
    path: string,
    flags: string | number,
    cb: (err: Ssh2SftpError | undefined, handle: Buffer) => void,
  ): void;
  close(handle: Buffer, cb: Ssh2Callback): void;
  write(
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    cb: Ssh2Callback,
  ): void;
  read(
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    cb: (err: Ssh2SftpError | undefined, bytesRead: number, buffer: Buffer) => void,
  ): void;
  fstat(handle: Buffer, cb: (err: Ssh2SftpError | undefined, stats: Ssh2Stats) => void): void;
  stat(path: string, cb: (err: Ssh2SftpError | undefined, stats: Ssh2Stats) => void): void;
  mkdir(path: string, cb: Ssh2Callback): void;
  rename(from: string, to: string, cb: Ssh2Callback): void;
  ext_openssh_rename(from: string, to: string, cb: Ssh2Callback): void;
  ext_openssh_fsync(handle: Buffer, cb: Ssh2Callback): void;
  unlink(path: string, cb: Ssh2Callback): void;
  readdir(path: string, cb: (err: Ssh2SftpError | undefined, list: Ssh2DirEntry[]) => void): void;
  futimes(handle: Buffer, atime: number, mtime: number, cb: Ssh2Callback): void;
  end(): void;
}

/** A readable side of a channel (Node stream, flowing or paused). */
export interface Ssh2Readable {
  on(event: "data", listener: (chunk: Buffer) => void): this;
  on(event: "end" | "close", listener: () => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  pause(): this;
  resume(): this;
}

/** A session channel on the client side (an exec's stdin/stdout, with `stderr`). */
export interface Ssh2Channel extends Ssh2Readable {
  on(event: "data", listener: (chunk: Buffer) => void): this;
  on(event: "end" | "close", listener: () => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  on(
    event: "exit",
    listener: (code: number | null, signal?: string, dumped?: boolean, desc?: string) => void,
  ): this;
  readonly stderr: Ssh2Readable;
  write(data: Buffer | Uint8Array, cb?: (err?: Error | null) => void): boolean;
  end(data?: Buffer | Uint8Array): this;
  once(event: "drain", listener: () => void): this;
  signal(name: string): boolean;
  close(): void;
  destroy(): this;
}

/** Options of `Client.connect` that sluice sets. */
export interface Ssh2ConnectConfig {
  sock: Socket;
  username: string;
  privateKey: Buffer | string;
  passphrase?: string;
  hostVerifier: (key: Buffer) => boolean;
  readyTimeout?: number;
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  algorithms?: { serverHostKey?: string[]; cipher?: string[] };
}

/** What a key exchange agreed on (ssh2's "handshake" event). */
export interface Ssh2Negotiated {
  kex: string;
  serverHostKey: string;
  cs: { cipher: string; mac: string; compress: string };
  sc: { cipher: string; mac: string; compress: string };
}

/** An SSH client connection. */
export interface Ssh2Client {
  on(event: "ready" | "close" | "end", listener: () => void): this;
  on(event: "error", listener: (err: Error & { level?: string }) => void): this;
  once(event: "ready" | "close" | "end", listener: () => void): this;
  once(event: "handshake", listener: (negotiated: Ssh2Negotiated) => void): this;
  once(event: "error", listener: (err: Error & { level?: string }) => void): this;
  removeListener(event: string, listener: (...args: never[]) => void): this;
  connect(config: Ssh2ConnectConfig): this;
  sftp(cb: (err: Error | undefined, sftp: Ssh2Sftp) => void): void;
  exec(
    command: string,
    options: Record<string, never>,
    cb: (err: Error | undefined, channel: Ssh2Channel) => void,
  ): boolean;
  end(): void;
  destroy(): void;
}

/** A parsed key (`utils.parseKey`). */
export interface Ssh2ParsedKey {
  readonly type: string;
  getPublicSSH(): Buffer;
  verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean | Error;
}

/** A key pair made by `utils.generateKeyPairSync`, in OpenSSH formats. */
export interface Ssh2KeyPair {
  private: string;
  public: string;
}

// Server side, for the tests' in-process SFTP server.

/** The server side of an SFTP session: requests arrive as events, answers go back by request id. */
export interface Ssh2SftpServerSession {
  on(event: "OPEN", l: (id: number, path: string, flags: number, attrs: unknown) => void): this;
  on(event: "READ", l: (id: number, handle: Buffer, offset: number, len: number) => void): this;
  on(event: "WRITE", l: (id: number, handle: Buffer, offset: number, data: Buffer) => void): this;
  on(
    event: "CLOSE" | "FSTAT" | "READDIR",
    l: (id: number, handle: Buffer) => void,
  ): this;
  on(
    event: "FSETSTAT",
    l: (id: number, handle: Buffer, attrs: Partial<Ssh2Attributes>) => void,
  ): this;
  on(
    event: "STAT" | "LSTAT" | "REMOVE" | "RMDIR" | "REALPATH" | "MKDIR" | "OPENDIR",
    l: (id: number, path: string) => void,
  ): this;
  on(event: "SETSTAT", l: (id: number, path: string, attrs: Partial<Ssh2Attributes>) => void): this;
  on(event: "RENAME", l: (id: number, from: string, to: string) => void): this;
  on(event: "close" | "end", l: () => void): this;
  on(event: "error", l: (err: Error) => void): this;
  handle(id: number, handle: Buffer): void;
  status(id: number, code: number, message?: string): void;
  data(id: number, data: Buffer): void;
  name(
    id: number,
    names: Array<{ filename: string; longname: string; attrs: Ssh2Attributes }>,
  ): void;
  attrs(id: number, attrs: Ssh2Attributes): void;
  end(): void;
}

/** A session channel on the server side. */
export interface Ssh2ServerSession {
  on(event: "sftp", l: (accept: () => Ssh2SftpServerSession, reject: () => void) => void): this;
  on(event: string, l: (accept?: () => unknown, reject?: () => void) => void): this;
}

/** What the server's authentication event gives. */
export interface Ssh2AuthContext {
  method: string;
  username: string;
  key?: { algo: string; data: Buffer };
  signature?: Buffer;
  blob?: Buffer;
  hashAlgo?: string;
  accept(): void;
  reject(methods?: string[]): void;
}

/** One client connection on the server side. */
export interface Ssh2ServerConnection {
  on(event: "authentication", l: (ctx: Ssh2AuthContext) => void): this;
  on(event: "ready" | "close" | "end", l: () => void): this;
  on(event: "error", l: (err: Error) => void): this;
  on(event: "session", l: (accept: () => Ssh2ServerSession, reject: () => void) => void): this;
  setNoDelay(noDelay?: boolean): this;
  end(): void;
}

/** ssh2's server. */
export interface Ssh2Server {
  listen(port: number, host: string, cb: () => void): this;
  address(): { port: number; address: string };
  close(cb?: () => void): this;
  on(event: "connection", l: (conn: Ssh2ServerConnection) => void): this;
  on(event: "error", l: (err: Error) => void): this;
}

/** The module's shape (its default export). */
export interface Ssh2Module {
  Client: new () => Ssh2Client;
  Server: new (
    config: { hostKeys: Array<string | Buffer> },
    listener?: (conn: Ssh2ServerConnection) => void,
  ) => Ssh2Server;
  utils: {
    parseKey(data: string | Buffer, passphrase?: string): Ssh2ParsedKey | Ssh2ParsedKey[] | Error;
    generateKeyPairSync(
      type: "ed25519" | "ecdsa" | "rsa",
      options?: { bits?: number },
    ): Ssh2KeyPair;
    sftp: {
      OPEN_MODE: Record<"READ" | "WRITE" | "APPEND" | "CREAT" | "TRUNC" | "EXCL", number>;
      STATUS_CODE: Record<
        | "OK"
        | "EOF"
        | "NO_SUCH_FILE"
        | "PERMISSION_DENIED"
        | "FAILURE"
        | "BAD_MESSAGE"
        | "NO_CONNECTION"
        | "CONNECTION_LOST"
        | "OP_UNSUPPORTED",
        number
      >;
    };
  };
}
