/**
 * Seeds a SIEM database for the read-side benchmark and tests: the tables
 * and indexes exactly as `siemSqliteSink()` creates them (it opens the file
 * first), then alerts, auth events, firewall and system events, heartbeats
 * (the trigger fills `vms`) and objects with realistic skew: a few rules
 * and hosts make most alerts, a few thousand addresses most failed logins,
 * a daily rhythm with bursts. Rows go in time order, in large
 * transactions, with the secondary indexes dropped and rebuilt under the
 * same names.
 *
 * ```sh
 * deno run -A bench/seed_siem.ts --out /tmp/siem.db [--alerts 1000000] [--auth 1000000] [--hosts 50] [--days 30] [--now MS]
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { createLogger } from "../core/log.ts";
import { memoryState } from "../core/state.ts";
import { ComponentStats } from "../core/stats.ts";
import { siemSqliteSink } from "../siem/schema.ts";
import { randomHex, seededRandom, seedTimes, zipfPick } from "./_seed_random.ts";

/** Options for {@linkcode seedSiem}. */
export interface SeedOptions {
  /** Alerts. @default {1000000} */
  alerts?: number;
  /** Auth events. @default {1000000} */
  auth?: number;
  /** Firewall events. @default {alerts / 10} */
  firewall?: number;
  /** System events. @default {alerts / 10} */
  system?: number;
  /** Hosts. @default {50} */
  hosts?: number;
  /** Days back the events span, ending at `now`. @default {30} */
  days?: number;
  /** The end of the span, ms. @default {Date.now()} */
  now?: number;
  /** Seed of the pseudo-random numbers (same seed, same rows). @default {1} */
  seed?: number;
}

/** What {@linkcode seedSiem} stored. */
export interface SeedSummary {
  /** Rows per table. */
  rows: Record<string, number>;
  /** Seconds it took. */
  seconds: number;
  /** The host names, `vm-01` … */
  hosts: string[];
  /** The rule names, most frequent first. */
  rules: string[];
}

const _SEVERITIES = ["critical", "high", "medium", "low", "info"];
const _USERS = [
  "root",
  "admin",
  "ubuntu",
  "test",
  "oracle",
  "user",
  "postgres",
  "git",
  "pi",
  "deploy",
];

/**
 * Seeds `database` (created when missing; the SIEM tables must be empty or
 * absent).
 *
 * @param database The file.
 * @param options Sizes and seed.
 * @returns Rows per table, time taken, the hosts and rules.
 *
 * @example
 * ```ts ignore
 * import { seedSiem } from "./seed_siem.ts";
 * await seedSiem("/tmp/siem.db", { alerts: 1000, auth: 1000 });
 * ```
 */
