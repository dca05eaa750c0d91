/**
 * A logged-in SSH connection ({@linkcode SshConnection}), as `connectSsh`
 * (ssh/connect.ts) makes it: when it is lost and why, and the channels the
 * other modules of ssh/ open on it.
 *
 * @module
 */

import type { Socket } from "node:net";
import type { Ssh2Channel, Ssh2Client } from "./_ssh2_types.ts";
import { type OfferedHostKey, SshError } from "./error.ts";
import { openWithWindow } from "./_window.ts";

function _msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A logged-in SSH connection. Run commands with `exec()` (ssh/exec.ts), open
 * SFTP with `openSftp()` (ssh/sftp.ts); `end()` when done.
 *
 * @example Connect, run, end
 * ```ts ignore
 * import { connectSsh } from "./connect.ts";
 * import { execOutput } from "./exec.ts";
 * const ssh = await connectSsh({ host: "vm1", user: "sluice", privateKeyFile: "id_ed25519", knownHostsFile: "known_hosts" });
 * const { code } = await execOutput(ssh, ["true"]);
 * await ssh.end();
 * ```
 */
export class SshConnection {
  /** The host as dialled. */
  readonly host: string;
  /** The port. */
  readonly port: number;
  /** The host key the server showed (and the pin accepted). */
  readonly hostKey: OfferedHostKey;
  /** The cipher the server → client direction agreed on (e.g. `chacha20-poly1305@openssh.com`). */
  readonly cipher: string;
  readonly #client: Ssh2Client;
  readonly #sock: Socket;
  readonly #name: string;
  readonly #closedPromise: Promise<void>;
  readonly #lostListeners = new Set<() => void>();
  #closed = false;
  #lostError: SshError | undefined;

  /** @internal Made by {@linkcode connectSsh}. */
  constructor(
    client: Ssh2Client,
    sock: Socket,
    info: { host: string; port: number; hostKey: OfferedHostKey; name: string; cipher?: string },
  ) {
    this.#client = client;
    this.#sock = sock;
    this.host = info.host;
    this.port = info.port;
    this.hostKey = info.hostKey;
    this.cipher = info.cipher ?? "";
    this.#name = info.name;
    this.#closedPromise = new Promise<void>((resolve) => {
      if (sock.destroyed) return resolve();
      sock.once("close", () => resolve());
    });
    const mark = (err?: Error & { level?: string }) => {
      if (err && !this.#lostError) {
        this.#lostError = new SshError(
          err.level === "client-timeout" ? "timeout" : "unreachable",
          `${this.#name}: connection to ${this.where} lost: ${err.message}`,
          { cause: err },
        );
      }
      if (this.#closed && this.#lostListeners.size === 0) return;
      this.#closed = true;
      const listeners = [...this.#lostListeners];
      this.#lostListeners.clear();
      for (const l of listeners) l();
    };
    client.on("close", () => mark());
    client.on("end", () => mark());
    client.on("error", (err) => mark(err));
    sock.once("close", () => mark());
  }

  /** `host:port` for messages. */
  get where(): string {
    return `${this.host}:${this.port}`;
  }

  /** Whether the connection is gone (ended, cut or timed out). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Why it was lost, when an error ended it (keepalive timeout, reset …). */
  get lostError(): SshError | undefined {
    return this.#lostError;
  }

  /**
   * Calls `listener` once the connection is lost (at once if it is).
   *
   * @param listener Called once.
   * @returns A function that removes the listener.
   */
  whenLost(listener: () => void): () => void {
    if (this.#closed) {
      listener();
      return () => {};
    }
    this.#lostListeners.add(listener);
    return () => void this.#lostListeners.delete(listener);
  }

  /**
   * ssh2's client, for the other modules of ssh/ (exec, sftp).
   *
   * @internal
   */
  get client(): Ssh2Client {
    return this.#client;
  }

  /**
   * Opens a session channel running `command` (already a shell string: use
   * ssh/exec.ts, which quotes an argument array). `windowBytes` caps the
   * channel's SSH receive window (ssh/_window.ts; ssh2's is 2 MiB).
   *
   * @internal
   */
  openExecChannel(command: string, windowBytes?: number): Promise<Ssh2Channel> {
    return new Promise<Ssh2Channel>((resolve, reject) => {
      if (this.#closed) return reject(this.lost("before the command started"));
      const unwatch = this.whenLost(() => reject(this.lost("before the command started")));
      try {
        let limit = (_channel: Ssh2Channel) => {};
        const open = () =>
          this.#client.exec(command, {}, (err, channel) => {
            unwatch();
            if (err) {
              reject(
                new SshError(
                  "command-failed",
                  `${this.#name}: ${this.where} refused to start a command: ${err.message}`,
                  { cause: err },
                ),
              );
            } else {
              limit(channel);
              resolve(channel);
            }
          });
        if (windowBytes === undefined) open();
        else limit = openWithWindow(this.#client, windowBytes, open);
      } catch (err) {
        unwatch();
        reject(this.lost(_msg(err)));
      }
    });
  }

  /**
   * The error for an operation cut by the loss of the connection.
   *
   * @internal
   */
  lost(when: string): SshError {
    const base = this.#lostError;
    return new SshError(
      base?.reason ?? "unreachable",
      `${this.#name}: connection to ${this.where} lost ${when}${
        base ? `: ${base.message.replace(/^.*? lost: /, "")}` : ""
      }`,
      base ? { cause: base } : {},
    );
  }

  /** Ends the connection and waits until the socket is closed (at most 2 s). */
  async end(): Promise<void> {
    this.#closed = true;
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
    this.#closed = true;
    this.#client.destroy();
    this.#sock.destroy();
  }
}
