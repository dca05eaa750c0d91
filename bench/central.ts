/**
 * The central end to end, beside syslog-ng and rsyslog on the same machine
 * in the same run (scenarios 1, 2, 4 and 7 of the benchmark suite):
 *
 * 1. `central-sqlite`: TCP JSON lines → json → SQLite `alerts` (sluice's
 *    SIEM schema and indexes) + JSONL `all_events`: sluice running
 *    `examples/pipeline.central.ts` beside syslog-ng with the reference
 *    design's configuration as written and syslog-ng tuned;
 * 2. `central-jsonl`: TCP → json → one JSONL file: sluice
 *    (`bench/pipelines/json_to_jsonl.ts`) beside syslog-ng `json-parser()` →
 *    `file()` and rsyslog `mmjsonparse` → `omfile` (rsyslog has no SQLite
 *    output, so it takes part here only);
 * 4. `burst-loss`: every run above already sends as fast as the sender can,
 *    so the events stored against those sent are reported per contender
 *    from the same runs, not measured twice;
 * 7. `ceilings`: `JSON.parse` over the same lines and raw `node:sqlite`
 *    prepared inserts into the same table with the same batch size (2000
 *    rows a transaction), in this process.
 *
 * Each contender runs `BENCH_RUNS` times (3; 1 with `--quick`), interleaved
 * (run 1 of every contender, then run 2 …), on `BENCH_EVENTS` alerts (1M;
 * 100k with `--quick`, which runs sluice and the ceilings only). A contender
 * whose program is missing is skipped with a note.
 *
 * @module
 */

import {
  type Contender,
  rsyslogContender,
  runContender,
  sluiceContender,
  syslogNgContender,
} from "./contenders.ts";
import type { MeasuredScenario } from "./lib.ts";
import { type MemoryPeak, treeMemory } from "./_memory.ts";
import { workload } from "./workload.ts";
import { type Ceiling, ceiling, payloadLines } from "./_central_ceiling.ts";
import { type CentralEntry, centralRows } from "./_central_rows.ts";

function _fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
import { seedSyslogNgContender } from "./seed_central.ts";

/**
 * A contender started with more environment variables (the central
 * example reads `SLUICE_*` as its flags), under its name plus `suffix`.
 *
 * @param contender The contender.
 * @param suffix Added to its name.
 * @param env The variables, set only while it starts.
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sluiceContender } from "./contenders.ts";
 * import { withEnv } from "./central.ts";
 * const c = withEnv(sluiceContender("central"), ", SQLite worker", { SLUICE_SQLITE_WORKER: "on" });
 * assert.equal(c.name, "sluice central, SQLite worker");
 * ```
 */
