/**
 * Scenario 6 and the RELP benchmark of issue 7: the VM and central examples
 * as separate processes (`examples/pipeline.vm.ts` tailing a file, forwarding
 * to `examples/pipeline.central.ts`, which stores every alert in SQLite),
 * once over RELP (the default: the VM's checkpoint advances only after the
 * central committed) and once over plain TCP.
 *
 * - **Latency**: a writer appends alerts to the VM's file at a fixed rate
 *   (1,000 and 10,000 events/s), every line carrying its append time as a
 *   JSON field `t_append` (ms, the bench's clock). A poller reads the rows
 *   that became visible in the central's `alerts` table every 5 ms (rowid
 *   above the last seen; `raw` is the original line) and takes
 *   `seen − t_append`. The visible time is the poll's time, so each figure is
 *   late by up to one poll interval plus the query (≈ 5 ms resolution). The
 *   first second of every rate is warm-up and left out.
 * - **Throughput**: a file of N lines is appended at once to the VM's (empty,
 *   already tailed) file; the clock runs until N rows are in `alerts`.
 *   Reports events/s, RELP beside TCP, with both processes' CPU seconds and
 *   peak RSS.
 *
 * Sizes: `BENCH_LATENCY_SECONDS` per rate (default 15; `--quick` 3, and only
 * 1,000/s), `BENCH_LATENCY_RATES` (comma separated, default `1000,10000`),
 * `BENCH_E2E_EVENTS` or else `BENCH_EVENTS` (default 1,000,000; `--quick`
 * 20,000), `BENCH_E2E_RUNS` throughput runs per transport, alternating
 * (default 1). `BENCH_LATENCY_RATES=0` measures the throughput only.
 * `BENCH_RELP_WINDOW` gives the VM `--relp-window` (default: the example's).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../sources/generator.ts";
import {
  appendFile,
  centralArgs,
  cpuSeconds,
  LoggedProcess,
  type MeasuredRow,
  type MeasuredScenario,
  sleep,
  sluiceRunArgs,
  spread,
  waitFor,
} from "./lib.ts";
import { medianPeak, memoryFields, type MemoryPeak, sampleTree, treeMemory } from "./_memory.ts";

const VM = new URL("../examples/pipeline.vm.ts", import.meta.url).pathname;
const CENTRAL = new URL("../examples/pipeline.central.ts", import.meta.url).pathname;

/** How often the central's `alerts` table is read for new rows, in ms. */
const POLL_MS = 5;
/** The writer's tick: every tick appends the lines due by then in one write. */
const TICK_MS = 5;

type _Transport = "relp" | "tcp";

/** Wall-clock milliseconds with sub-millisecond resolution, one clock for writer and poller. */
const _now = () => performance.timeOrigin + performance.now();

function _percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function _startRunner(stateDir: string, pipeline: string, args: string[]): LoggedProcess {
  return new LoggedProcess(Deno.execPath(), [...sluiceRunArgs(stateDir, pipeline), ...args]);
}

/** `--relp-window N` when `BENCH_RELP_WINDOW` asks for another window than the example's. */
function _relpWindow(): string[] {
  const window = Deno.env.get("BENCH_RELP_WINDOW");
  return window ? ["--relp-window", window] : [];
}

/** A central and a VM forwarding to it, with an empty alerts file being tailed. */
interface _Pair {
  central: LoggedProcess;
  vm: LoggedProcess;
  alerts: string;
  db: string;
  stop(): Promise<void>;
}

async function _startPair(dir: string, transport: _Transport): Promise<_Pair> {
  await Deno.mkdir(`${dir}/vm`, { recursive: true });
  const alerts = `${dir}/vm/alerts.jsonl`;
  await Deno.writeTextFile(alerts, "");
  await Deno.writeTextFile(`${dir}/vm/yara.jsonl`, "");
  const central = _startRunner(`${dir}/central-state`, CENTRAL, [
    ...centralArgs(`${dir}/central`),
    // The dashboard's default port is fixed; the bench measures the log path.
    "--ui",
    "off",
  ]);
  let vm: LoggedProcess | undefined;
  try {
    const relp = await central.waitFor(/RELP\s+127\.0\.0\.1:(\d+)/);
    const json = await central.waitFor(/over TCP\s+127\.0\.0\.1:(\d+)/);
    vm = _startRunner(`${dir}/vm-state`, VM, [
      "--central",
      "127.0.0.1",
      "--transport",
      transport,
      ...(transport === "relp"
        ? ["--relp-port", relp[1] as string, ..._relpWindow()]
        : ["--json-port", json[1] as string]),
      "--alerts",
      alerts,
      "--yara",
      `${dir}/vm/yara.jsonl`,
      "--data",
      `${dir}/vm`,
      "--host",
      "benchvm",
      "--heartbeat-seconds",
      "86400",
    ]);
    await vm.waitFor(/tailing alerts/);
  } catch (err) {
    await vm?.stop();
    await central.stop();
    throw err;
  }
  const theVm = vm;
  return {
    central,
    vm: theVm,
    alerts,
    db: `${dir}/central/siem.db`,
    async stop() {
      await theVm.stop();
      await central.stop();
    },
  };
}

