/**
 * Runs firewall commands on another host over SSH, with the shared client
 * (ssh/): key login, the host key pinned, one argument array per command
 * (each argument quoted, so nothing in it is read by the remote shell), and
 * `sudo -n` in front so that the remote user needs only a sudoers line for
 * the exact firewall binaries (`NOPASSWD: /usr/sbin/nft`). One connection
 * per host, made on first use and again after it is lost.
 *
 * @example
 * ```ts
 * import { sshExecutor } from "./ssh_executor.ts";
 * const exec = sshExecutor({
 *   name: "vm-1",
 *   ssh: { host: "10.0.0.11", user: "sluice", privateKeyFile: "id_ed25519", knownHostsFile: "known_hosts" },
 * });
 * ```
 *
 * @module
 */

import { connectSsh, type SshConnection, type SshConnectOptions } from "../ssh/connect.ts";
import { execOutput } from "../ssh/exec.ts";
import { checkArgv, type Executor } from "./executor.ts";

/** Options for {@linkcode sshExecutor}. */
export interface SshExecutorOptions {
  /** The host's name in decisions and logs. */
  name: string;
  /** How to reach and log in to it (host key pinning is required). */
  ssh: SshConnectOptions;
  /** Words before every command. @default {["sudo", "-n"]} */
  prefix?: readonly string[];
  /** Milliseconds before a command counts as failed. @default {15000} */
  timeoutMs?: number;
}

/** An executor over SSH that can be closed. */
export interface SshExecutor extends Executor {
  /** Ends the connection. */
  close(): Promise<void>;
}

/**
 * Makes an executor that runs commands on a host over SSH.
 *
 * @param options Name, SSH settings, prefix, deadline.
 * @returns The executor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sshExecutor } from "./ssh_executor.ts";
 * const exec = sshExecutor({ name: "vm-1", ssh: { host: "127.0.0.1", user: "x", hostKeyFingerprint: "SHA256:x" } });
 * assert.equal(exec.where, "vm-1");
 * ```
 */
export function sshExecutor(options: SshExecutorOptions): SshExecutor {
  const prefix = [...(options.prefix ?? ["sudo", "-n"])];
  const timeoutMs = options.timeoutMs ?? 15_000;
  let conn: SshConnection | undefined;
  let connecting: Promise<SshConnection> | undefined;
  const connection = async (): Promise<SshConnection> => {
    if (conn && !conn.closed) return conn;
    connecting ??= connectSsh({ name: `respond ${options.name}`, ...options.ssh }).then((c) => {
      conn = c;
      return c;
    }).finally(() => (connecting = undefined));
    return await connecting;
  };
  return {
    where: options.name,
    async run(argv) {
      const full = checkArgv([...prefix, ...argv]);
      try {
        const c = await connection();
        const r = await execOutput(c, full, { timeoutMs });
        return { code: r.code ?? -1, stdout: r.text, stderr: r.stderr };
      } catch (err) {
        return { code: -1, stdout: "", stderr: `ssh ${options.name}: ${(err as Error).message}` };
      }
    },
    async close() {
      const c = conn;
      conn = undefined;
      await c?.end();
    },
  };
}
