/**
 * Idle memory (issue 26: ≤ 20 MB private for either role): the central and
 * the VM example as `deno task start` runs them (its V8 flags), each read
 * `BENCH_IDLE_MS` (11 s, past two looks of core/idle_gc.ts) after its
 * start-up CPU went quiet, by bench/idle_memory.ts's `idleReading()`; a
 * bare `deno eval` that only waits is the floor beside them. `BENCH_RUNS`
 * runs each (3; 1 with `--quick`), the median reported.
 *
 * @module
 */

import { type MeasuredRow, type MeasuredScenario, spread } from "./lib.ts";
import { centralIdleArgs, type IdleReading, idleReading, vmIdleArgs } from "./idle_memory.ts";

const _GOAL_MB = 20;

function _row(subject: string, readings: IdleReading[], note: string): MeasuredRow {
  const privs = readings.map((r) => r.private);
  const mid = (xs: number[]) => spread(xs).median;
  return {
    scenario: "idle",
    subject,
    value: mid(privs),
    unit: "MB",
    runs: privs,
    peakRssMb: mid(readings.map((r) => r.rss)),
    peakPrivateMb: mid(privs),
    pssMb: mid(readings.map((r) => r.pss)),
    note,
  };
}

/**
 * The idle rows: the central on a fresh data dir, the VM forwarding over
 * TCP to a listener of the bench, and the bare floor.
 *
 * @example Run it the way `bench/main.ts` does (it starts real processes)
 * ```ts ignore
 * import { scenario } from "./idle.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const runs = Number(Deno.env.get("BENCH_RUNS") ?? (quick ? 1 : 3));
  const idleMs = Number(Deno.env.get("BENCH_IDLE_MS") ?? 11_000);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const serving = (async () => {
    for await (const conn of listener) {
      (async () => {
        for await (const _ of conn.readable) { /* discarded: the VM forwards nothing idle */ }
      })().catch(() => {});
    }
  })().catch(() => {});
  const central: IdleReading[] = [];
  const vm: IdleReading[] = [];
  const bare: IdleReading[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      // Alternating, so load from elsewhere weighs on every case alike.
      const data = await Deno.makeTempDir({ dir, prefix: "central-" });
      central.push(
        await idleReading("examples/pipeline.central.ts", centralIdleArgs(data), idleMs),
      );
      const vmData = await Deno.makeTempDir({ dir, prefix: "vm-" });
      vm.push(await idleReading("examples/pipeline.vm.ts", vmIdleArgs(vmData, port), idleMs));
      bare.push(await idleReading("bare", [], Math.min(idleMs, 3000)));
    }
  } finally {
    listener.close();
    await serving;
  }
  const floor = spread(bare.map((r) => r.private)).median;
  const goal = (r: IdleReading[]) => {
    const m = spread(r.map((x) => x.private)).median;
    return `goal ≤ ${_GOAL_MB} MB private (issue 26): ${
      m <= _GOAL_MB ? "met" : `missed by ${(m - _GOAL_MB).toFixed(1)} MB`
    }`;
  };
  const after = `${(idleMs / 1000).toFixed(0)} s after start-up CPU went quiet`;
  return [
    _row(
      "central example, default flags, --ui off, fresh data dir: idle private memory",
      central,
      `${goal(central)}; ${after}; a bare deno process: ${floor.toFixed(1)} MB`,
    ),
    _row(
      "VM example, default flags, forwarding over TCP: idle private memory",
      vm,
      `${goal(vm)}; ${after}; a bare deno process: ${floor.toFixed(1)} MB`,
    ),
    _row("a bare deno process that only waits (deno eval)", bare, "the floor under either role"),
  ];
};
