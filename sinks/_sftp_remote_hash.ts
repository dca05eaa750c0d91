/**
 * Remote hashing for the sftp-object sink: the server hashes a stored file
 * itself (`sha256sum -- <path>` run over the same SSH connection), so an
 * upload is verified without sending its bytes back (as rclone does with
 * `md5sum`/`sha1sum` on SFTP remotes). Servers that refuse commands
 * (`ForceCommand internal-sftp`, ssh2 servers without an exec handler) or
 * lack `sha256sum` are detected once per connection, and the caller falls
 * back to reading the file back.
 *
 * The command is pinned: exactly `sha256sum -- <path>…`, each path quoted as
 * one argument (ssh/exec.ts), its output accepted only as lines of 64
 * lowercase hex digits, two spaces, one of the paths (in the order given)
 * and a newline. Anything else (a name `sha256sum` would escape, a banner,
 * another program answering) is no answer. The files waiting to be hashed
 * on a connection go in one command (many small uploads, one process on
 * the server instead of one each). Commands over 4 MiB of data run
 * `openssl dgst -sha256 -r -- <path>…` instead when the server has it
 * (pinned too, lines `<hex> *<path>`): it uses the CPU's SHA extensions,
 * eight times `sha256sum`'s speed here; without it, `sha256sum` does them.
 *
 * @module
 */

import { exec } from "../ssh/exec.ts";
import { StreamHash } from "./_sftp_warm_hash.ts";
import type { SshConnection } from "../ssh/connect.ts";
import {
  type HashTool as _Tool,
  maxHashOutput as _maxOutput,
  OPENSSL_TOOL as _OPENSSL,
  parseSha256sumLines,
  SHA256SUM_TOOL as _SHA256SUM,
} from "./_sftp_hash_commands.ts";

export {
  opensslHashCommand,
  parseSha256sum,
  parseSha256sumLines,
  remoteHashCommand,
} from "./_sftp_hash_commands.ts";

/** Paths in one command at most. */
const BATCH_FILES = 256;
/** Bytes of paths in one command at most (sshd and the shell take far more). */
const BATCH_PATH_BYTES = 48 * 1024;
/** Bytes to hash in one command at most (a batch holds at least one file). */
const BATCH_BYTES = 64 * 1024 * 1024;

/**
 * Commands hashing this many bytes or more go to OpenSSL when the server
 * has it: it uses the CPU's SHA extensions, coreutils' `sha256sum` does not
 * (measured here: 100 MB in 0.07 s of CPU against 0.55 s), which is most of
 * the wait after a big upload.
 */
const OPENSSL_MIN = 4 * 1024 * 1024;

/** What {@linkcode RemoteHasher.hash} found. */
export type RemoteHashResult =
  | { ok: true; sha256: string }
  | { ok: false; reason: string };

/** One file waiting for its hash. */
interface _Wanted {
  path: string;
  size: number;
  resolve: (r: RemoteHashResult) => void;
  reject: (err: unknown) => void;
}

/** What the hasher knows about one connection. */
interface _PerConnection {
  queue: _Wanted[];
  running: number;
  unsupported?: string;
  /** Why OpenSSL is not used on this connection, once found out. */
  noOpenssl?: string;
  /** The commands kept running, by program. */
  streams: Map<string, StreamHash>;
  /** Why commands kept running are not used on this connection, once found out. */
  noStream?: string;
  latencyMs?: number;
}

/**
 * Runs `sha256sum` on the server, remembering per connection whether the
 * server can (a refused command or a missing program is not asked again on
 * that connection), with at most `maxParallel` commands at once per
 * connection; the files asked for meanwhile wait and then go in one
 * command together (up to 256 files, 48 KiB of paths, 64 MiB of data).
 *
 * @example
 * ```ts ignore
 * const hasher = new RemoteHasher();
 * const r = await hasher.hash(sftp.connection, "samples/vm1/.0123456789abcdef.partial", 1 << 20);
 * if (r.ok) console.log(r.sha256); else console.log("read it back:", r.reason);
 * ```
 */
export class RemoteHasher {
  readonly #conns = new WeakMap<SshConnection, _PerConnection>();
  readonly #maxParallel: number;
  readonly #onCommand: ((files: number) => void) | undefined;

  /**
   * @param maxParallel Commands at once per connection (few: the others' files wait and share one).
   * @param onCommand Called as each command starts, with its number of files.
   */
  constructor(maxParallel = 2, onCommand?: (files: number) => void) {
    this.#maxParallel = maxParallel;
    this.#onCommand = onCommand;
  }

