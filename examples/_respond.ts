/**
 * The central example's active-response flags: `--respond off|dry-run|on`
 * (dry-run by default: decisions are recorded, no firewall changes),
 * `--respond-backend nft|iptables`, `--respond-allow CIDR,CIDR`,
 * `--respond-bantime 10m`, `--respond-hosts on` (block on the attacked
 * host over SSH, for the hosts of `monitored_hosts`), `--respond-netns NS`.
 *
 * @module
 */

import { option } from "./_options.ts";
import { parseDuration } from "../core/duration.ts";
import { firewallBackends, monitoredHosts } from "../respond/backends.ts";
import { type RespondSink, respondSink } from "../respond/sink.ts";
import type { ResponseMode } from "../respond/responder.ts";

/** Resolved active-response settings. */
export interface RespondSettings {
  /** `off`, `dry-run` or `on`. */
  mode: ResponseMode;
  /** `nft` or `iptables`. */
  backend: "nft" | "iptables";
  /** Networks never blocked. */
  allow: string[];
  /** The first ban, in seconds. */
  bantimeSec: number;
  /** Whether the monitored hosts' own firewalls are used, over SSH. */
  remote: boolean;
  /** A network namespace for the local firewall commands. */
  netns: string | undefined;
}

/**
 * Reads the active-response flags.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @returns The settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { respondSettings } from "./_respond.ts";
 * assert.equal(respondSettings([], {}).mode, "dry-run");
 * assert.equal(respondSettings(["--respond", "on"], {}).mode, "on");
 * ```
 */
export function respondSettings(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): RespondSettings {
  const mode = option(
    args,
    env,
    "respond",
    "dry-run",
    "active response: off, dry-run (record only) or on (block attackers)",
  );
  if (mode !== "off" && mode !== "dry-run" && mode !== "on") {
    throw new RangeError(`--respond: expected off, dry-run or on, got "${mode}"`);
  }
  const backend = option(
    args,
    env,
    "respond-backend",
    "nft",
    "firewall of active response: nft or iptables",
  );
  if (backend !== "nft" && backend !== "iptables") {
    throw new RangeError(`--respond-backend: expected nft or iptables, got "${backend}"`);
  }
  const allow = option(
    args,
    env,
    "respond-allow",
    "",
    "networks never blocked, comma-separated (loopback always)",
  )
    .split(",").map((s) => s.trim()).filter(Boolean);
  const bantimeText = option(
    args,
    env,
    "respond-bantime",
    "10m",
    "first ban; each repeat offence doubles it",
  );
  const ms = parseDuration(bantimeText);
  if (ms === undefined || ms < 1000) {
    throw new RangeError(`--respond-bantime: expected a duration like 10m, got "${bantimeText}"`);
  }
  const remote = option(
    args,
    env,
    "respond-hosts",
    "off",
    "on: block on the attacked monitored host over SSH",
  );
  if (remote !== "on" && remote !== "off") {
    throw new RangeError(`--respond-hosts: expected on or off, got "${remote}"`);
  }
  const netns = option(
    args,
    env,
    "respond-netns",
    "",
    "run local firewall commands in this network namespace",
  );
  return {
    mode,
    backend,
    allow,
    bantimeSec: ms / 1000,
    remote: remote === "on",
    netns: netns || undefined,
  };
}

/**
 * The active-response sink for the central's rule-alert path, or
 * `undefined` when `--respond off`.
 *
 * @param s The settings.
 * @param database The SIEM database (holds `responses` and `monitored_hosts`).
 * @param help Whether the pipeline is only built for `--help` (nothing is opened).
 * @returns The sink.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { respondSettings, respondSinkFor } from "./_respond.ts";
 * assert.equal(respondSinkFor(respondSettings(["--respond", "off"], {}), ":memory:"), undefined);
 * ```
 */
export function respondSinkFor(
  s: RespondSettings,
  database: string,
  help = false,
): RespondSink | undefined {
  if (s.mode === "off") return undefined;
  const hosts = s.remote && !help ? monitoredHosts(database) : [];
  return respondSink({
    database,
    mode: s.mode,
    backends: firewallBackends({ kind: s.backend, ...(s.netns ? { netns: s.netns } : {}), hosts }),
    allow: s.allow,
    bantimeSec: s.bantimeSec,
    name: "respond",
  });
}
