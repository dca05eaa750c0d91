/**
 * Remote hashing for the sftp-object sink: the server hashes a stored file
 * itself (`sha256sum -- <path>` run over the same SSH connection), so an
 * upload is verified without sending its bytes back (as rclone does with
 * `md5sum`/`sha1sum` on SFTP remotes). Servers that refuse commands
 * (`ForceCommand internal-sftp`, ssh2 servers without an exec handler) or
 * lack `sha256sum` are detected once per connection, and the caller falls
 * back to reading the file back.
 *
 * The command is pinned: exactly `sha256sum -- <path>`, the path quoted as
 * one argument (ssh/exec.ts), its output accepted only as 64 lowercase hex
 * digits, two spaces, the path and a newline. Anything else (a name
 * `sha256sum` escapes, a banner, another program answering) is no answer.
 *
 * @module
 */

import { exec } from "../ssh/exec.ts";
import type { SshConnection } from "../ssh/connect.ts";

/** Bytes of output a well-formed answer can never exceed (hash, spaces, path, newline). */
function _maxOutput(path: string): number {
  return 64 + 2 + new TextEncoder().encode(path).length + 1;
}

/**
 * The argument array run on the server for `path` (the command is pinned).
 *
 * @param path The remote path as given to SFTP.
 * @returns `["sha256sum", "--", path]`.
 *
 * @example
 * ```ts
 * import { remoteHashCommand } from "./_sftp_remote_hash.ts";
 * console.assert(remoteHashCommand("-x").join(" ") === "sha256sum -- -x");
 * ```
 */
export function remoteHashCommand(path: string): string[] {
  return ["sha256sum", "--", path];
}

/**
 * Parses `sha256sum`'s output for one file, strictly.
 *
 * @param output Its stdout.
 * @param path The path it was given.
 * @returns The hex digest, or `undefined` when the output is not exactly one well-formed line for `path`.
 *
 * @example
 * ```ts
 * import { parseSha256sum } from "./_sftp_remote_hash.ts";
 * const h = "a".repeat(64);
 * console.assert(parseSha256sum(`${h}  x/y\n`, "x/y") === h);
 * console.assert(parseSha256sum(`\\${h}  x\\ny\n`, "x\ny") === undefined);
 * ```
 */
export function parseSha256sum(output: string, path: string): string | undefined {
  if (output.length !== 64 + 2 + path.length + 1 || !output.endsWith("\n")) return undefined;
  const hex = output.slice(0, 64);
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  if (output.slice(64, 66) !== "  " || output.slice(66, -1) !== path) return undefined;
  return hex;
}

/** What {@linkcode RemoteHasher.hash} found. */
export type RemoteHashResult =
  | { ok: true; sha256: string }
  | { ok: false; reason: string };

/**
 * Runs `sha256sum` on the server, remembering per connection whether the
 * server can (a refused command or a missing program is not asked again on
 * that connection), with at most `maxParallel` commands at once per
 * connection (sshd allows 10 sessions by default, one is SFTP's).
 *
 * @example
 * ```ts ignore
 * const hasher = new RemoteHasher();
 * const r = await hasher.hash(sftp.connection, "samples/vm1/.0123456789abcdef.partial", 1 << 20);
 * if (r.ok) console.log(r.sha256); else console.log("read it back:", r.reason);
 * ```
 */
export class RemoteHasher {
  readonly #unsupported = new WeakMap<SshConnection, string>();
  readonly #running = new WeakMap<SshConnection, number>();
  readonly #waiters = new WeakMap<SshConnection, Array<() => void>>();
  readonly #latency = new WeakMap<SshConnection, number>();
  readonly #maxParallel: number;

  /** @param maxParallel Commands at once per connection. */
  constructor(maxParallel = 6) {
    this.#maxParallel = maxParallel;
  }

  /**
   * Why the server cannot hash on `conn`, once it was found out.
   *
   * @param conn The connection.
   * @returns The reason, or `undefined` while it may.
   */
  unsupported(conn: SshConnection): string | undefined {
    return this.#unsupported.get(conn);
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
    return this.#latency.get(conn);
  }

  /**
   * Hashes `path` on the server.
   *
   * @param conn The SSH connection the SFTP session runs on.
   * @param path The remote path, as given to SFTP.
   * @param size Its size (sets the command's deadline).
   * @returns The digest, or why there is none (never throws for a server that cannot).
   * @throws When the connection is lost meanwhile.
   */
  async hash(conn: SshConnection, path: string, size: number): Promise<RemoteHashResult> {
    const known = this.#unsupported.get(conn);
    if (known) return { ok: false, reason: known };
    if (path.includes("\0")) return { ok: false, reason: "the path holds NUL" };
    await this.#acquire(conn);
    try {
      const again = this.#unsupported.get(conn);
      if (again) return { ok: false, reason: again };
      // At 20 MB/s on a slow disk; a hung command is killed and the caller reads back.
      const timeoutMs = 30_000 + Math.ceil(size / 20_000);
      const started = performance.now();
      const p = exec(conn, remoteHashCommand(path), { timeoutMs, highWaterMark: 64 * 1024 });
      const max = _maxOutput(path);
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
        // A timeout is about this file; a refused channel about the server.
        if (!/did not finish within/.test(reason)) this.#unsupported.set(conn, reason);
        return { ok: false, reason };
      }
      if (status.code === 127 || status.code === 126) {
        const reason = `"sha256sum" cannot run on the server (exit code ${status.code})`;
        this.#unsupported.set(conn, reason);
        return { ok: false, reason };
      }
      if (got > max) return { ok: false, reason: `"sha256sum" printed more than one line` };
      const bytes = new Uint8Array(got);
      let off = 0;
      for (const part of parts) {
        bytes.set(part, off);
        off += part.byteLength;
      }
      const text = new TextDecoder().decode(bytes);
      const sha256 = status.code === 0 ? parseSha256sum(text, path) : undefined;
      if (sha256 === undefined) {
        const reason = `"sha256sum" answered exit code ${status.code}${
          status.signal ? ` (signal ${status.signal})` : ""
        } and ${JSON.stringify(text.slice(0, 120))}${
          status.stderr.trim()
            ? `, stderr ${JSON.stringify(status.stderr.trim().slice(0, 200))}`
            : ""
        }`;
        // The file exists (SFTP just wrote it): an error, or another program answering
        // (ForceCommand), says the shell cannot see it or hash it, for every file. Only a
        // name sha256sum escapes (a leading backslash) or a killed command is this file's.
        if (status.signal === undefined && !text.startsWith("\\")) {
          this.#unsupported.set(conn, reason);
        }
        return { ok: false, reason };
      }
      // The hashing's own time (~1 GB/s) is taken out to keep the command's fixed cost.
      const fixed = Math.max(1, performance.now() - started - size / 1e6);
      this.#latency.set(conn, Math.min(fixed, this.#latency.get(conn) ?? Infinity));
      return { ok: true, sha256 };
    } finally {
      this.#release(conn);
    }
  }

  async #acquire(conn: SshConnection): Promise<void> {
    while ((this.#running.get(conn) ?? 0) >= this.#maxParallel) {
      await new Promise<void>((resolve) => {
        const list = this.#waiters.get(conn) ?? [];
        list.push(resolve);
        this.#waiters.set(conn, list);
      });
    }
    this.#running.set(conn, (this.#running.get(conn) ?? 0) + 1);
  }

  #release(conn: SshConnection): void {
    this.#running.set(conn, (this.#running.get(conn) ?? 1) - 1);
    this.#waiters.get(conn)?.shift()?.();
  }
}