  #of(conn: SshConnection): _PerConnection {
    let st = this.#conns.get(conn);
    if (!st) {
      st = { queue: [], running: 0, streams: new Map() };
      this.#conns.set(conn, st);
    }
    return st;
  }

  /**
   * Why the server cannot hash on `conn`, once it was found out.
   *
   * @param conn The connection.
   * @returns The reason, or `undefined` while it may.
   */
  unsupported(conn: SshConnection): string | undefined {
    return this.#conns.get(conn)?.unsupported;
  }

  /**
   * How long a command takes to start and end on `conn`, in ms (the
   * fastest seen: the remote user's shell startup, e.g. a `.bashrc` that
   * bash reads for sshd's commands, dominates it), once one ran.
   *
   * @param conn The connection.
   * @returns Milliseconds, or `undefined` before the first command.
   */
  latencyMs(conn: SshConnection): number | undefined {
    return this.#conns.get(conn)?.latencyMs;
  }

  /**
   * Hashes `path` on the server (with the other files waiting then, in one command).
   *
   * @param conn The SSH connection the SFTP session runs on.
   * @param path The remote path, as given to SFTP.
   * @param size Its size (sets the command's deadline).
   * @returns The digest, or why there is none (never throws for a server that cannot).
   * @throws When the connection is lost meanwhile.
   */
  async hash(conn: SshConnection, path: string, size: number): Promise<RemoteHashResult> {
    const st = this.#of(conn);
    if (st.unsupported) return { ok: false, reason: st.unsupported };
    if (/[\0\n\\]/.test(path)) {
      // sha256sum escapes such a name in its output; NUL cannot be passed at all.
      return { ok: false, reason: "sha256sum cannot name this path plainly" };
    }
    if (!st.noStream) {
      const r = await this.#streamed(conn, st, path, size);
      if (r) return r;
    }
    return await new Promise<RemoteHashResult>((resolve, reject) => {
      st.queue.push({ path, size, resolve, reject });
      this.#pump(conn, st);
    });
  }

  /**
   * Starts the command kept running on `conn` (unless it runs), so that
   * the server's side of it (sshd, the user's shell) is ready when the
   * upload of a file of `size` bytes ends.
   *
   * @param conn The connection.
   * @param size The file's size (big ones are hashed by OpenSSL where it is there).
   */
  prepare(conn: SshConnection, size: number): void {
    const st = this.#of(conn);
    if (st.unsupported || st.noStream) return;
    this.#stream(conn, st, this.#tool(st, size));
  }

  #tool(st: _PerConnection, size: number): _Tool {
    return size >= OPENSSL_MIN && !st.noOpenssl ? _OPENSSL : _SHA256SUM;
  }

  #stream(conn: SshConnection, st: _PerConnection, tool: _Tool): StreamHash {
    let s = st.streams.get(tool.name);
    // One that ended without ever answering (commands refused, xargs missing): not again.
    if (s && !s.alive && !s.answered && s.ended !== undefined && !conn.closed) {
      st.noStream = s.ended;
      return s;
    }
    if (!s?.alive) {
      this.#onCommand?.(0);
      s = new StreamHash(conn, tool.stream, tool.sep);
      st.streams.set(tool.name, s);
    }
    return s;
  }

  /** Hashes with the command kept running; `undefined`: ask otherwise. */
  async #streamed(
    conn: SshConnection,
    st: _PerConnection,
    path: string,
    size: number,
  ): Promise<RemoteHashResult | undefined> {
    const tool = this.#tool(st, size);
    const started = performance.now();
    const r = await this.#stream(conn, st, tool).hash(path, size);
    if (conn.closed) throw conn.lost("while the server hashed an upload");
    if (r.kind === "ok") {
      const fixed = Math.max(
        1,
        performance.now() - started - size / (tool === _OPENSSL ? 1e6 : 200e3),
      );
      st.latencyMs = Math.min(fixed, st.latencyMs ?? Infinity);
      return { ok: true, sha256: r.sha256 };
    }
    if (r.kind === "no") return { ok: false, reason: r.reason };
    if (tool === _OPENSSL) {
      // OpenSSL missing or answering otherwise: sha256sum, kept running too.
      st.noOpenssl = r.reason;
      return await this.#streamed(conn, st, path, size);
    }
    // xargs missing, a ForceCommand answering: asked the plain way from now on.
    st.noStream = r.reason;
    for (const s of st.streams.values()) s.close();
    st.streams.clear();
    return undefined;
  }

  #pump(conn: SshConnection, st: _PerConnection): void {
    while (st.running < this.#maxParallel && st.queue.length) {
      const batch: _Wanted[] = [];
      let pathBytes = 0;
      let bytes = 0;
      while (st.queue.length && batch.length < BATCH_FILES) {
        const next = st.queue[0] as _Wanted;
        const len = _maxOutput(next.path);
        if (
          batch.length && (pathBytes + len > BATCH_PATH_BYTES || bytes + next.size > BATCH_BYTES)
        ) break;
        batch.push(st.queue.shift() as _Wanted);
        pathBytes += len;
        bytes += next.size;
      }
      st.running++;
      this.#run(conn, st, batch).then(
        (results) => batch.forEach((w, i) => w.resolve(results[i] as RemoteHashResult)),
        (err) => batch.forEach((w) => w.reject(err)),
      ).finally(() => {
        st.running--;
        this.#pump(conn, st);
      });
    }
  }

  async #run(
    conn: SshConnection,
    st: _PerConnection,
    batch: readonly _Wanted[],
  ): Promise<RemoteHashResult[]> {
    const all = (reason: string) => batch.map(() => ({ ok: false as const, reason }));
    if (st.unsupported) return all(st.unsupported);
    const paths = batch.map((w) => w.path);
    const size = batch.reduce((n, w) => n + w.size, 0);
    // At 20 MB/s on a slow disk; a hung command is killed and the caller reads back.
    const timeoutMs = 30_000 + Math.ceil(size / 20_000);
    const tool = this.#tool(st, size);
    // A program that is not there, or answers otherwise, leaves sha256sum to do it.
    const otherwise = (reason: string) => {
      if (tool !== _OPENSSL) return undefined;
      st.noOpenssl = reason;
      return this.#run(conn, st, batch);
    };
    const started = performance.now();
    this.#onCommand?.(paths.length);
    const p = exec(conn, tool.command(paths), { timeoutMs, highWaterMark: 64 * 1024 });
    const max = paths.reduce((n, path) => n + _maxOutput(path), 0);
    const parts: Uint8Array[] = [];
    let got = 0;
    const reading = (async () => {
      for await (const chunk of p.stdout) {
        got += chunk.byteLength;
        if (got > max) {
          p.kill();
          break;
        }
        parts.push(chunk);
      }
    })();
    let status;
    try {
      [status] = await Promise.all([p.status, reading.catch(() => {})]);
    } catch (err) {
      if (conn.closed) throw err;
      const reason = `the server refused "sha256sum": ${
        err instanceof Error ? err.message : String(err)
      }`;
      // A timeout is about these files; a refused channel about the server.
      if (!/did not finish within/.test(reason)) st.unsupported = reason;
      return all(reason);
    }
    if (status.code === 127 || status.code === 126) {
      const reason = `"${tool.name}" cannot run on the server (exit code ${status.code})`;
      const instead = otherwise(reason);
      if (instead) return await instead;
      st.unsupported = reason;
      return all(reason);
    }
    if (got > max) return all(`"${tool.name}" printed more than one line a file`);
    const bytes = new Uint8Array(got);
    let off = 0;
    for (const part of parts) {
      bytes.set(part, off);
      off += part.byteLength;
    }
    const text = new TextDecoder().decode(bytes);
    // 0: all hashed; 1: some could not be read (their errors on stderr), the others are.
    const found = status.code === 0 || status.code === 1
      ? parseSha256sumLines(text, paths, tool.sep)
      : undefined;
    const why = `"${tool.name}" answered exit code ${status.code}${
      status.signal ? ` (signal ${status.signal})` : ""
    } and ${JSON.stringify(text.slice(0, 120))}${
      status.stderr.trim() ? `, stderr ${JSON.stringify(status.stderr.trim().slice(0, 200))}` : ""
    }`;
    if (!found || found.every((h) => h === undefined)) {
      // The files exist (SFTP just wrote them): an error for all, or another program
      // answering (ForceCommand), says the shell cannot see them or hash them, for every
      // file. Only a killed command is about these files alone.
      if (status.signal === undefined) {
        const instead = otherwise(why);
        if (instead) return await instead;
        st.unsupported = why;
      }
      return all(why);
    }
    // The hashing's own time (~200 MB/s, OpenSSL's ~1 GB/s) is taken out to keep the
    // command's fixed cost.
    const fixed = Math.max(
      1,
      performance.now() - started - size / (tool === _OPENSSL ? 1e6 : 200e3),
    );
    st.latencyMs = Math.min(fixed, st.latencyMs ?? Infinity);
    return found.map((sha256) =>
      sha256 === undefined ? { ok: false as const, reason: why } : { ok: true as const, sha256 }
    );
  }
}
