/**
 * Fills a SIEM database the way the central does (the same parsers,
 * categorizer, rules and sinks), with a small fleet's week: heartbeats,
 * YARA and scanner alerts, sshd logins with a brute force, firewall drops,
 * synced objects. Deterministic for a given `now`.
 */

import { createEvent, createLogger, definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { jsonParser } from "../../parsers/json.ts";
import { kvParser } from "../../parsers/kv.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import { categorize } from "../../siem/categorize.ts";
import { asAlert, correlateStore, hasAlert } from "../../siem/correlate.ts";
import { sshdBruteForce } from "../../siem/rules/sshd_brute_force.ts";
import { sshdSuccessAfterFailures } from "../../siem/rules/success_after_failures.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { vmsSink } from "../../siem/vms.ts";
import { manualSource } from "../fixtures/components.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

/** A tiny deterministic random generator (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HOSTS = ["web-1", "web-2", "db-1", "build-1", "mail-1", "vpn-gw"] as const;

const RULES: [string, string, string, string][] = [
  ["CobaltStrike_Beacon", "critical", "yara", "/var/quarantine/beacon.bin"],
  ["Mimikatz_Strings", "critical", "yara", "/tmp/.x/m.exe"],
  ["Webshell_PHP_Generic", "high", "yara", "/var/www/html/up.php"],
  ["XMRig_Miner", "high", "sauron", "/dev/shm/xmr"],
  ["Suspicious_Cron_Entry", "medium", "sauron", "/etc/cron.d/update"],
  ["SSH_Authorized_Key_Added", "medium", "sauron", "/root/.ssh/authorized_keys"],
  ["Packed_ELF_UPX", "low", "yara", "/usr/local/bin/tool"],
  ["Hidden_File_In_Tmp", "info", "sauron", "/tmp/.cache"],
];

export interface SeedOptions {
  /** "Now", ms. */
  now: number;
  /** Alerts per day (spread over 7 days). @default {60} */
  alertsPerDay?: number;
  /** Extra alerts to store as given (XSS payloads in tests). */
  extraAlerts?: Record<string, unknown>[];
}

