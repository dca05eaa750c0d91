/**
 * The central of the active-response tests in network namespaces
 * (netns_test, netns_operator_test): which peers are here, a backend in the
 * victim's namespace, the rule path into respondSink, and a lab per test.
 *
 * @module
 */

import { createEvent, definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { createLogger } from "../../core/log.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import { invalidUserSweep } from "../../siem/rules/invalid_user_sweep.ts";
import { asAlert, hasAlert } from "../../siem/correlate.ts";
import { respondSink } from "../../respond/sink.ts";
import { localExecutor } from "../../respond/executor.ts";
import { nftBackend } from "../../respond/nft.ts";
import { iptablesBackend } from "../../respond/iptables.ts";
import type { FirewallBackend } from "../../respond/backend.ts";
import { manualSource } from "../fixtures/components.ts";
import { peer } from "../_peers.ts";
import { canMakeNamespaces, type Lab, makeLab } from "./_netns.ts";

/** Whether this machine lets the tests make network namespaces. */
export const can = await canMakeNamespaces();
/** The nft binary, if installed. */
export const nft = peer("nft", "nftables");
/** The iptables binary, if installed. */
export const iptables = peer("iptables", "iptables");
/** OpenSSH's sshd, if installed. */
export const sshd = peer("sshd", "openssh-server");
/** OpenSSH's ssh client, if installed. */
export const ssh = peer("ssh", "openssh-client");
/** A logger for errors only. */
export const quiet = createLogger("error");

/** Which firewall a test drives. */
export type Kind = "nft" | "iptables";

/**
 * The firewall backend of `kind` run inside the lab's victim namespace.
 *
 * @example
 * ```ts ignore
 * const backend = backendIn(lab, "nft");
 * ```
 */
export function backendIn(lab: Lab, kind: Kind): FirewallBackend {
  const exec = localExecutor({ prefix: ["ip", "netns", "exec", lab.victim], where: "local" });
  return kind === "nft" ? nftBackend(exec) : iptablesBackend(exec);
}

/**
 * The central's rule path: sshd lines → parser → sweep rule → alerts → respondSink.
 *
 * @example
 * ```ts ignore
 * const { src, sink, engine } = await central(lab, "nft", `${dir}/responses.db`);
 * ```
 */
export async function central(
  lab: Lab,
  kind: Kind,
  dbPath: string,
  opts: { mode?: "on" | "dry-run"; allow?: string[] } = {},
) {
  const src = manualSource("victim sshd");
  const sink = respondSink({
    database: dbPath,
    mode: opts.mode ?? "on",
    backends: { local: backendIn(lab, kind) },
    allow: opts.allow ?? [],
    bantimeSec: 4,
    intervalMs: 300,
  });
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [src],
        steps: [sshdParser(), invalidUserSweep({ threshold: 3 }), hasAlert(), asAlert()],
        to: [sink],
      }],
    }),
    { logger: quiet },
  );
  await engine.start();
  return { src, sink, engine };
}

/**
 * Emits sshd lines from the victim into the central's source and waits for their ack.
 *
 * @example
 * ```ts ignore
 * await feed(src, ["Invalid user a from 10.0.0.9 port 1"]);
 * ```
 */
export async function feed(src: ReturnType<typeof manualSource>, lines: string[]): Promise<void> {
  const batch: LogEvent[] = lines.map((l) =>
    createEvent(l, { host: "victim", program: "sshd", timestamp: Date.now() })
  );
  if (batch.length) await new Promise<void>((resolve) => void src.emit(batch, resolve));
}

/**
 * Runs `fn` in a fresh lab (namespaces, veths), closed after.
 *
 * @example
 * ```ts ignore
 * await withLab(async (lab) => { await startVictimSshd(lab); });
 * ```
 */
export async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await makeLab();
  try {
    await fn(lab);
  } finally {
    await lab.close();
  }
}

/** Whether the lab tests can run: namespaces, sshd and ssh. */
export const ready = can && !!sshd && !!ssh;
