/**
 * The iptables backend, for hosts without nftables: a chain of its own
 * (`sluice`, jumped to first from INPUT) holding one DROP rule per blocked
 * address, in iptables for IPv4 and ip6tables for IPv6. iptables has no
 * per-rule timeout, so sluice removes each rule when its ban ends (and
 * reconciles on start).
 *
 * @example
 * ```ts
 * import { iptablesBackend } from "./iptables.ts";
 * import { localExecutor } from "./executor.ts";
 * const fw = iptablesBackend(localExecutor());
 * ```
 *
 * @module
 */

import { parseTarget, type Target } from "./address.ts";
import { type BlockedEntry, type FirewallBackend, FirewallError } from "./backend.ts";
import type { Executor } from "./executor.ts";

/** Options for {@linkcode iptablesBackend}. */
export interface IptablesBackendOptions {
  /** The IPv4 binary. @default {"iptables"} */
  iptables?: string;
  /** The IPv6 binary. @default {"ip6tables"} */
  ip6tables?: string;
  /** The chain sluice owns. @default {"sluice"} */
  chain?: string;
}

const _NAME = /^[A-Za-z][A-Za-z0-9_-]{0,27}$/;

/**
 * Makes the iptables backend.
 *
 * @param exec Where the commands run.
 * @param options Binaries and chain name.
 * @returns The backend.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { iptablesBackend } from "./iptables.ts";
 * import { localExecutor } from "./executor.ts";
 * import { parseTarget } from "./address.ts";
 * const fw = iptablesBackend(localExecutor());
 * assert.deepEqual(fw.commands(parseTarget("1.2.3.4")!, 60)[0],
 *   ["iptables", "-w", "-I", "sluice", "1", "-s", "1.2.3.4", "-j", "DROP"]);
 * ```
 */
export function iptablesBackend(
  exec: Executor,
  options: IptablesBackendOptions = {},
): FirewallBackend {
  const v4 = options.iptables ?? "iptables";
  const v6 = options.ip6tables ?? "ip6tables";
  const chain = options.chain ?? "sluice";
  if (!_NAME.test(chain)) {
    throw new TypeError(
      `iptablesBackend: "chain" must be a plain name, got ${JSON.stringify(chain)}`,
    );
  }
  const bin = (t: Target) => (t.family === 4 ? v4 : v6);
  const rule = (t: Target) => ["-s", t.text, "-j", "DROP"];

  async function run(argv: string[]) {
    const r = await exec.run(argv);
    if (r.code !== 0) throw new FirewallError(argv, r.code, r.stderr);
    return r;
  }

  async function has(t: Target): Promise<boolean> {
    const r = await exec.run([bin(t), "-w", "-C", chain, ...rule(t)]);
    return r.code === 0;
  }

  return {
    kind: "iptables",
    where: exec.where,
    expiresItself: false,
    async ensure() {
      for (const b of [v4, v6]) {
        const exists = await exec.run([b, "-w", "-n", "-L", chain]);
        if (exists.code !== 0) await run([b, "-w", "-N", chain]);
        const jump = await exec.run([b, "-w", "-C", "INPUT", "-j", chain]);
        if (jump.code !== 0) await run([b, "-w", "-I", "INPUT", "1", "-j", chain]);
      }
    },
    commands(t) {
      return [[bin(t), "-w", "-I", chain, "1", ...rule(t)]];
    },
    async block(t) {
      if (await has(t)) return;
      await run([bin(t), "-w", "-I", chain, "1", ...rule(t)]);
    },
    async unblock(t) {
      // One rule per target is the rule; a duplicate left by hand goes too.
      for (let i = 0; i < 16 && (await has(t)); i++) {
        await run([bin(t), "-w", "-D", chain, ...rule(t)]);
      }
    },
    async list() {
      const out: BlockedEntry[] = [];
      for (const b of [v4, v6]) {
        const r = await exec.run([b, "-w", "-S", chain]);
        if (r.code !== 0) continue;
        for (const line of r.stdout.split("\n")) {
          const m = /^-A \S+ -s (\S+) -j DROP$/.exec(line.trim());
          const t = m ? parseTarget(m[1]) : undefined;
          if (t) out.push({ text: t.text });
        }
      }
      return out;
    },
    async flush() {
      for (const b of [v4, v6]) {
        const r = await exec.run([b, "-w", "-F", chain]);
        if (r.code !== 0 && !/No chain|does not exist/i.test(r.stderr)) {
          throw new FirewallError([b, "-w", "-F", chain], r.code, r.stderr);
        }
      }
    },
  };
}
