/**
 * PostgreSQL scenario: alerts stored by `siemPostgresSink` (COPY into a
 * staging table, then `INSERT … SELECT … ON CONFLICT DO NOTHING`, one
 * transaction a batch) into the `alerts` table with its indexes, beside
 * the same rows loaded by `psql \copy` into a copy of that table (same
 * indexes, no deduplication: the ceiling), in the same run on a Postgres 15
 * started for it. Skipped when PostgreSQL is not installed.
 *
 * ```sh
 * deno run -A bench/postgres.ts [--quick]
 * ```
 *
 * @module
 */

import { ComponentStats, createLogger, memoryState } from "../mod.ts";
import { siemPostgresSink } from "../sinks/postgres.ts";
import { prepareSqlBatch, resolveSqlSchema } from "../sinks/_sql_common.ts";
import { copyText } from "../sinks/_sql_pg_copy.ts";
import { siemSchema, siemTableOf } from "../siem/schema.ts";
import { POSTGRES_BIN, startPostgres } from "../tests/fixtures/sql_servers.ts";
import { alertBatch } from "../tests/sinks/_sql_events.ts";
import { runWithDeadline } from "../tests/_peers.ts";
import type { BenchRow, Scenario } from "./lib.ts";

/**
 * Measures the sink's rows/s into `alerts` and `psql \copy`'s for the same rows.
 *
 * @param options Quick or full, and a scratch directory.
 * @returns The figures.
 *
 * @example
 * ```ts ignore
 * import { scenario } from "./postgres.ts";
 * const rows = await scenario({ quick: true, dir: "/tmp" });
 * ```
 */
export const scenario: Scenario = async ({ quick, dir }): Promise<BenchRow[]> => {
  const subject = "siemPostgresSink → alerts (COPY + INSERT … ON CONFLICT, 5k-row batches)";
  if (!POSTGRES_BIN) {
    return [{
      scenario: "postgres",
      subject,
      value: 0,
      unit: "rows/s",
      skipped: "postgresql not installed",
    }];
  }
  const total = quick ? 20_000 : 200_000;
  const batch = 5000;
  const pg = await startPostgres();
  try {
    const batches = [];
    for (let i = 0; i < total; i += batch) batches.push(alertBatch(i, batch));
    // The ceiling's input: the same rows as the sink renders them, in COPY's text format.
    const schema = resolveSqlSchema("bench", siemSchema, siemTableOf());
    const file = `${dir}/alerts.copy`;
    let text = "";
    const tr = performance.now();
    for (const b of batches) {
      const rows = prepareSqlBatch(schema, b, { indexedTextBytes: 600 }).byTable.get("alerts");
      text += copyText(rows ?? []);
    }
    const renderS = (performance.now() - tr) / 1000;
    await Deno.writeTextFile(file, text);
    await Deno.chmod(file, 0o644);
    const cols = schema.defFor("alerts").columns.map(([c]) => `"${c}"`).join(", ");

    const sink = siemPostgresSink({ url: pg.url });
    const stats = new ComponentStats("sink", "db", "postgres");
    await sink.open({
      name: "db",
      stats,
      state: memoryState(),
      log: createLogger("error", undefined, "bench"),
      signal: new AbortController().signal,
    });
    await pg.sql("CREATE TABLE alerts_ceiling (LIKE alerts INCLUDING ALL)");
    let sinkS: number;
    try {
      const t0 = performance.now();
      // As the engine does: up to `concurrency` batches in flight.
      const inFlight = new Set<Promise<void>>();
      for (const b of batches) {
        const p: Promise<void> = sink.write(b).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= (sink.concurrency ?? 1)) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      sinkS = (performance.now() - t0) / 1000;
    } finally {
      await sink.close();
    }
    const t1 = performance.now();
    const r = await runWithDeadline("psql", [
      "-h",
      "127.0.0.1",
      "-p",
      `${pg.port}`,
      "-U",
      "sluice",
      "-d",
      "sluice",
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      `\\copy alerts_ceiling (${cols}) FROM '${file}'`,
    ], { timeoutMs: 600_000, what: "psql \\copy" });
    const copyS = (performance.now() - t1) / 1000;
    if (r.code !== 0) throw new Error(`psql \\copy failed: ${r.stderr}`);
    const stored = Number((await pg.sql("SELECT count(*) FROM alerts")).trim());
    const ceiling = total / copyS;
    const rate = stored / sinkS;
    return [{
      scenario: "postgres",
      subject,
      value: Math.round(rate),
      unit: "rows/s",
      reference: {
        subject: "psql \\copy of the same rows into the same table and indexes",
        value: Math.round(ceiling),
      },
      sent: total,
      stored,
      note: `${(rate / ceiling).toFixed(2)}× the ceiling (goal ≥ 0.7× and ≥ 50k rows/s); ${
        total.toLocaleString("en-US")
      } alerts, Postgres 15 with fsync=off on the same 2 cores; rendering the rows alone (values + COPY text) ran at ${
        Math.round(total / renderS)
      } rows/s`,
    }];
  } finally {
    await pg.stop();
  }
};

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-postgres-" });
  try {
    for (const row of await scenario({ quick, dir })) console.log(JSON.stringify(row));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