export async function seedSiem(database: string, options: SeedOptions = {}): Promise<SeedSummary> {
  const started = performance.now();
  const nAlerts = options.alerts ?? 1_000_000;
  const nAuth = options.auth ?? 1_000_000;
  const nFw = options.firewall ?? Math.floor(nAlerts / 10);
  const nSys = options.system ?? Math.floor(nAlerts / 10);
  const nHosts = options.hosts ?? 50;
  const days = options.days ?? 30;
  const now = options.now ?? Date.now();
  const rand = seededRandom(options.seed ?? 1);

  // The tables and indexes exactly as the sink makes them.
  const sink = siemSqliteSink({ database, checkpoint: "inline" });
  await sink.open({
    name: "seed",
    stats: new ComponentStats("sink", "seed", "sqlite"),
    state: memoryState(),
    log: createLogger("silent"),
    signal: new AbortController().signal,
  });
  await sink.close();

  const db = new DatabaseSync(database);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144");
  const indexes = db.prepare(
    `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
     AND tbl_name IN ('alerts', 'auth_events', 'firewall_events', 'system_events')`,
  ).all() as Array<{ name: string; sql: string }>;
  for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);

  const hosts = Array.from({ length: nHosts }, (_, i) => `vm-${String(i + 1).padStart(2, "0")}`);
  const pickHost = zipfPick(rand, nHosts, 0.8);
  const rules = Array.from({ length: 40 }, (_, i) =>
    [
      "sshd_brute_force",
      "Webshell_PHP_Generic",
      "Suspicious_Cron_Entry",
      "Mimikatz_Strings",
      "CobaltStrike_Beacon",
      "sshd_success_after_failures",
    ][i] ?? `Rule_${String(i).padStart(2, "0")}`);
  // Each rule has its severity: most alerts medium or low, a few critical.
  const ruleSeverity = rules.map((_, i) =>
    i === 4 || i === 5 || i % 13 === 7
      ? "critical"
      : i % 5 === 0
      ? "high"
      : _SEVERITIES[2 + (i % 3)] as string
  );
  const pickRule = zipfPick(rand, rules.length, 1.0);
  const sources = ["yara", "sauron", "clamav", "sluice-correlate"];
  const samples = Array.from({ length: 2000 }, () => randomHex(rand, 64));
  const rows: Record<string, number> = {};
  const tx = (f: () => void) => {
    db.exec("BEGIN");
    try {
      f();
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  // Alerts.
  {
    const times = seedTimes(rand, nAlerts, days, now);
    const ins = db.prepare(
      `INSERT INTO alerts (id, timestamp, host, severity, rule, file, hash, message, source, raw)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (let start = 0; start < nAlerts; start += 100_000) {
      tx(() => {
        for (let i = start; i < Math.min(nAlerts, start + 100_000); i++) {
          const r = pickRule();
          const host = hosts[pickHost()] as string;
          const rule = rules[r] as string;
          const severity = ruleSeverity[r] as string;
          const hash = rand() < 0.3
            ? samples[Math.floor(rand() * samples.length)] as string
            : randomHex(rand, 64);
          const file = `/var/www/html/uploads/${randomHex(rand, 8)}.php`;
          const message = `${rule} matched ${file}`;
          const source = sources[r % sources.length] as string;
          const timestamp = iso(times[i] as number);
          const raw = JSON.stringify({
            timestamp,
            host,
            rule,
            severity,
            file,
            hash,
            message,
            source,
          });
          ins.run(
            `seed-alerts:${String(i).padStart(9, "0")}`,
            timestamp,
            host,
            severity,
            rule,
            file,
            hash,
            message,
            source,
            raw,
          );
        }
      });
    }
    rows.alerts = nAlerts;
  }

  // Auth: mostly failed logins from a skewed set of addresses.
  {
    const times = seedTimes(rand, nAuth, days, now);
    const attackers = Array.from(
      { length: 3000 },
      (_, i) => `203.0.${Math.floor(i / 250)}.${i % 250 + 1}`,
    );
    const pickAttacker = zipfPick(rand, attackers.length, 1.0);
    const ins = db.prepare(
      `INSERT INTO auth_events (id, timestamp, host, program, outcome, user, src_ip, port, method, invalid_user, raw)
       VALUES (?, ?, ?, 'sshd', ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (let start = 0; start < nAuth; start += 100_000) {
      tx(() => {
        for (let i = start; i < Math.min(nAuth, start + 100_000); i++) {
          const host = hosts[pickHost()] as string;
          const r = rand();
          const ok = r < 0.05;
          const invalid = !ok && r < 0.2;
          const src = ok
            ? `10.0.${Math.floor(rand() * 4)}.${Math.floor(rand() * 250) + 1}`
            : attackers[pickAttacker()] as string;
          const user = ok
            ? "deploy"
            : invalid
            ? `u${randomHex(rand, 4)}`
            : _USERS[Math.floor(rand() * _USERS.length)] as string;
          const outcome = ok ? "success" : invalid ? "invalid_user" : "failure";
          const method = ok ? "publickey" : rand() < 0.2 ? "pam_unix" : "password";
          const port = 30000 + Math.floor(rand() * 30000);
          const timestamp = iso(times[i] as number);
          const raw = ok
            ? `Accepted publickey for ${user} from ${src} port ${port} ssh2`
            : invalid
            ? `Invalid user ${user} from ${src} port ${port}`
            : `Failed password for ${user} from ${src} port ${port} ssh2`;
          ins.run(
            `seed-auth:${String(i).padStart(9, "0")}`,
            timestamp,
            host,
            outcome,
            user,
            src,
            port,
            method,
            invalid ? 1 : 0,
            raw,
          );
        }
      });
    }
    rows.auth_events = nAuth;
  }

  // Firewall and system events.
  {
    const times = seedTimes(rand, nFw, days, now);
    const ins = db.prepare(
      `INSERT INTO firewall_events (id, timestamp, host, action, in_if, out_if, src, dst, proto, spt, dpt, raw)
       VALUES (?, ?, ?, 'UFW BLOCK', 'eth0', NULL, ?, ?, ?, ?, ?, ?)`,
    );
    const ports = [22, 23, 80, 443, 445, 3389, 5900, 8080, 3306, 6379];
    const pickPort = zipfPick(rand, ports.length, 1.2);
    tx(() => {
      for (let i = 0; i < nFw; i++) {
        const src = `198.51.${Math.floor(rand() * 8)}.${Math.floor(rand() * 250) + 1}`;
        const dst = `10.0.0.${Math.floor(rand() * 50) + 1}`;
        const dpt = ports[pickPort()] as number;
        const proto = rand() < 0.9 ? "TCP" : "UDP";
        const spt = 1024 + Math.floor(rand() * 60000);
        ins.run(
          `seed-fw:${String(i).padStart(9, "0")}`,
          iso(times[i] as number),
          hosts[pickHost()] as string,
          src,
          dst,
          proto,
          spt,
          dpt,
          `[UFW BLOCK] IN=eth0 OUT= SRC=${src} DST=${dst} PROTO=${proto} SPT=${spt} DPT=${dpt}`,
        );
      }
    });
    rows.firewall_events = nFw;
    const sysTimes = seedTimes(rand, nSys, days, now);
    const sys = db.prepare(
      `INSERT INTO system_events (id, timestamp, host, program, pid, facility, severity, message)
       VALUES (?, ?, ?, ?, ?, 'daemon', ?, ?)`,
    );
    tx(() => {
      for (let i = 0; i < nSys; i++) {
        const program = ["systemd", "cron", "kernel", "dockerd"][Math.floor(rand() * 4)] as string;
        sys.run(
          `seed-sys:${String(i).padStart(9, "0")}`,
          iso(sysTimes[i] as number),
          hosts[pickHost()] as string,
          program,
          String(100 + Math.floor(rand() * 30000)),
          3 + Math.floor(rand() * 5),
          `${program}: something happened ${i}`,
        );
      }
    });
    rows.system_events = nSys;
  }

  // Heartbeats: the last hour of each host, every 60 s; a few stale and silent ones.
  {
    const ins = db.prepare(
      `INSERT INTO heartbeats (id, timestamp, host, source_ip, version, uptime_s, interval_s, dropped, raw)
       VALUES (?, ?, ?, ?, '0.1.0', ?, 60, 0, ?)`,
    );
    let n = 0;
    tx(() => {
      hosts.forEach((host, h) => {
        const lag = h >= nHosts - 3 ? 3_600_000 : h >= nHosts - 6 ? 150_000 : 0;
        for (let k = 60; k >= 0; k--) {
          const t = now - lag - k * 60_000;
          ins.run(
            `seed-hb:${host}:${k}`,
            iso(t),
            host,
            `10.0.0.${h + 1}`,
            86_400 - k * 60,
            `{"type":"heartbeat","host":"${host}"}`,
          );
          n++;
        }
      });
      const services = db.prepare(`UPDATE vms SET services = ? WHERE host = ?`);
      for (const host of hosts) {
        services.run(JSON.stringify(["alerts", "auth:sshd", "heartbeat"]), host);
      }
    });
    rows.heartbeats = n;
  }

  // Objects: the stored samples, some alerts' hashes among them.
  {
    const ins = db.prepare(
      `INSERT INTO objects (id, host, kind, path, size, sha256, synced_at, remote, encrypted)
       VALUES (?, ?, 'quarantine', ?, ?, ?, ?, ?, 0)`,
    );
    tx(() => {
      samples.forEach((sha, i) => {
        const host = hosts[pickHost()] as string;
        const path = `${randomHex(rand, 8)}.bin`;
        ins.run(
          `seed-obj:${i}`,
          host,
          path,
          Math.floor(rand() * 1e6),
          sha,
          iso(now - rand() * days * 86_400_000),
          `samples/${host}/quarantine/${path}`,
        );
      });
    });
    rows.objects = samples.length;
  }

  for (const i of indexes) db.exec(i.sql);
  db.exec("ANALYZE");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return { rows, seconds: (performance.now() - started) / 1000, hosts, rules };
}

if (import.meta.main) {
  const args = Deno.args;
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = opt("out");
  if (!out) {
    console.error("seed_siem: give --out PATH");
    Deno.exit(2);
  }
  const num = (name: string): number | undefined => {
    const v = opt(name);
    return v === undefined ? undefined : Number(v);
  };
  const sizes: SeedOptions = {};
  for (
    const k of ["alerts", "auth", "firewall", "system", "hosts", "days", "seed", "now"] as const
  ) {
    const v = num(k);
    if (v !== undefined) sizes[k] = v;
  }
  const summary = await seedSiem(out, sizes);
  console.log(JSON.stringify({ database: out, ...summary, rules: undefined }));
}
