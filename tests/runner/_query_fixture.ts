/**
 * The fixture of the query and tail tests: a SIEM database filled once
 * per test file through the real pipeline (alerts, auth events, hosts,
 * objects, correlated alerts), and a way to run the commands.
 *
 * @module
 */

import { Command } from "commander";
import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type EventInit,
  type LogEvent,
} from "../../mod.ts";
import { jsonParser } from "../../parsers/json.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import { type QueryIo, registerQueryCommands } from "../../runner/query.ts";
import { categorize } from "../../siem/categorize.ts";
import { asAlert, correlateStore, hasAlert } from "../../siem/correlate.ts";
import { sshdBruteForce } from "../../siem/rules/sshd_brute_force.ts";
import { sshdSuccessAfterFailures } from "../../siem/rules/success_after_failures.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { vmsSink } from "../../siem/vms.ts";
import { manualSource } from "../fixtures/components.ts";

/** A logger that prints nothing. */
export const quiet = createLogger("silent");
/** The time the fixture's events are dated from (ms). */
export const NOW = Date.now();
const MIN = 60_000;
/** A SHA-256 (hex) the fixture's alerts and objects share. */
export const H1 = "a1".repeat(32);
/** Another SHA-256 (hex) of the fixture. */
export const H2 = "b2".repeat(32);

/** An event received `ago` ms before the test started. */
function ev(message: string, ago: number, init: EventInit = {}): LogEvent {
  const e = createEvent(message, init);
  e.receivedAt = NOW - ago;
  return e;
}

/**
 * A JSON alert line from `host`, `ago` ms before {@linkcode NOW}.
 *
 * @example
 * ```ts ignore
 * json(5 * 60_000, { rule: "r", severity: "critical" }, "vm-1");
 * ```
 */
export function json(ago: number, body: Record<string, unknown>, host?: string): LogEvent {
  return ev(
    JSON.stringify({ timestamp: new Date(NOW - ago).toISOString(), ...body }),
    ago,
    host ? { host } : {},
  );
}

function sshd(ago: number, text: string, host = "vm-1"): LogEvent {
  return ev(text, ago, { host, program: "sshd", timestamp: NOW - ago, sourceIp: "10.0.0.11" });
}

let counter = 0;
/**
 * Gives events stable ids under `source`.
 *
 * @example
 * ```ts ignore
 * ids([json(0, {})], "test");
 * ```
 */
export function ids(events: LogEvent[], source: string): LogEvent[] {
  for (const e of events) e.id = `${source}:${counter++}`;
  return events;
}

/**
 * Fills a SIEM database as the central does: JSON from the VMs (alerts,
 * heartbeats), sshd lines through the rules, synced objects; through the
 * SIEM store and the VM registry.
 */
