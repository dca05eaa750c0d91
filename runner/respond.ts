/**
 * `sluice respond list|block|unblock|flush|reconcile`: the operator's side
 * of active response, over the `responses` table of the SIEM database and
 * the firewalls it names (`local`, or a host of `monitored_hosts` reached
 * over SSH).
 *
 * ```sh
 * sluice respond list
 * sluice respond block 203.0.113.7 --for 1h --reason "scanner"
 * sluice respond unblock 203.0.113.7
 * sluice respond flush --host vm-1
 * ```
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { firewallBackends, monitoredHosts } from "../respond/backends.ts";
import { DecisionTable } from "../respond/decisions.ts";
import { Responder } from "../respond/responder.ts";
import { parseDuration } from "../core/duration.ts";

/** Where the commands write (tests capture it). */
export interface RespondIo {
  /** A line to standard output. */
  out(line: string): void;
  /** A line to standard error. */
  err(line: string): void;
}

interface _Opts {
  db?: string;
  backend?: string;
  netns?: string;
  host?: string;
  dryRun?: boolean;
  by?: string;
}

function _responder(o: _Opts, host: string | undefined): Responder {
  const db = o.db ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db";
  const kind = (o.backend ?? "nft") as "nft" | "iptables";
  const hosts = host && host !== "local" ? monitoredHosts(db, host) : [];
  return new Responder({
    table: new DecisionTable(db),
    backends: firewallBackends({ kind, ...(o.netns ? { netns: o.netns } : {}), hosts }),
    mode: o.dryRun ? "dry-run" : "on",
  });
}

function _who(o: _Opts): string {
  return o.by ?? Deno.env.get("SUDO_USER") ?? Deno.env.get("USER") ?? "operator";
}

/**
 * Registers `respond` and its subcommands.
 *
 * @param program The commander program.
 * @param setExitCode Receives each command's exit code.
 * @param io Output. @default {console}
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "../core/_deps/commander.ts";
 * import { registerRespondCommand } from "./respond.ts";
 * const program = registerRespondCommand(new Command("sluice"), () => {});
 * assert.ok(program.commands.some((c) => c.name() === "respond"));
 * ```
 */
export function registerRespondCommand(
  program: Command,
  setExitCode: (code: number) => void,
  io: RespondIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Command {
  const respond = program.command("respond").description(
    "active response: list, block, unblock and flush decisions (the responses table)",
  );
  const common = (c: Command) =>
    c.option("--db <path>", "the SIEM database (SLUICE_DB; default ./data/siem.db)")
      .option("--backend <kind>", "nft or iptables", "nft")
      .option("--netns <name>", "run local firewall commands inside this network namespace")
      .option("--by <name>", "who does it (default $SUDO_USER or $USER)");
  const act = async (fn: () => Promise<void>) => {
    try {
      await fn();
      setExitCode(0);
    } catch (err) {
      io.err(`sluice respond: ${err instanceof Error ? err.message : String(err)}`);
      setExitCode(err instanceof TypeError || err instanceof RangeError ? 2 : 1);
    }
  };

  common(respond.command("list").description("the latest decisions, newest first"))
    .option("--limit <n>", "how many", "50")
    .action((o: _Opts & { limit: string }) =>
      act(() => {
        const table = new DecisionTable(o.db ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db");
        try {
          const rows = table.recent(Math.max(1, Number(o.limit) || 50));
          io.out(["id", "target", "host", "state", "until", "rule", "by", "reason"].join("\t"));
          for (const d of rows) {
            io.out(
              [
                d.id,
                d.target,
                d.host,
                d.state,
                d.until,
                d.rule,
                d.by,
                d.reason.replace(/\s+/g, " ").slice(0, 80),
              ].join("\t"),
            );
          }
        } finally {
          table.close();
        }
        return Promise.resolve();
      })
    );

  common(respond.command("block").description("blocks an address or network").argument("<target>"))
    .option("--host <name>", "where: local or a monitored host", "local")
    .option("--for <duration>", "how long (90s, 30m, 1h, 7d)", "1h")
    .option("--reason <text>", "why", "blocked by an operator")
    .option("--dry-run", "record what would be done, change nothing")
    .action((target: string, o: _Opts & { for: string; reason: string }) =>
      act(async () => {
        const ms = parseDuration(o.for);
        if (ms === undefined || ms < 1000) {
          throw new RangeError(`--for must be a duration of 1s or more, got "${o.for}"`);
        }
        const r = _responder(o, o.host);
        try {
          const res = await r.decide({
            target,
            host: o.host ?? "local",
            reason: o.reason,
            rule: "operator",
            by: _who(o),
            durationSec: ms / 1000,
          });
          if (res.outcome === "refused") throw new Error(`refused: ${res.reason}`);
          if (res.outcome === "new" || res.outcome === "existing") {
            const d = res.decision;
            if (d.state === "failed") throw new Error(`could not apply: ${d.result}`);
            io.out(
              `${
                res.outcome === "existing" ? "already " : ""
              }${d.state} #${d.id}: ${d.target} on ${d.host} until ${d.until}`,
            );
          }
        } finally {
          r.close();
        }
      })
    );

  common(
    respond.command("unblock").description("lifts a block by decision id or target").argument(
      "<what>",
    ),
  )
    .option("--host <name>", "only on this host")
    .action((what: string, o: _Opts) =>
      act(async () => {
        const r = _responder(o, o.host);
        try {
          const id = /^\d+$/.test(what) ? Number(what) : what;
          const done = await r.revoke(id, _who(o), o.host);
          if (done.length === 0) throw new Error(`no live decision for ${what}`);
          for (const d of done) io.out(`revoked #${d.id}: ${d.target} on ${d.host}`);
        } finally {
          r.close();
        }
      })
    );

  common(
    respond.command("flush").description("removes every block sluice made (on one host or all)"),
  )
    .option("--host <name>", "only on this host")
    .action((o: _Opts) =>
      act(async () => {
        const r = _responder(o, o.host);
        try {
          io.out(`revoked ${await r.flush(_who(o), o.host)} decision(s)`);
        } finally {
          r.close();
        }
      })
    );

  common(
    respond.command("reconcile").description(
      "makes the firewall agree with the table (after a reboot or crash)",
    ),
  )
    .option("--host <name>", "a monitored host instead of local")
    .action((o: _Opts) =>
      act(async () => {
        const r = _responder(o, o.host);
        try {
          const res = await r.reconcile();
          io.out(
            `re-applied ${res.reapplied}, removed ${res.removed} stale, expired ${res.expired}`,
          );
        } finally {
          r.close();
        }
      })
    );
  return program;
}