/** Fills `database`; resolves once every event is stored. */
export async function seedSiem(database: string, options: SeedOptions): Promise<void> {
  const { now } = options;
  const rand = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const vm = manualSource("vm");
  const auth = manualSource("auth");
  const fw = manualSource("fw");
  const store = siemSqliteSink({ database });
  const registry = vmsSink({ database });
  const rules = [sshdBruteForce(), sshdSuccessAfterFailures()];
  const engine = new Engine(
    definePipeline({
      paths: [
        {
          from: [vm],
          steps: [jsonParser({ prefix: "json" }), categorize()],
          to: [store, registry],
        },
        {
          from: [auth],
          steps: [sshdParser(), categorize(), ...rules],
          to: [store, registry, correlateStore(rules)],
          paths: [{ steps: [hasAlert(), asAlert()], to: [store] }],
        },
        { from: [fw], steps: [kvParser({ prefix: "fw" }), categorize()], to: [store, registry] },
      ],
    }),
    { logger: createLogger("silent") },
  );
  let n = 0;
  const at = (e: LogEvent, t: number, source: string) => {
    e.timestamp = t;
    e.receivedAt = t;
    e.id = `${source}:${n++}`;
    return e;
  };
  const json = (t: number, body: Record<string, unknown>) =>
    at(createEvent(JSON.stringify({ timestamp: new Date(t).toISOString(), ...body })), t, "vm");
  const vmEvents: LogEvent[] = [];
  const authEvents: LogEvent[] = [];
  const fwEvents: LogEvent[] = [];
  // Heartbeats every 5 min for the last 2 h; build-1 went stale, mail-1 silent.
  for (const host of HOSTS) {
    const lastAgo = host === "build-1" ? 12 * MIN : host === "mail-1" ? 3 * HOUR : 30_000;
    for (let ago = lastAgo; ago < lastAgo + 2 * HOUR; ago += 5 * MIN) {
      vmEvents.push(json(now - ago, {
        type: "heartbeat",
        host,
        agent_version: "0.1.0",
        uptime_s: 86_400 - ago / 1000,
        interval_s: 300,
      }));
    }
  }
  // Alerts over 7 days, more in the last day and in working hours.
  const perDay = options.alertsPerDay ?? 60;
  for (let i = 0; i < perDay * 7; i++) {
    const ago = Math.floor(Math.pow(rand(), 1.8) * 7 * 24 * HOUR);
    const [rule, severity, source, file] = rand() < 0.55
      ? RULES[4 + Math.floor(rand() * 4)] as [string, string, string, string]
      : pick(RULES);
    const host = pick(HOSTS);
    const hash = Array.from(
      { length: 64 },
      (_, k) => "0123456789abcdef"[(rule.length * 7 + k * 13) % 16],
    )
      .join("");
    vmEvents.push(json(now - ago, {
      host,
      severity,
      rule,
      file,
      hash,
      source,
      msg: `${source === "yara" ? "YARA rule" : "sauron check"} ${rule} matched ${file}`,
    }));
  }
  for (const extra of options.extraAlerts ?? []) {
    vmEvents.push(json(now - 5 * MIN, extra));
  }
  // sshd: a brute force from two addresses, sweeps, and ordinary logins.
  const attackers = ["203.0.113.9", "198.51.100.23", "192.0.2.77", "203.0.113.140"];
  const users = ["root", "admin", "ubuntu", "oracle", "test", "git", "postgres"];
  for (let i = 0; i < 400; i++) {
    // The first 120 come in one burst, which the brute-force rule turns into alerts.
    const ago = i < 120 ? 2 * HOUR - i * 3000 : Math.floor(rand() * 24 * HOUR);
    const src = i < 120 ? attackers[0] as string : pick(attackers);
    const host = pick(["web-1", "web-2", "vpn-gw", "db-1"]);
    const user = pick(users);
    const line = rand() < 0.3
      ? `Invalid user ${user} from ${src} port ${40000 + i}`
      : `Failed password for ${user} from ${src} port ${40000 + i} ssh2`;
    authEvents.push(
      at(createEvent(line, { host, program: "sshd", sourceIp: "10.0.0.11" }), now - ago, "auth"),
    );
  }
  for (let i = 0; i < 40; i++) {
    const ago = Math.floor(rand() * 24 * HOUR);
    const host = pick(HOSTS);
    authEvents.push(at(
      createEvent(
        `Accepted publickey for deploy from 10.0.0.${5 + (i % 3)} port ${
          50000 + i
        } ssh2: ED25519 SHA256:abc`,
        { host, program: "sshd", sourceIp: "10.0.0.11" },
      ),
      now - ago,
      "auth",
    ));
  }
  authEvents.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
  // Firewall drops.
  const ports = [22, 23, 445, 3389, 8080, 443, 5900, 3306];
  for (let i = 0; i < 500; i++) {
    const ago = Math.floor(rand() * 24 * HOUR);
    const src = `${pick(["185.220.101", "45.155.205", "193.32.162", "203.0.113"])}.${
      1 + Math.floor(rand() * 200)
    }`;
    const dpt = pick(ports);
    fwEvents.push(at(
      createEvent(
        `[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=${src} DST=10.0.0.5 LEN=60 TOS=0x00 PROTO=TCP SPT=${
          30000 + i
        } DPT=${dpt} WINDOW=64240 SYN`,
        { host: "vpn-gw", program: "kernel" },
      ),
      now - ago,
      "fw",
    ));
  }
  vmEvents.sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
  await engine.start();
  try {
    const send = (src: typeof vm, batch: LogEvent[]) =>
      new Promise<void>((resolve) => void src.emit(batch, resolve));
    for (let i = 0; i < vmEvents.length; i += 500) await send(vm, vmEvents.slice(i, i + 500));
    for (let i = 0; i < authEvents.length; i += 500) await send(auth, authEvents.slice(i, i + 500));
    for (let i = 0; i < fwEvents.length; i += 500) await send(fw, fwEvents.slice(i, i + 500));
  } finally {
    await engine.stop();
  }
}

if (import.meta.main) {
  const database = Deno.args[0] ?? "/tmp/siem-seed.db";
  await seedSiem(database, { now: Date.now() });
  console.log(`seeded ${database}`);
}