async function fill(database: string): Promise<void> {
  const vm = manualSource("vm");
  const auth = manualSource("auth");
  const objects = manualSource("objects");
  const store = siemSqliteSink({ database });
  const registry = vmsSink({ database });
  const rules = [sshdBruteForce(), sshdSuccessAfterFailures()];
  const engine = new Engine(
    definePipeline({
      paths: [
        { from: [vm], steps: [jsonParser(), categorize()], to: [store, registry] },
        {
          from: [auth],
          steps: [sshdParser(), categorize(), ...rules],
          to: [store, registry, correlateStore(rules)],
          paths: [{ steps: [hasAlert(), asAlert()], to: [store] }],
        },
        { from: [objects], steps: [categorize()], to: [store, registry] },
      ],
    }),
    { logger: quiet },
  );
  await engine.start();
  const send = (src: typeof vm, batch: LogEvent[]) =>
    new Promise<void>((resolve) => void src.emit(ids(batch, src.name as string), resolve));
  try {
    await send(vm, [
      json(60 * MIN, { type: "heartbeat", host: "vm-1", agent_version: "0.1.0", uptime: 10 }),
      json(10_000, { type: "heartbeat", host: "vm-1", agent_version: "0.1.0", uptime: 3600 }),
      json(150_000, { type: "heartbeat", host: "vm-2", agent_version: "0.1.0", uptime: 50 }),
      json(60 * MIN, { type: "heartbeat", host: "vm-3", agent_version: "0.0.9", uptime: 9 }),
      json(60 * MIN, {
        host: "vm-1",
        severity: "critical",
        rule: "CobaltStrike_Beacon",
        file: "/var/quarantine/a.bin",
        hash: H1,
        msg: "YARA rule CobaltStrike_Beacon matched",
      }),
      json(120 * MIN, {
        host: "vm-2",
        severity: "high",
        rule: "Webshell_PHP_Generic",
        file: "/var/www/x.php",
        hash: H2,
      }),
      json(3 * 24 * 60 * MIN, { host: "vm-1", severity: "critical", rule: "Mimikatz_Strings" }),
      json(120 * MIN, { host: "vm-3", severity: "medium", rule: "Suspicious_Cron_Entry" }),
    ]);
    const lines: LogEvent[] = [];
    const users = ["root", "admin", "root", "ubuntu", "root", "test", "root", "oracle"];
    users.forEach((u, i) => {
      const ago = 30 * MIN - i * 1000;
      lines.push(
        sshd(
          ago,
          `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=${u}`,
        ),
        sshd(ago, `Failed password for ${u} from 203.0.113.9 port ${40000 + i} ssh2`),
      );
    });
    for (let i = 0; i < 3; i++) {
      lines.push(sshd(20 * MIN - i, `Failed password for root from 198.51.100.7 port ${i} ssh2`));
    }
    for (let i = 0; i < 5; i++) {
      lines.push(
        sshd(15 * MIN - i * 1000, `Failed password for deploy from 192.0.2.44 port ${i} ssh2`),
      );
    }
    lines.push(sshd(14 * MIN, "Accepted password for deploy from 192.0.2.44 port 99 ssh2"));
    await send(auth, lines);
    await send(objects, [
      ev("quarantine/a.bin", 50 * MIN, {
        host: "vm-1",
        fields: {
          object: {
            host: "vm-1",
            kind: "quarantine",
            path: "quarantine/a.bin",
            size: 4096,
            sha256: H1,
            uploaded_at: new Date(NOW - 50 * MIN).toISOString(),
            remote: "samples/vm-1/quarantine/a.bin",
          },
        },
      }),
      ev("dumps/core.1", 40 * MIN, {
        host: "vm-2",
        fields: {
          object: {
            host: "vm-2",
            kind: "dumps",
            path: "dumps/core.1",
            size: 1 << 20,
            sha256: H2,
            uploaded_at: new Date(NOW - 40 * MIN).toISOString(),
          },
        },
      }),
    ]);
  } finally {
    await engine.stop();
  }
}

/** What a command printed: its output and info lines. */
export interface Captured {
  out: string;
  info: string[];
}

/**
 * A {@linkcode QueryIo} that captures into `captured`.
 *
 * @example
 * ```ts ignore
 * const captured: Captured = { out: "", info: [] };
 * registerQueryCommands(program, io(captured, { tty: true }));
 * ```
 */
export function io(
  captured: Captured,
  options: { columns?: number; tty?: boolean; env?: Record<string, string>; signal?: AbortSignal } =
    {},
): QueryIo {
  return {
    write: (text) => void (captured.out += text),
    info: (text) => void captured.info.push(text),
    isTerminal: options.tty ?? false,
    columns: options.columns,
    env: (name) => options.env?.[name],
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * Runs `sluice <args>` (the query and tail commands) and returns its output.
 *
 * @example
 * ```ts ignore
 * const out = await cli(["query", "hosts", "--db", db]);
 * ```
 */
export async function cli(
  args: string[],
  options: Parameters<typeof io>[1] = {},
): Promise<string> {
  const captured: Captured = { out: "", info: [] };
  const program = new Command("sluice").exitOverride().configureOutput({
    writeOut: (s) => void (captured.out += s),
    writeErr: () => {},
  });
  registerQueryCommands(program, io(captured, options));
  await program.parseAsync(args, { from: "user" });
  return captured.out;
}

/** The fixture's temporary directory (set once {@linkcode ready} resolves). */
export let dir: string;
/** The filled SIEM database (set once {@linkcode ready} resolves). */
export let db: string;
/** Resolves once the fixture's database is filled. */
export const ready = (async () => {
  dir = await Deno.makeTempDir();
  db = `${dir}/siem.db`;
  await fill(db);
})();

/**
 * Runs `sluice query <args> --format json` over the fixture's database.
 *
 * @example
 * ```ts ignore
 * const rows = await q("critical", "--since", "24h");
 * ```
 */
export async function q(...args: string[]): Promise<Array<Record<string, unknown>>> {
  await ready;
  return JSON.parse(await cli(["query", ...args, "--db", db, "--format", "json"]));
}
