/**
 * The chaos harness (`deno task chaos`): the VM and central examples run as
 * separate processes with a {@linkcode startChaosProxy} between them while a
 * writer appends alerts to the VM's file. At random moments (seeded) the
 * central is killed with SIGKILL and restarted, the proxy cuts every
 * connection or stalls longer than the RELP timeouts, and the VM is killed
 * and restarted. At the end every alert must be in the central's `alerts`
 * table exactly once (count, distinct sequence numbers, and a SHA-256 over
 * the sorted event ids against the ids the file's line offsets give), and
 * the VM's checkpoint must sit at the end of the file.
 *
 * ```sh
 * deno task chaos                                   # 200,000 alerts, 5 kills, 5 cuts, 5 stalls, 2 VM kills
 * deno task chaos --alerts 20000 --central-kills 2 --cuts 2 --stalls 1 --vm-kills 1 --seed 7
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { seededRandom, syntheticAlert } from "../../sources/generator.ts";
import { checkpointOf, expectedIds, queryOne, sha256Lines } from "./_verify.ts";
import { type Runner, startRunner } from "../examples/_procs.ts";
import { type ChaosProxy, startChaosProxy } from "./proxy.ts";
import { freePort as _freePort } from "../_ports.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const VM = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;

/** What to do to the pipeline, and how hard. */
export interface ChaosOptions {
  /** Alerts the writer appends. @default {200_000} */
  alerts?: number;
  /** Alerts appended per second. @default {4000} */
  rate?: number;
  /** SIGKILLs of the central (each followed by a restart). @default {5} */
  centralKills?: number;
  /** Cuts of every proxied connection. @default {5} */
  cuts?: number;
  /** Stalls of the proxy, each longer than the VM's acknowledgement timeout. @default {5} */
  stalls?: number;
  /** SIGKILLs of the VM (each followed by a restart). @default {2} */
  vmKills?: number;
  /** Seed for the fault moments. @default {1} */
  seed?: number;
  /** The VM's RELP acknowledgement timeout in seconds. @default {2} */
  ackTimeoutSeconds?: number;
  /** How long everything may take to settle after the last fault. @default {180_000} */
  drainTimeoutMs?: number;
  /** Progress lines go here. @default {console.error} */
  log?: (line: string) => void;
}

/** The figures of one chaos run. */
export interface ChaosReport {
  /** Alerts written to the VM's file. */
  events: number;
  /** Rows in the central's `alerts` table. */
  stored: number;
  /** Alerts written but not stored. */
  lost: number;
  /** Rows stored more than once. */
  duplicates: number;
  /** Whether the stored ids are exactly the ids the file's lines give. */
  idsMatch: boolean;
  /** The SHA-256 over the sorted stored ids. */
  idChecksum: string;
  /** The VM's acknowledged offset in its alerts file. */
  checkpoint: number;
  /** The alerts file's size. */
  fileSize: number;
  /** Faults carried out. */
  centralKills: number;
  /** Faults carried out. */
  vmKills: number;
  /** Faults carried out. */
  cuts: number;
  /** Faults carried out. */
  stalls: number;
  /** Connections the proxy accepted (each reconnect is one). */
  connections: number;
  /** Seconds from the writer's end (or the last fault) until every alert was stored. */
  drainSeconds: number;
  /** Seconds the whole run took. */
  totalSeconds: number;
  /** The seed the fault moments came from. */
  seed: number;
}

