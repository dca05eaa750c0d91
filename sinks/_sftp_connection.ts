/**
 * The connection of the sftp-object sink: one SSH connection with its SFTP
 * channels, opened on demand (one attempt at a time), closed when idle.
 *
 * @module
 */

import type { ComponentStats } from "../core/stats.ts";
import { connectSsh, type SshConnectOptions } from "../ssh/connect.ts";
import { openSftpChannels, type SftpSession } from "../ssh/sftp.ts";

/** What a {@linkcode SftpConnector} needs from its sink. */
export interface SftpConnectorOptions {
  /** The SSH options, asked at each connect (the key is read at open). */
  ssh: () => SshConnectOptions;
  /** SFTP channels to open on the connection. */
  channels: number;
  /** Close the connection after this long without a write (ms). */
  idleCloseMs: number;
  /** The sink's stats, once open (gauges `connected` and `channels`). */
  stats: () => ComponentStats | undefined;
}

/**
 * Keeps the sink's connection: the SFTP sessions (channels) of one SSH
 * connection. OpenSSH serves each with a process of its own, so one waiting
 * on the server's disk (an fsync) does not hold up the others.
 *
 * @example
 * ```ts ignore
 * const connector = new SftpConnector({ ssh: () => sshOptions, channels: 4, idleCloseMs: 30_000, stats: () => undefined });
 * const sessions = await connector.connect();
 * connector.scheduleIdleClose();
 * await connector.close();
 * ```
 */
export class SftpConnector {
  readonly #o: SftpConnectorOptions;
  #conn: SftpSession[] | undefined;
  #connecting: Promise<SftpSession[]> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** @param options SSH options, channels, idle time, stats. */
  constructor(options: SftpConnectorOptions) {
    this.#o = options;
  }

  /**
   * The open sessions, connecting (again) when there are none or the connection closed.
   *
   * @returns The sessions, at least one.
   */
  async connect(): Promise<SftpSession[]> {
    if (this.#conn && !this.#conn[0]?.closed) return this.#conn;
    if (this.#connecting) return await this.#connecting;
    this.#connecting = (async () => {
      if (this.#conn) await this.#conn[0]?.connection.end().catch(() => {});
      this.#conn = undefined;
      const ssh = await connectSsh(this.#o.ssh());
      let opened: SftpSession[];
      try {
        opened = await openSftpChannels(ssh, this.#o.channels);
      } catch (err) {
        ssh.destroy();
        throw err;
      }
      this.#conn = opened;
      this.#o.stats()?.set("connected", 1);
      this.#o.stats()?.set("channels", opened.length);
      return opened;
    })();
    try {
      return await this.#connecting;
    } finally {
      this.#connecting = undefined;
    }
  }

  /** Stops the idle timer (a write is starting). */
  clearIdle(): void {
    clearTimeout(this.#idleTimer);
  }

  /** Closes the connection once it has been idle for `idleCloseMs`. */
  scheduleIdleClose(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const c = this.#conn;
      this.#conn = undefined;
      this.#o.stats()?.set("connected", 0);
      c?.[0]?.connection.end().catch(() => {});
    }, this.#o.idleCloseMs);
    Deno.unrefTimer(this.#idleTimer);
  }

  /** Closes the connection (after a connect under way). */
  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#connecting) await this.#connecting.catch(() => {});
    const c = this.#conn;
    this.#conn = undefined;
    await c?.[0]?.connection.end();
    this.#o.stats()?.set("connected", 0);
  }
}
