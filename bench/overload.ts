/**
 * Scenario 5, overload memory: N JSON lines are pushed over TCP as fast as
 * the socket takes them into sluice running `bench/pipelines/slow_sink.ts`
 * (TCP → json → a sink that takes at most `sinkRate` events/s), so the
 * pipeline is under back-pressure from start to end. The sluice process's
 * RSS is sampled every second; bounded queues and back-pressure should keep
 * it flat, so the report compares the peak of the second half of the run
 * with the peak of the first half, and gives the slope of a least-squares
 * line through the samples after the first 10%.
 *
 * Sizes: `BENCH_OVERLOAD_EVENTS` (default 10,000,000; `--quick` 200,000),
 * `BENCH_OVERLOAD_SINK_RATE` events/s (default 50,000; `--quick` 20,000).
 *
 * @module
 */

import { syntheticAlert } from "../sources/generator.ts";
import { exitWithin, spawnGroup } from "../tests/_peers.ts";
import {
  cpuSeconds,
  deadline,
  type MeasuredRow,
  type MeasuredScenario,
  memoryMb,
  sleep,
  sluiceRunArgs,
  waitFor,
} from "./lib.ts";

import { memoryFields, type MemoryPeak, sampleTree, type TreeSampler } from "./_memory.ts";

const SLOW = new URL("./pipelines/slow_sink.ts", import.meta.url).pathname;

/** Slope of the least-squares line through `(t, y)` points, in y per unit of t. */
function _slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  let sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const d = n * sxx - sx * sx;
  return d === 0 ? 0 : (n * sxy - sx * sy) / d;
}

/** What a run of the overload scenario measured. */
interface _Overload {
  sent: number;
  delivered: number;
  seconds: number;
  /** When the sender's last write returned. */
  sentSeconds: number;
  /** What the sink had taken by then: the rest was buffered somewhere. */
  deliveredAtSent: number;
  cpu: number;
  idleMb: number;
  peakMb: number;
  firstHalfPeakMb: number;
  secondHalfPeakMb: number;
  slopeMbPerMin: number;
  samples: Array<[number, number]>;
  /** Peak RSS, private memory and PSS of the process tree over the workload. */
  memory: MemoryPeak;
}

async function _overload(
  dir: string,
  n: number,
  sinkRate: number,
  v8Flags?: string,
): Promise<_Overload> {
  const child = spawnGroup(Deno.execPath(), {
    args: [
      ...sluiceRunArgs(`${dir}/state`, SLOW, v8Flags),
      "--sink-rate",
      String(sinkRate),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
  let text = "";
  let delivered = 0;
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const c of child.stderr) {
      text += decoder.decode(c, { stream: true });
      const all = [...text.matchAll(/slow sink delivered (\d+)/g)];
      const last = all[all.length - 1];
      if (last) delivered = Number(last[1]);
      // Keep only the tail: the log grows by a line a second.
      if (text.length > 1 << 16) text = text.slice(-4096);
    }
  })();
  const samples: Array<[number, number]> = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  let memory: TreeSampler | undefined;
  try {
    const up = await waitFor(() => /over TCP\s+127\.0\.0\.1:\d+/.test(text), 60_000);
    if (!up) throw new Error(`overload bench: sluice did not start:\n${text}`);
    const port = Number(/over TCP\s+127\.0\.0\.1:(\d+)/.exec(text)?.[1]);
    await sleep(1000);
    const idleMb = memoryMb(child.pid).rss;
    // 10,000 distinct lines, sent over and over: the sink counts, it does not deduplicate.
    const encoder = new TextEncoder();
    const block = 10_000;
    let blockText = "";
    for (let i = 0; i < block; i++) blockText += syntheticAlert(i) + "\n";
    const chunk = encoder.encode(blockText);
    memory = sampleTree(child.pid);
    const cpu0 = cpuSeconds(child.pid);
    const t0 = performance.now();
    samples.push([0, memoryMb(child.pid).rss]);
    sampler = setInterval(() => {
      samples.push([(performance.now() - t0) / 1000, memoryMb(child.pid).rss]);
    }, 1000);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    let sent = 0;
    try {
      for (; sent < n;) {
        const lines = Math.min(block, n - sent);
        const bytes = lines === block ? chunk : chunk.subarray(0, _nthNewline(chunk, lines) + 1);
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
        sent += lines;
      }
    } finally {
      conn.close();
    }
    const sentSeconds = (performance.now() - t0) / 1000;
    const deliveredAtSent = delivered;
    const timeoutMs = Math.max(60_000, (n / sinkRate) * 3000);
    await waitFor(() => delivered >= n, timeoutMs, 100);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    sampler = undefined;
    samples.push([seconds, memoryMb(child.pid).rss]);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const peakMb = memoryMb(child.pid).hwm;
    const half = seconds / 2;
    const peakOf = (keep: (t: number) => boolean) =>
      Math.max(0, ...samples.filter(([t]) => keep(t)).map(([, mb]) => mb));
    return {
      sent,
      delivered,
      seconds,
      sentSeconds,
      deliveredAtSent,
      cpu,
      idleMb,
      peakMb,
      firstHalfPeakMb: peakOf((t) => t <= half),
      secondHalfPeakMb: peakOf((t) => t > half),
      slopeMbPerMin: _slope(samples.filter(([t]) => t >= seconds * 0.1)) * 60,
      samples,
      memory: memory.stop(),
    };
  } finally {
    memory?.stop();
    if (sampler !== undefined) clearInterval(sampler);
    child.kill("SIGTERM");
    await exitWithin(child, 30_000, "overload bench: sluice stopping on SIGTERM").catch((err) => {
      console.error(err);
    });
    await deadline("overload bench: sluice's stderr", 5_000, pump).catch(() => {});
  }
}

