/**
 * `sluice hosts add|list|remove|accept-key`: the hosts the agentless
 * collector (`sshJournalSource({ registry })`) pulls the journal from, kept
 * in the `monitored_hosts` table of the SIEM database. A running pipeline
 * picks changes up at its next poll; no restart.
 *
 * @module
 */

import { redactSecrets } from "../core/log.ts";
import type { Command } from "../core/_deps/commander.ts";
import {
  acceptHostKey,
  addMonitoredHost,
  listMonitoredHosts,
  openHostRegistry,
  removeMonitoredHost,
} from "../sources/_ssh_journal_registry.ts";

/** Where the commands write their output (tests capture it). */
export interface HostsIo {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
}

function _db(options: { db?: string }): string {
  return options.db ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db";
}

function _collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Registers `hosts` and its subcommands on the program.
 *
 * @param program The commander program.
 * @param setExitCode Receives each command's exit code.
 * @param io Output. @default {console}
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerHostsCommand } from "./hosts.ts";
 * const program = registerHostsCommand(new Command("sluice"), () => {});
 * assert.ok(program.commands.some((c) => c.name() === "hosts"));
 * ```
 */
export function registerHostsCommand(
  program: Command,
  setExitCode: (code: number) => void,
  io: HostsIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Command {
  const hosts = program.command("hosts").description(
    "hosts whose journal is pulled over SSH (the monitored_hosts table)",
  );
  const run = (fn: () => void) => {
    try {
      fn();
      setExitCode(0);
    } catch (err) {
      io.err(`sluice hosts: ${redactSecrets(err instanceof Error ? err.message : String(err))}`);
      setExitCode(err instanceof TypeError || err instanceof RangeError ? 2 : 1);
    }
  };
  const withDb = <T>(
    options: { db?: string },
    fn: (db: ReturnType<typeof openHostRegistry>) => T,
  ) => {
    const db = openHostRegistry(_db(options));
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  hosts.command("add")
    .description("add a host (or change one of that name)")
    .argument("<name>", "the host's name: HOST of its events and its row in vms")
    .requiredOption("--user <user>", "the SSH user (allowed `sudo -n journalctl`)")
    .requiredOption("--key <file>", "the private key file")
    .option("--address <address>", "the address to dial (default: the name)")
    .option("--port <port>", "the SSH port", "22")
    .option("--unit <unit>", "a systemd unit to read (repeatable)", _collect, [])
    .option("--arg <arg>", "one more journalctl argument or match (repeatable)", _collect, [])
    .option("--fingerprint <sha256>", "the host key's SHA256 fingerprint, checked out of band")
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .action((name: string, o: {
      user: string;
      key: string;
      address?: string;
      port: string;
      unit: string[];
      arg: string[];
      fingerprint?: string;
      db?: string;
    }) =>
      run(() => {
        const port = Number(o.port);
        withDb(o, (db) =>
          addMonitoredHost(db, {
            name,
            address: o.address ?? name,
            port,
            user: o.user,
            privateKeyFile: o.key,
            units: o.unit,
            args: o.arg,
            ...(o.fingerprint ? { hostKeyFingerprint: o.fingerprint } : {}),
          }));
        io.out(
          `added ${name}${
            o.fingerprint
              ? ""
              : " (no key pinned: its first connection is refused; check the offered key and run `sluice hosts accept-key`)"
          }`,
        );
      })
    );
  hosts.command("list")
    .description("list the hosts, their pinned key and any key offered since")
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .option("--json", "one JSON object per line")
    .action((o: { db?: string; json?: boolean }) =>
      run(() => {
        for (const h of withDb(o, listMonitoredHosts)) {
          if (o.json) {
            io.out(JSON.stringify(h));
            continue;
          }
          const pinned = typeof h.hostKeyFingerprint === "string" ? h.hostKeyFingerprint : "-";
          io.out(
            [
              h.name,
              `${h.user}@${h.address}:${h.port}`,
              `key=${h.privateKeyFile}`,
              `units=${(h.units ?? []).join(",") || "*"}`,
              `pinned=${pinned}`,
              ...(h.offeredKey ? [`OFFERED=${h.offeredKey}`] : []),
            ].join("  "),
          );
        }
      })
    );
  hosts.command("remove")
    .description("stop pulling from a host (its saved cursor stays)")
    .argument("<name>", "the host's name")
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .action((name: string, o: { db?: string }) =>
      run(() => {
        if (!withDb(o, (db) => removeMonitoredHost(db, name))) {
          throw new Error(`no monitored host "${name}"`);
        }
        io.out(`removed ${name}`);
      })
    );
  hosts.command("accept-key")
    .description("pin the key a host offered (after a change or on first contact)")
    .argument("<name>", "the host's name")
    .option("--fingerprint <sha256>", "the fingerprint to pin (default: the one it offered)")
    .option("--db <file>", "the SIEM database (default $SLUICE_DB or ./data/siem.db)")
    .action((name: string, o: { db?: string; fingerprint?: string }) =>
      run(() => {
        const fp = withDb(o, (db) => acceptHostKey(db, name, o.fingerprint));
        io.out(`${name}: pinned ${fp}`);
      })
    );
  return program;
}
