/**
 * The SSH client, once: connect with a key to a host whose key is pinned
 * (known_hosts or fingerprints), run one command given as an argument array
 * (every argument quoted), open SFTP; every failure an {@linkcode SshError}
 * with a `reason`. Loads `npm:ssh2` (~25 MB RSS): import it only where SSH
 * is used.
 *
 * @example Run a command on a VM
 * ```ts ignore
 * import { connectSsh, execOutput } from "./mod.ts";
 * const ssh = await connectSsh({ host: "vm1", user: "sluice", privateKeyFile: "id_ed25519", knownHostsFile: "known_hosts" });
 * try {
 *   const r = await execOutput(ssh, ["sudo", "-n", "nft", "list", "set", "inet", "sluice", "blocked"], { timeoutMs: 10_000 });
 *   console.log(r.code, r.text, r.stderr);
 * } finally {
 *   await ssh.end();
 * }
 * ```
 *
 * @module
 */

export * from "./error.ts";
export * from "./known_hosts.ts";
export * from "./connect.ts";
export * from "./exec.ts";
export * from "./sftp.ts";