/** Opens the central's database read-only once it exists and has its `alerts` table. */
async function _openAlerts(db: string): Promise<DatabaseSync> {
  let conn: DatabaseSync | undefined;
  const ok = await waitFor(
    () => {
      try {
        conn = new DatabaseSync(db, { readOnly: true });
        conn.exec("PRAGMA busy_timeout = 1000");
        conn.prepare("SELECT max(rowid) FROM alerts").get();
        return true;
      } catch {
        conn?.close();
        conn = undefined;
        return false;
      }
    },
    30_000,
    100,
  );
  if (!ok || !conn) throw new Error(`latency bench: no alerts table in ${db}`);
  return conn;
}

const _T_APPEND = /"t_append":([0-9.]+)/;

interface _LatencyRun {
  rate: number;
  written: number;
  measured: number;
  seen: number;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  /** How far the writer fell behind its schedule at worst, in ms. */
  writerLagMs: number;
  /** p50/p99 in ms by the second the lines were appended in. */
  trace: string;
}

/**
 * Appends `rate` alerts/s for `seconds` to the pair's file and measures
 * append → visible in `alerts` for each; rows are matched by `t_append`.
 */
async function _latency(
  pair: _Pair,
  conn: DatabaseSync,
  rate: number,
  seconds: number,
  firstSeq: number,
): Promise<_LatencyRun> {
  const total = Math.round(rate * seconds);
  // The first second is warm-up, not measured; a run of a few seconds (--quick) keeps its last
  // three quarters, or a 1 s run, whose lines are all appended before 1000 ms, measures nothing.
  const warmupMs = Math.min(1000, seconds * 250);
  let lastRowid = Number(
    (conn.prepare("SELECT coalesce(max(rowid), 0) AS m FROM alerts").get() as { m: number }).m,
  );
  const next = conn.prepare("SELECT rowid AS r, raw FROM alerts WHERE rowid > ? ORDER BY rowid");
  const latencies: number[] = [];
  const bySecond: number[][] = [];
  let seen = 0;
  let start = 0;
  let writing = true;
  const poller = (async () => {
    // Polls until the writer is done and every line was seen, or 30 s passed after that.
    let doneAt = 0;
    for (;;) {
      const rows = next.all(lastRowid) as Array<{ r: number; raw: string }>;
      const at = _now();
      for (const row of rows) {
        lastRowid = row.r;
        const m = _T_APPEND.exec(row.raw);
        if (!m) continue;
        seen++;
        const appended = Number(m[1]);
        if (appended - start >= warmupMs) latencies.push(at - appended);
        const second = Math.floor((appended - start) / 1000);
        (bySecond[second] ??= []).push(at - appended);
      }
      if (!writing) {
        if (!doneAt) doneAt = Date.now();
        if (seen >= total || Date.now() - doneAt > 30_000) break;
      }
      await sleep(POLL_MS);
    }
  })();
  const file = await Deno.open(pair.alerts, { write: true, append: true });
  const encoder = new TextEncoder();
  let written = 0;
  let writerLagMs = 0;
  try {
    start = _now();
    const t0 = performance.now();
    while (written < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      if (due > written) {
        const t = _now().toFixed(3);
        let text = "";
        for (let i = written; i < due; i++) {
          const line = syntheticAlert(firstSeq + i);
          text += `${line.slice(0, -1)},"t_append":${t}}\n`;
        }
        const bytes = encoder.encode(text);
        for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
        written = due;
      }
      const nextDue = t0 + (written / rate) * 1000;
      writerLagMs = Math.max(writerLagMs, performance.now() - nextDue);
      await sleep(TICK_MS);
    }
  } finally {
    file.close();
    writing = false;
  }
  await poller;
  latencies.sort((a, b) => a - b);
  const trace = bySecond.map((xs, i) => {
    xs.sort((a, b) => a - b);
    return `${i}s:${_percentile(xs, 50).toFixed(0)}/${_percentile(xs, 99).toFixed(0)}`;
  }).join(" ");
  return {
    trace,
    rate,
    written,
    measured: latencies.length,
    seen,
    p50: _percentile(latencies, 50),
    p99: _percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    seconds,
    writerLagMs,
  };
}

