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

import type { MeasuredScenario } from "./lib.ts";
import type { Transport } from "./_latency_pair.ts";
import { latencyRows } from "./_latency_p99.ts";
import { throughputRows } from "./_latency_e2e.ts";

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
  const transports: Transport[] = ["relp", "tcp"];
  return [
    ...await latencyRows(dir, transports, rates, seconds),
    ...await throughputRows(dir, transports, n, runs),
  ];
};
