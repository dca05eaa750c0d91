/**
 * The end-to-end part of bench/latency.ts (issue 7's benchmark): N lines
 * appended at once to the VM's tailed file, time until all N are in the
 * central's `alerts`, over RELP beside plain TCP, with both processes' CPU
 * and memory.
 *
 * @module
 */

import { writeSyntheticAlerts } from "./workload.ts";
import { appendFile, cpuSeconds, type MeasuredRow, sleep, spread, waitFor } from "./lib.ts";
import { medianPeak, memoryFields, type MemoryPeak, sampleTree, treeMemory } from "./_memory.ts";
import { openAlerts, startPair, type Transport } from "./_latency_pair.ts";

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
  // By CPU: both processes' CPU per event over TCP against over RELP, the figure that load
  // from elsewhere moves least (a slow phase of the machine stretches time, not work).
  const cpu = relp.map((r, i) => {
    const t = tcp[i] as _Throughput;
    return ((t.vmCpu + t.centralCpu) / t.n / ((r.vmCpu + r.centralCpu) / r.n)).toFixed(2);
  });
  // Every round's time summed: with the order alternating (R T, T R, …), a load that
  // rises or falls steadily over the run weighs on both transports alike, where each round's
  // own ratio favours whichever ran first while the load rose (seen in every 4-round run).
  const sum = (ts: readonly _Throughput[]) => ts.reduce((a, t) => a + t.seconds, 0);
  return `per round ${ratios.map((x) => `${x}×`).join(", ")} (by CPU ${
    cpu.map((x) => `${x}×`).join(", ")
  }), all rounds' time ${(sum(tcp) / sum(relp)).toFixed(2)}×; `;
}

function _per100k(cpu: number, n: number): string {
  return ((cpu * 1e5) / n).toFixed(2);
}

/**
 * Writes back what earlier runs left dirty in the page cache (`sync`, at most 60 s), so that
 * a run does not share the disk and the kernel's writeback threads with the run before it.
 */
async function _settle(): Promise<void> {
  try {
    await new Deno.Command("timeout", { args: ["60", "sync"], stdout: "null", stderr: "null" })
      .output();
  } catch {
    // no sync command: the rounds are only noisier
  }
}

async function _throughput(
  dir: string,
  transport: Transport,
  workload: string,
  n: number,
): Promise<_Throughput> {
  await _settle();
  const pair = await startPair(dir, transport);
  try {
    const conn = await openAlerts(pair.db);
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
    // The run's files (~1 GB at 1M alerts) are not needed any more: removed, their dirty
    // pages are dropped instead of written back during the next run.
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The end-to-end rows: a pre-written file of `n` lines appended at once to
 * the VM's tailed file, the clock running until all `n` are in `alerts`;
 * `runs` rounds alternating the transports, RELP against TCP, every other round in
 * the reverse order; the RELP row notes each round's ratio by time and by CPU.
 *
 * @param dir A directory for the workload and the pairs.
 * @param transports The transports, in order.
 * @param n Lines per run.
 * @param runs Rounds.
 * @returns One row per transport.
 *
 * @example
 * ```ts ignore
 * import { throughputRows } from "./_latency_e2e.ts";
 * const rows = await throughputRows(await Deno.makeTempDir(), ["relp", "tcp"], 20_000, 1);
 * console.log(rows.map((r) => `${r.subject}: ${r.value} events/s`).join("\n"));
 * ```
 */
export async function throughputRows(
  dir: string,
  transports: readonly Transport[],
  n: number,
  runs: number,
): Promise<MeasuredRow[]> {
  const rows: MeasuredRow[] = [];
  // Throughput: a pre-written file of N lines, time until all N are in alerts.
  const workload = `${dir}/workload.jsonl`;
  await writeSyntheticAlerts(workload, n);
  // Alternating, run by run, so that load from elsewhere weighs on both transports alike;
  // every other round in the reverse order (A B, B A, A B …), so that neither transport
  // always runs first (a drift of the machine's load over a round then weighs on both).
  const through = new Map<Transport, _Throughput[]>(transports.map((t) => [t, []]));
  for (let r = 0; r < runs; r++) {
    for (const transport of r % 2 === 0 ? transports : [...transports].reverse()) {
      const t = await _throughput(`${dir}/e2e-${transport}-${r}`, transport, workload, n);
      through.get(transport)!.push(t);
      console.error(
        `  e2e round ${r + 1} ${transport}: ${
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
}