interface _Throughput {
  n: number;
  stored: number;
  seconds: number;
  vmCpu: number;
  centralCpu: number;
  vmIdleMb: number;
  centralIdleMb: number;
  vm: MemoryPeak;
  central: MemoryPeak;
}

function _perRound(relp: readonly _Throughput[], tcp: readonly _Throughput[]): string {
  if (relp.length < 2 || relp.length !== tcp.length) return "";
  const ratios = relp.map((r, i) => ((tcp[i] as _Throughput).seconds / r.seconds).toFixed(2));
  return `per round ${ratios.map((x) => `${x}×`).join(", ")}; `;
}

function _per100k(cpu: number, n: number): string {
  return ((cpu * 1e5) / n).toFixed(2);
}

/** Writes N alerts to a file in chunks. */
async function _writeWorkload(path: string, n: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  try {
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + 20_000);
      let text = "";
      for (; i < end; i++) text += syntheticAlert(i) + "\n";
      const chunk = encoder.encode(text);
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  } finally {
    file.close();
  }
}

async function _throughput(
  dir: string,
  transport: _Transport,
  workload: string,
  n: number,
): Promise<_Throughput> {
  const pair = await _startPair(dir, transport);
  try {
    const conn = await _openAlerts(pair.db);
    try {
      await sleep(1000);
      const vmIdleMb = treeMemory(pair.vm.pid).rssMb;
      const centralIdleMb = treeMemory(pair.central.pid).rssMb;
      const vmMemory = sampleTree(pair.vm.pid);
      const centralMemory = sampleTree(pair.central.pid);
      const vmCpu0 = cpuSeconds(pair.vm.pid);
      const centralCpu0 = cpuSeconds(pair.central.pid);
      const count = conn.prepare("SELECT count(*) AS n FROM alerts");
      const top = conn.prepare("SELECT coalesce(max(rowid), 0) AS m FROM alerts");
      const t0 = performance.now();
      await appendFile(workload, pair.alerts);
      // max(rowid) is cheap and equals the row count here (no deletes, one writer).
      await waitFor(
        () => Number((top.get() as { m: number }).m) >= n,
        Math.max(120_000, n / 2),
        20,
      );
      const seconds = (performance.now() - t0) / 1000;
      const stored = Number((count.get() as { n: number }).n);
      return {
        n,
        stored,
        seconds,
        vmCpu: cpuSeconds(pair.vm.pid) - vmCpu0,
        centralCpu: cpuSeconds(pair.central.pid) - centralCpu0,
        vmIdleMb,
        centralIdleMb,
        vm: vmMemory.stop(),
        central: centralMemory.stop(),
      };
    } finally {
      conn.close();
    }
  } finally {
    await pair.stop();
  }
}