const _sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the VM and central under faults and checks that every alert was
 * stored exactly once and acknowledged back to the file.
 *
 * @param options Sizes, fault counts and seed.
 * @returns The figures; `lost`, `duplicates` and `idsMatch` are the verdict.
 *
 * @example
 * ```ts ignore
 * import { runChaos } from "./harness.ts";
 * const report = await runChaos({ alerts: 2000, centralKills: 1, cuts: 1, stalls: 0, vmKills: 0 });
 * console.log(report.lost, report.duplicates);
 * ```
 */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const {
    alerts = 200_000,
    rate = 4000,
    centralKills = 5,
    cuts = 5,
    stalls = 5,
    vmKills = 2,
    seed = 1,
    ackTimeoutSeconds = 2,
    drainTimeoutMs = 180_000,
    log = (line: string) => console.error(line),
  } = options;
  const t0 = performance.now();
  const since = () => ((performance.now() - t0) / 1000).toFixed(1).padStart(6) + "s";
  const say = (line: string) => log(`chaos ${since()}  ${line}`);
  const dir = await Deno.makeTempDir({ prefix: "sluice-chaos-" });
  const relpPort = _freePort();
  const db = `${dir}/central/siem.db`;
  const alertsFile = `${dir}/vm/alerts.jsonl`;
  await Deno.mkdir(`${dir}/vm`, { recursive: true });
  await Deno.writeTextFile(alertsFile, "");
  await Deno.writeTextFile(`${dir}/vm/yara.jsonl`, "");

  const startCentral = async (): Promise<Runner> => {
    for (let attempt = 0;; attempt++) {
      const r = startRunner([
        "--log-level",
        "warn",
        "--state-dir",
        `${dir}/central-state`,
        CENTRAL,
        "--data",
        `${dir}/central`,
        "--json-port",
        "0",
        "--syslog-port",
        "0",
        "--relp-port",
        String(relpPort),
        // The dashboard's default port is fixed: tests running at the same time would collide.
        "--ui",
        "off",
      ]);
      try {
        await r.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 60_000);
        return r;
      } catch (err) {
        await r.kill();
        // The port of the killed central may not be free yet.
        if (attempt >= 10) throw err;
        await _sleep(500);
      }
    }
  };
  const startVm = async (proxy: ChaosProxy): Promise<Runner> => {
    const r = startRunner([
      "--log-level",
      "warn",
      "--state-dir",
      `${dir}/vm-state`,
      VM,
      "--central",
      "127.0.0.1",
      "--relp-port",
      String(proxy.port),
      "--ack-timeout-seconds",
      String(ackTimeoutSeconds),
      "--heartbeat-seconds",
      "3600",
      "--alerts",
      alertsFile,
      "--yara",
      `${dir}/vm/yara.jsonl`,
      "--data",
      `${dir}/vm`,
      "--host",
      "chaosvm",
    ]);
    await r.waitFor(/tailing alerts/, 60_000);
    return r;
  };

  let central = await startCentral();
  const proxy = startChaosProxy(relpPort);
  let vm = await startVm(proxy);
  say(
    `central on ${relpPort}, proxy on ${proxy.port}, VM up; writing ${alerts} alerts at ${rate}/s`,
  );

  const writeSeconds = alerts / rate;
  const writer = (async () => {
    const file = await Deno.open(alertsFile, { append: true });
    const encoder = new TextEncoder();
    const tick = 50;
    const perTick = Math.max(1, Math.round((rate * tick) / 1000));
    const start = performance.now();
    try {
      for (let i = 0; i < alerts;) {
        const n = Math.min(perTick, alerts - i);
        let text = "";
        for (let k = 0; k < n; k++) text += syntheticAlert(i + k, seed) + "\n";
        const bytes = encoder.encode(text);
        for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
        i += n;
        const due = start + (i / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await _sleep(wait);
      }
    } finally {
      file.close();
    }
    say(`writer done: ${alerts} alerts appended`);
  })();

  // Fault moments: uniformly random over the writing time, in a seeded order.
  const rand = seededRandom(seed);
  const kinds = [
    ...Array<string>(centralKills).fill("kill central"),
    ...Array<string>(cuts).fill("cut"),
    ...Array<string>(stalls).fill("stall"),
    ...Array<string>(vmKills).fill("kill VM"),
  ];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as string, kinds[i] as string];
  }
  const moments = kinds.map(() => rand() * writeSeconds * 1000).sort((a, b) => a - b);
  const done = { "kill central": 0, cut: 0, stall: 0, "kill VM": 0 } as Record<string, number>;
  const faultStart = performance.now();
  try {
    for (let i = 0; i < kinds.length; i++) {
      const wait = faultStart + (moments[i] as number) - performance.now();
      if (wait > 0) await _sleep(wait);
      const kind = kinds[i] as string;
      if (kind === "kill central") {
        await central.kill();
        const down = 200 + rand() * 1300;
        say(`kill -9 central; down for ${Math.round(down)} ms`);
        await _sleep(down);
        central = await startCentral();
        say("central restarted");
      } else if (kind === "cut") {
        // A cut only counts when there is a connection to cut (the VM may be reconnecting).
        for (let w = 0; proxy.open === 0 && w < 200; w++) await _sleep(50);
        say(`cut ${proxy.cut()} connection(s)`);
      } else if (kind === "stall") {
        const ms = ackTimeoutSeconds * 1000 + 1500;
        say(`stall the proxy for ${ms} ms`);
        await proxy.stall(ms);
      } else {
        await vm.kill();
        say("kill -9 VM");
        await _sleep(200 + rand() * 800);
        vm = await startVm(proxy);
        say("VM restarted");
      }
      done[kind] = (done[kind] ?? 0) + 1;
    }
    await writer;

    // Drain: every alert stored, then the VM's checkpoint at the end of the file.
    const drainStart = performance.now();
    const fileSize = (await Deno.stat(alertsFile)).size;
    let distinct = 0;
    let checkpoint = -1;
    while (performance.now() - drainStart < drainTimeoutMs) {
      distinct = queryOne<{ n: number }>(
        db,
        "SELECT count(DISTINCT json_extract(raw, '$.seq')) AS n FROM alerts",
      )?.n ?? 0;
      if (distinct >= alerts) {
        checkpoint = await checkpointOf(`${dir}/vm-state`, alertsFile);
        if (checkpoint >= fileSize) break;
      }
      await _sleep(200);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    say(`drained in ${drainSeconds.toFixed(1)} s: ${distinct}/${alerts} alerts`);
    // A late duplicate would show up now, if the pipeline could make one.
    await _sleep(1000);
    const stats = queryOne<{ n: number; seqs: number; ids: number; nulls: number }>(
      db,
      `SELECT count(*) AS n, count(DISTINCT json_extract(raw, '$.seq')) AS seqs,
              count(DISTINCT id) AS ids, sum(id IS NULL) AS nulls FROM alerts`,
    ) ?? { n: 0, seqs: 0, ids: 0, nulls: 0 };
    const conn = new DatabaseSync(db, { readOnly: true });
    let stored: string[];
    try {
      stored = (conn.prepare("SELECT id FROM alerts ORDER BY id").all() as Array<{ id: string }>)
        .map((r) => r.id);
    } finally {
      conn.close();
    }
    const first = stored[0] ?? "";
    const prefix = first.slice(0, first.length - 12);
    const expected = expectedIds(prefix, await Deno.readFile(alertsFile));
    const idChecksum = sha256Lines(stored);
    const report: ChaosReport = {
      events: alerts,
      stored: stats.n,
      lost: alerts - stats.seqs,
      duplicates: stats.n - stats.seqs,
      idsMatch: idChecksum === sha256Lines(expected) && stats.nulls === 0,
      idChecksum,
      checkpoint: await checkpointOf(`${dir}/vm-state`, alertsFile),
      fileSize,
      centralKills: done["kill central"] ?? 0,
      vmKills: done["kill VM"] ?? 0,
      cuts: done.cut ?? 0,
      stalls: done.stall ?? 0,
      connections: proxy.accepted,
      drainSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
      seed,
    };
    return report;
  } finally {
    await vm.stop().catch(() => {});
    await central.stop().catch(() => {});
    await vm.kill();
    await central.kill();
    await proxy.close();
    await writer.catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Renders a report as the lines `deno task chaos` prints.
 *
 * @param r The report.
 * @returns Text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatChaosReport } from "./harness.ts";
 * const text = formatChaosReport({
 *   events: 10, stored: 10, lost: 0, duplicates: 0, idsMatch: true, idChecksum: "ab",
 *   checkpoint: 3000, fileSize: 3000, centralKills: 1, vmKills: 0, cuts: 1, stalls: 0,
 *   connections: 4, drainSeconds: 1.5, totalSeconds: 9, seed: 1,
 * });
 * assert.match(text, /lost 0, duplicates 0/);
 * ```
 */
export function formatChaosReport(r: ChaosReport): string {
  return [
    `events ${r.events}, stored ${r.stored}, lost ${r.lost}, duplicates ${r.duplicates}`,
    `ids ${r.idsMatch ? "match" : "DO NOT match"} the file (sha256 ${r.idChecksum.slice(0, 16)}…)`,
    `VM checkpoint ${r.checkpoint} of ${r.fileSize} bytes${
      r.checkpoint === r.fileSize ? " (at the end)" : " (NOT at the end)"
    }`,
    `faults: central killed ${r.centralKills}×, VM killed ${r.vmKills}×, cuts ${r.cuts}, stalls ${r.stalls}; ${r.connections} connections`,
    `drain ${r.drainSeconds.toFixed(1)} s after the last write/fault; total ${
      r.totalSeconds.toFixed(1)
    } s; seed ${r.seed}`,
  ].join("\n");
}

if (import.meta.main) {
  const flag = (name: string, fallback: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    const value = i >= 0 ? Number(Deno.args[i + 1]) : fallback;
    if (!Number.isFinite(value) || value < 0) {
      console.error(`chaos: --${name} expects a non-negative number, got "${Deno.args[i + 1]}"`);
      Deno.exit(2);
    }
    return value;
  };
  const report = await runChaos({
    alerts: flag("alerts", 200_000),
    rate: flag("rate", 4000),
    centralKills: flag("central-kills", 5),
    cuts: flag("cuts", 5),
    stalls: flag("stalls", 5),
    vmKills: flag("vm-kills", 2),
    seed: flag("seed", Date.now() % 100_000),
  });
  console.log(formatChaosReport(report));
  const ok = report.lost === 0 && report.duplicates === 0 && report.idsMatch &&
    report.checkpoint === report.fileSize;
  console.log(ok ? "chaos: PASS" : "chaos: FAIL");
  Deno.exit(ok ? 0 : 1);
}