export function withEnv(
  contender: Contender,
  suffix: string,
  env: Readonly<Record<string, string>>,
): Contender {
  return {
    ...contender,
    name: contender.name + suffix,
    description: `${contender.description}; ${
      Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")
    }`,
    async start(dir) {
      const before = Object.keys(env).map((k) => [k, Deno.env.get(k)] as const);
      for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
      try {
        return await contender.start.call(this, dir);
      } finally {
        for (const [k, v] of before) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    },
  };
}

/**
 * The contenders `BENCH_CENTRAL_ONLY` names (keys separated by commas:
 * `sqlite`, `central`, `central-small`, `syslog-ng-reference`,
 * `syslog-ng-tuned`, `seed`, `jsonl`, `syslog-ng-jsonl`, `rsyslog`, and
 * `central-worker`, run only when named: the central example with
 * `SLUICE_SQLITE_WORKER=on`), in
 * their order; all of them when it is unset or empty. The ceilings always
 * run. `BENCH_CENTRAL_ONLY=seed,central` runs the row that counts alone.
 *
 * @param entries The contenders, each with its key.
 * @param only The variable's value.
 * @returns The contenders to run.
 * @throws {RangeError} On a key no contender has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { centralOnly } from "./central.ts";
 * const all = [{ key: "seed" }, { key: "central" }, { key: "jsonl" }];
 * assert.deepEqual(centralOnly(all, "central, seed").map((e) => e.key), ["seed", "central"]);
 * assert.equal(centralOnly(all, undefined).length, 3);
 * ```
 */
export function centralOnly<T extends { key: string }>(
  entries: readonly T[],
  only: string | undefined,
): T[] {
  const keys = (only ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
  if (keys.length === 0) return [...entries];
  for (const k of keys) {
    if (!entries.some((e) => e.key === k)) {
      throw new RangeError(
        `BENCH_CENTRAL_ONLY: no contender "${k}" (${entries.map((e) => e.key).join(", ")})`,
      );
    }
  }
  return entries.filter((e) => keys.includes(e.key));
}

/**
 * The central scenarios: contenders end to end (1, 2), burst loss (4) and
 * ceilings (7), as rows of the report.
 *
 * @example Run the quick version (sluice and the ceilings, 100k alerts)
 * ```ts ignore
 * import { scenario } from "./central.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * console.log(rows.map((r) => `${r.subject}: ${r.value} ${r.unit}`).join("\n"));
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const n = Number(Deno.env.get("BENCH_EVENTS") ?? (quick ? 100_000 : 1_000_000));
  const rounds = Number(Deno.env.get("BENCH_RUNS") ?? (quick ? 1 : 3));
  const stallMs = Number(Deno.env.get("BENCH_STALL_MS") ?? 10_000);
  const w = await workload(n);
  const payload = await Deno.readFile(w.path);
  const lines = payloadLines(payload);
  const mb = w.bytes / 1e6;
  const log = (text: string) => console.error(`bench central: ${text}`);
  log(`${_fmt(n)} alerts, ${mb.toFixed(0)} MB (${w.path}), ${rounds} run(s) each`);

  const all: Array<CentralEntry & { key: string }> = [
    { key: "sqlite", group: "central-sqlite", contender: sluiceContender("sqlite"), runs: [] },
    { key: "central", group: "central-sqlite", contender: sluiceContender("central"), runs: [] },
    // The same on a machine short of memory: what the memory targets cost in speed.
    {
      key: "central-small",
      group: "central-sqlite",
      contender: sluiceContender("central", { smallHeap: true }),
      runs: [],
    },
    ...(quick ? [] : [
      {
        key: "syslog-ng-reference",
        group: "central-sqlite" as const,
        contender: syslogNgContender("reference"),
        runs: [],
      },
      {
        key: "syslog-ng-tuned",
        group: "central-sqlite" as const,
        contender: syslogNgContender("tuned"),
        runs: [],
      },
      // The row that counts (issue 26): the seed's own central, tuned, beside the central example.
      {
        key: "seed",
        group: "central-sqlite" as const,
        contender: seedSyslogNgContender(),
        runs: [],
      },
    ]),
    { key: "jsonl", group: "central-jsonl", contender: sluiceContender("jsonl"), runs: [] },
    ...(quick ? [] : [
      {
        key: "syslog-ng-jsonl",
        group: "central-jsonl" as const,
        contender: syslogNgContender("jsonl"),
        runs: [],
      },
      {
        key: "rsyslog",
        group: "central-jsonl" as const,
        contender: rsyslogContender(),
        runs: [],
      },
    ]),
  ];
  // Only when BENCH_CENTRAL_ONLY names it: the central example with SQLite on a worker thread,
  // beside the default, to check what the 2-core default profile chooses (issue 26).
  const only = Deno.env.get("BENCH_CENTRAL_ONLY");
  if (only?.split(",").some((k) => k.trim() === "central-worker")) {
    all.push({
      key: "central-worker",
      group: "central-sqlite",
      contender: withEnv(sluiceContender("central"), ", SQLite worker", {
        SLUICE_SQLITE_WORKER: "on",
      }),
      runs: [],
    });
  }
  // BENCH_CENTRAL_ENV="K=V …": one more contender, the central example started with those
  // variables (an A/B of a setting in the same run); run when BENCH_CENTRAL_ONLY names
  // `central-env` or is unset.
  const extra = Deno.env.get("BENCH_CENTRAL_ENV")?.trim();
  if (extra) {
    const env = Object.fromEntries(
      extra.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    all.push({
      key: "central-env",
      group: "central-sqlite",
      contender: withEnv(sluiceContender("central"), `, ${extra}`, env),
      runs: [],
    });
  }
  const entries: CentralEntry[] = centralOnly(all, only);
  if (entries.length < all.length) {
    log(
      `BENCH_CENTRAL_ONLY: ${entries.map((e) => e.contender.name).join(", ")} (and the ceilings)`,
    );
  }
  for (const e of entries) {
    const why = e.contender.unavailable();
    if (why) {
      e.skipped = why;
      log(`${e.contender.name} skipped: ${why}`);
    }
  }
  const ceilings: Ceiling[] = [];
  // The ceilings run in the bench process, synchronously: its memory at the end of each.
  const ceilingMemory: MemoryPeak[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [i, e] of entries.entries()) {
      if (e.skipped || e.error) continue;
      const runDir = `${dir}/${i}-${round}`;
      await Deno.mkdir(runDir, { recursive: true });
      try {
        const r = await runContender(e.contender, payload, n, runDir, { stallMs });
        e.runs.push(r);
        log(
          `run ${round}/${rounds} ${e.group} ${e.contender.name}: ${_fmt(r.rate)} msg/s, ` +
            `stored ${r.stored}/${r.sent} (${r.end}), peak RSS ${r.peakRssMb.toFixed(0)} MB`,
        );
      } catch (err) {
        // sluice failing is a failure of the suite; a peer failing is a note.
        if (e.contender.name.startsWith("sluice")) throw err;
        e.error = err instanceof Error ? err.message : String(err);
        log(`${e.contender.name} failed: ${e.error}`);
      } finally {
        await Deno.remove(runDir, { recursive: true }).catch(() => {});
      }
    }
    const db = `${dir}/ceiling-${round}.db`;
    const c = ceiling(lines, db);
    ceilingMemory.push(treeMemory("self", false));
    ceilings.push(c);
    log(
      `run ${round}/${rounds} ceilings: JSON.parse ${_fmt(c.parse)} lines/s, ` +
        `inserts ${_fmt(c.insert)} rows/s, both ${_fmt(c.both)} rows/s`,
    );
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(db + suffix).catch(() => {});
  }

  return centralRows(entries, ceilings, ceilingMemory, n);
};