/**
 * Scenario 6 and issue 7's benchmark: append → committed latency and VM → central throughput.
 *
 * @example Run it the way `bench/main.ts` does (it starts real processes)
 * ```ts ignore
 * import assert from "node:assert";
 * import { scenario } from "./latency.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * assert.ok(rows.length > 0);
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const seconds = Number(Deno.env.get("BENCH_LATENCY_SECONDS") ?? (quick ? 3 : 15));
  const rates = (Deno.env.get("BENCH_LATENCY_RATES") ?? (quick ? "1000" : "1000,10000"))
    .split(",").map(Number).filter((r) => r > 0);
  const n = Number(
    Deno.env.get("BENCH_E2E_EVENTS") ?? Deno.env.get("BENCH_EVENTS") ??
      (quick ? 20_000 : 1_000_000),
  );
  const runs = Number(Deno.env.get("BENCH_E2E_RUNS") ?? 1);
  const transports: _Transport[] = ["relp", "tcp"];
  const rows: MeasuredRow[] = [];

  // Latency: one VM + central pair per transport, the rates one after the other.
  const latency = new Map<string, _LatencyRun>();
  const latencyMemory = new Map<_Transport, MemoryPeak>();
  // BENCH_LATENCY_RATES=0 measures the throughput only.
  for (const transport of rates.length ? transports : []) {
    const pair = await _startPair(`${dir}/latency-${transport}`, transport);
    const sampler = sampleTree(pair.vm.pid);
    try {
      const conn = await _openAlerts(pair.db);
      try {
        let seq = 0;
        for (const rate of rates) {
          await sleep(1000);
          const run = await _latency(pair, conn, rate, seconds, seq);
          seq += run.written;
          latency.set(`${transport}@${rate}`, run);
          console.error(
            `  latency ${transport} ${rate}/s: p50 ${run.p50.toFixed(1)} ms, p99 ${
              run.p99.toFixed(1)
            } ms, max ${run.max.toFixed(1)} ms; seen ${run.seen}/${run.written}; writer lag ≤ ${
              run.writerLagMs.toFixed(0)
            } ms\n    p50/p99 ms by second appended: ${run.trace}`,
          );
        }
      } finally {
        conn.close();
      }
    } finally {
      latencyMemory.set(transport, sampler.stop());
      await pair.stop();
    }
  }
  for (const rate of rates) {
    for (const transport of transports) {
      const run = latency.get(`${transport}@${rate}`);
      if (!run) continue;
      const tcp = transport === "relp" ? latency.get(`tcp@${rate}`) : undefined;
      const common =
        `${run.measured} events after a 1 s warm-up; append time → seen by a ${POLL_MS} ms poll of alerts (resolution ≈ ${POLL_MS} ms); seen ${run.seen}/${run.written}; writer lag ≤ ${
          run.writerLagMs.toFixed(0)
        } ms`;
      for (const p of ["p50", "p99"] as const) {
        rows.push({
          scenario: "latency",
          subject: `VM → central over ${transport.toUpperCase()}, ${rate}/s for ${seconds} s: ${p}`,
          value: run[p],
          unit: "ms",
          ...memoryFields(latencyMemory.get(transport) as MemoryPeak),
          ...(tcp ? { reference: { subject: `same over plain TCP`, value: tcp[p] } } : {}),
          sent: run.written,
          stored: run.seen,
          note: p === "p99"
            ? `${rate >= 10_000 ? "target p99 ≤ 250 ms at 10k/s; " : ""}max ${
              run.max.toFixed(0)
            } ms; ${common}`
            : common,
        });
      }
    }
  }

  // Throughput: a pre-written file of N lines, time until all N are in alerts.
  const workload = `${dir}/workload.jsonl`;
  await _writeWorkload(workload, n);
  // Alternating, run by run, so that load from elsewhere weighs on both transports alike.
  const through = new Map<_Transport, _Throughput[]>(transports.map((t) => [t, []]));
  for (let r = 0; r < runs; r++) {
    for (const transport of transports) {
      const t = await _throughput(`${dir}/e2e-${transport}-${r}`, transport, workload, n);
      through.get(transport)!.push(t);
      console.error(
        `  e2e ${transport}: ${
          Math.round(t.stored / t.seconds)
        } events/s, ${t.stored}/${n} rows; ` +
          `VM cpu ${_per100k(t.vmCpu, n)} s/100k, private ${t.vm.privateMb.toFixed(0)} MB; ` +
          `central cpu ${_per100k(t.centralCpu, n)} s/100k, private ${
            t.central.privateMb.toFixed(0)
          } MB`,
      );
    }
  }
  const mid = (ts: _Throughput[], pick: (t: _Throughput) => number) => spread(ts.map(pick)).median;
  const rate = (ts: _Throughput[]) => mid(ts, (t) => Math.min(t.stored, n) / t.seconds);
  const tcp = through.get("tcp") as _Throughput[];
  for (const transport of transports) {
    const ts = through.get(transport) as _Throughput[];
    if (!ts.length) continue;
    const vmCpu = mid(ts, (t) => t.vmCpu);
    const centralCpu = mid(ts, (t) => t.centralCpu);
    const vm = medianPeak(ts.map((t) => t.vm));
    const central = medianPeak(ts.map((t) => t.central));
    const worst = ts.reduce((a, b) => (b.stored < a.stored ? b : a));
    rows.push({
      scenario: "latency",
      subject:
        `VM → central end to end over ${transport.toUpperCase()}: file tail → ${transport} → json → SQLite alerts (${n} lines)`,
      value: rate(ts),
      unit: "events/s",
      ...(ts.length > 1 ? { runs: ts.map((t) => Math.min(t.stored, n) / t.seconds) } : {}),
      ...(transport === "relp" && tcp.length
        ? { reference: { subject: "same over plain TCP", value: rate(tcp) } }
        : {}),
      cpuSeconds: vmCpu + centralCpu,
      idleRssMb: mid(ts, (t) => t.vmIdleMb),
      ...memoryFields(vm),
      sent: n,
      stored: worst.stored,
      // Each round's ratio: the rounds alternate, so a slow phase of the machine slows both.
      note: `${transport === "relp" ? _perRound(ts, tcp) : ""}all ${n} rows in ${
        mid(ts, (t) => t.seconds).toFixed(2)
      } s; CPU per 100k: VM ${_per100k(vmCpu, n)} s, central ${
        _per100k(centralCpu, n)
      } s; memory columns are the VM's (target ≤ 48 MB private); central: RSS ${
        central.rssMb.toFixed(0)
      }, private ${central.privateMb.toFixed(0)}, PSS ${
        central.pssMb.toFixed(0)
      } MB (target ≤ 64), idle RSS ${mid(ts, (t) => t.centralIdleMb).toFixed(0)} MB`,
    });
  }
  return rows;
};
