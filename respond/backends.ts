/**
 * Builds the firewalls active response can use from settings: the local one
 * (optionally inside a network namespace) and one per remote host reached
 * over SSH (the hosts of `monitored_hosts`, the same keys and pinned host
 * keys the agentless collector uses).
 *
 * @example
 * ```ts
 * import { firewallBackends } from "./backends.ts";
 * const backends = firewallBackends({ kind: "nft" });
 * ```
 *
 * @module
 */

import type { FirewallBackend } from "./backend.ts";
import { localExecutor } from "./executor.ts";
import { iptablesBackend } from "./iptables.ts";
import { nftBackend } from "./nft.ts";
import {
  listMonitoredHosts,
  openHostRegistry,
  type SshJournalHost,
} from "../sources/_ssh_journal_registry.ts";

/**
 * The hosts of `monitored_hosts` (the agentless collector's registry), whose
 * firewalls active response reaches over SSH with the same key and pinned
 * host key.
 *
 * @param database The SIEM database.
 * @param name Only this host. @default {every host}
 * @returns The hosts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { monitoredHosts } from "./backends.ts";
 * assert.deepEqual(monitoredHosts(":memory:"), []);
 * ```
 */
export function monitoredHosts(database: string, name?: string): SshJournalHost[] {
  const reg = openHostRegistry(database);
  try {
    const all = listMonitoredHosts(reg);
    return name === undefined ? all : all.filter((h) => h.name === name);
  } finally {
    reg.close();
  }
}

/** Options for {@linkcode firewallBackends}. */
export interface FirewallBackendsOptions {
  /** `nft` or `iptables`. @default {"nft"} */
  kind?: "nft" | "iptables";
  /** Block on this machine's firewall too. @default {true} */
  local?: boolean;
  /** Run the local commands inside this network namespace (`ip netns exec`). @default {none} */
  netns?: string;
  /** Remote hosts: commands run over SSH with `sudo -n`. @default {[]} */
  hosts?: readonly SshJournalHost[];
}

/**
 * Makes the backends, by place: `local` and each host's name.
 *
 * @param options Kind, local, namespace, remote hosts.
 * @returns The backends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firewallBackends } from "./backends.ts";
 * assert.deepEqual(Object.keys(firewallBackends({ kind: "iptables" })), ["local"]);
 * ```
 */
export function firewallBackends(
  options: FirewallBackendsOptions = {},
): Record<string, FirewallBackend> {
  const kind = options.kind ?? "nft";
  if (kind !== "nft" && kind !== "iptables") {
    throw new TypeError(
      `firewallBackends: "kind" must be nft or iptables, got ${JSON.stringify(kind)}`,
    );
  }
  const make = kind === "nft" ? nftBackend : iptablesBackend;
  const out: Record<string, FirewallBackend> = {};
  if (options.local ?? true) {
    if (options.netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.netns)) {
      throw new TypeError(
        `firewallBackends: "netns" must be a namespace name, got ${JSON.stringify(options.netns)}`,
      );
    }
    out.local = make(
      localExecutor(options.netns ? { prefix: ["ip", "netns", "exec", options.netns] } : {}),
    );
  }
  for (const h of options.hosts ?? []) {
    out[h.name] = make(_lazySsh(h));
  }
  return out;
}

/** An SSH executor loaded on first use, so a central without remote firewalls never loads ssh2. */
function _lazySsh(h: SshJournalHost) {
  let real: Promise<import("./executor.ts").Executor> | undefined;
  return {
    where: h.name,
    async run(argv: readonly string[]) {
      real ??= import("./ssh_executor.ts").then(({ sshExecutor }) =>
        sshExecutor({
          name: h.name,
          ssh: {
            host: h.address ?? h.name,
            port: h.port ?? 22,
            user: h.user,
            privateKeyFile: h.privateKeyFile,
            ...(h.knownHostsFile ? { knownHostsFile: h.knownHostsFile } : {}),
            ...(h.hostKeyFingerprint ? { hostKeyFingerprint: h.hostKeyFingerprint } : {}),
          },
        })
      );
      return (await real).run(argv);
    },
  };
}
