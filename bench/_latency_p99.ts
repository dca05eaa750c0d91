/**
 * The latency part of bench/latency.ts (scenario 6): a writer appends
 * alerts at a fixed rate, each carrying its append time, and a poller of
 * the central's `alerts` table takes append → visible; p50 and p99 per
 * rate and transport.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../sources/generator.ts";
import { type MeasuredRow, sleep } from "./lib.ts";
import { memoryFields, type MemoryPeak, sampleTree } from "./_memory.ts";
import { openAlerts, type Pair, startPair, type Transport } from "./_latency_pair.ts";

/** How often the central's `alerts` table is read for new rows, in ms. */
const POLL_MS = 5;
/** The writer's tick: every tick appends the lines due by then in one write. */
const TICK_MS = 5;

/** Wall-clock milliseconds with sub-millisecond resolution, one clock for writer and poller. */
const _now = () => performance.timeOrigin + performance.now();

function _percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

const _T_APPEND = /"t_append":([0-9.]+)/;

/**
 * What one rate of the latency run measured (ms unless named).
 *
 * @example
 * ```ts ignore
 * import type { LatencyRun } from "./_latency_p99.ts";
 * declare const run: LatencyRun;
 * console.log(`p99 ${run.p99} ms over ${run.measured} events`);
 * ```
 */
export interface LatencyRun {
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
 *
 * @param pair The running pair.
 * @param conn A read-only connection to its `alerts`.
 * @param rate Lines a second.
 * @param seconds How long.
 * @param firstSeq The first line's sequence number.
 * @returns The percentiles and counts.
 *
 * @example
 * ```ts ignore
 * import { openAlerts, startPair } from "./_latency_pair.ts";
 * import { measureLatency } from "./_latency_p99.ts";
 * const pair = await startPair(await Deno.makeTempDir(), "relp");
 * const conn = await openAlerts(pair.db);
 * console.log((await measureLatency(pair, conn, 1000, 3, 0)).p99);
 * conn.close();
 * await pair.stop();
 * ```
 */
export async function measureLatency(
  pair: Pair,
  conn: DatabaseSync,
  rate: number,
  seconds: number,
  firstSeq: number,
): Promise<LatencyRun> {
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

/**
 * The latency rows: one VM + central pair per transport, the rates one
 * after the other, p50 and p99 per rate and transport (RELP against TCP).
 *
 * @param dir A directory for the pairs.
 * @param transports The transports, in order.
 * @param rates Lines a second, each for `seconds`.
 * @param seconds How long each rate runs.
 * @returns The rows; none when `rates` is empty.
 *
 * @example
 * ```ts ignore
 * import { latencyRows } from "./_latency_p99.ts";
 * const rows = await latencyRows(await Deno.makeTempDir(), ["relp", "tcp"], [1000], 3);
 * console.log(rows.map((r) => `${r.subject}: ${r.value} ms`).join("\n"));
 * ```
 */
export async function latencyRows(
  dir: string,
  transports: readonly Transport[],
  rates: readonly number[],
  seconds: number,
): Promise<MeasuredRow[]> {
  const rows: MeasuredRow[] = [];
  // Latency: one VM + central pair per transport, the rates one after the other.
  const latency = new Map<string, LatencyRun>();
  const latencyMemory = new Map<Transport, MemoryPeak>();
  // BENCH_LATENCY_RATES=0 measures the throughput only.
  for (const transport of rates.length ? transports : []) {
    const pair = await startPair(`${dir}/latency-${transport}`, transport);
    const sampler = sampleTree(pair.vm.pid);
    try {
      const conn = await openAlerts(pair.db);
      try {
        let seq = 0;
        for (const rate of rates) {
          await sleep(1000);
          const run = await measureLatency(pair, conn, rate, seconds, seq);
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
  return rows;
}