function _nthNewline(bytes: Uint8Array, n: number): number {
  let at = -1;
  for (let k = 0; k < n; k++) at = bytes.indexOf(10, at + 1);
  return at;
}

function _row(r: _Overload, rate: number, capped: string | undefined): MeasuredRow {
  const growth = r.secondHalfPeakMb - r.firstHalfPeakMb;
  // Flat: the second half never climbs more than 10% (and 4 MB) above the first half's peak.
  const flat = growth <= Math.max(4, r.firstHalfPeakMb * 0.1);
  const trace = r.samples
    .filter((_, i) => i % Math.max(1, Math.ceil(r.samples.length / 12)) === 0)
    .map(([t, mb]) => `${t.toFixed(0)}s:${mb.toFixed(0)}`)
    .join(" ");
  console.error(`  overload${capped ? ` (${capped})` : ""} RSS samples (s:MB): ${trace}`);
  return {
    scenario: "overload",
    subject: `sluice TCP → json → slow sink (${rate}/s), ${r.sent} events${
      capped ? `, deno --v8-flags=${capped}` : ""
    }: RSS peak in the second half`,
    value: r.secondHalfPeakMb,
    unit: "MB",
    reference: { subject: "RSS peak in the first half", value: r.firstHalfPeakMb },
    cpuSeconds: r.cpu,
    idleRssMb: r.idleMb,
    ...memoryFields(r.memory),
    sent: r.sent,
    stored: r.delivered,
    note: `${flat ? "flat" : "GROWS"}: ${growth >= 0 ? "+" : ""}${growth.toFixed(1)} MB, slope ${
      r.slopeMbPerMin.toFixed(2)
    } MB/min after the first 10%; idle ${r.idleMb.toFixed(0)} MB, VmHWM ${
      r.peakMb.toFixed(0)
    } MB; delivered ${r.delivered}/${r.sent} in ${r.seconds.toFixed(1)} s (${
      Math.round(r.delivered / r.seconds)
    }/s); the sender's last write returned after ${r.sentSeconds.toFixed(1)} s with ${
      r.sent - r.deliveredAtSent
    } events not yet delivered (in sluice or socket buffers); samples ${trace}${
      r.seconds < 30 ? "; a run under 30 s ends while V8's heap still grows to its plateau" : ""
    }${
      capped
        ? "; a capped old space shows how much of the plateau is live data and how much V8's heap-growth policy"
        : ""
    }`,
  };
}

/**
 * Scenario 5: sluice's RSS under sustained back-pressure from a slow sink.
 *
 * @example Run it the way `bench/main.ts` does (it starts real processes)
 * ```ts ignore
 * import assert from "node:assert";
 * import { scenario } from "./overload.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * assert.ok(rows.length > 0);
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const n = Number(Deno.env.get("BENCH_OVERLOAD_EVENTS") ?? (quick ? 200_000 : 10_000_000));
  const rate = Number(Deno.env.get("BENCH_OVERLOAD_SINK_RATE") ?? (quick ? 20_000 : 50_000));
  const rows = [_row(await _overload(`${dir}/default`, n, rate), rate, undefined)];
  if (!quick) {
    // The same with V8's old space capped, on at most 2M events.
    const capped = "--max-old-space-size=24";
    const r = await _overload(`${dir}/capped`, Math.min(n, 2_000_000), rate, capped);
    rows.push(_row(r, rate, capped));
  }
  return rows;
};
