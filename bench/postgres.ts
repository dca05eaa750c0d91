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
import { copyBytes } from "../sinks/_sql_pg_copy.ts";
import { siemSchema, siemTableOf } from "../siem/schema.ts";
import { siemMysqlSink } from "../sinks/mysql.ts";
import { myDatetime } from "../sinks/_sql_mysql.ts";
import type { LogEvent, Sink } from "../mod.ts";
import {
  MARIADBD,
  POSTGRES_BIN,
  startMariadb,
  startPostgres,
} from "../tests/fixtures/sql_servers.ts";
import { alertBatch } from "../tests/sinks/_sql_events.ts";
import { runWithDeadline } from "../tests/_peers.ts";
import type { BenchOptions, MeasuredRow, MeasuredScenario } from "./lib.ts";
import { memoryFields, type MemoryPeak, withMemory } from "./_memory.ts";

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
export const scenario: MeasuredScenario = async (options): Promise<MeasuredRow[]> => [
  ...await _postgres(options),
  ...await _mariadb(options),
];

/** Rendered alerts in batches, and the same rows as a tab-separated file (COPY / LOAD DATA format). */
async function _rows(total: number, file: string, datetime: boolean) {
  const batches = [];
  for (let i = 0; i < total; i += 5000) batches.push(alertBatch(i, 5000));
  const schema = resolveSqlSchema("bench", siemSchema, siemTableOf());
  const def = schema.defFor("alerts");
  const k = def.columns.findIndex(([c]) => c === "timestamp");
  const parts: Uint8Array[] = [];
  for (const b of batches) {
    const rows = prepareSqlBatch(schema, b, { indexedTextBytes: 191 }).byTable.get("alerts") ?? [];
    if (datetime) { for (const row of rows) row[k] = myDatetime(row[k]); }
    parts.push(copyBytes(rows));
  }
  await Deno.writeFile(file, ReadableStream.from(parts));
  return { batches, cols: def.columns.map(([c]) => c) };
}

/** Writes batches as the engine does: up to the sink's `concurrency` in flight. */
async function _store(sink: Sink, batches: LogEvent[][]): Promise<number> {
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (const b of batches) {
    const p: Promise<void> = sink.write(b).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= (sink.concurrency ?? 1)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return (performance.now() - t0) / 1000;
}

function _ctx() {
  return {
    name: "db",
    stats: new ComponentStats("sink", "db", "bench"),
    state: memoryState(),
    log: createLogger("error", undefined, "bench"),
    signal: new AbortController().signal,
  };
}

async function _mariadb({ quick, dir }: BenchOptions): Promise<MeasuredRow[]> {
  const subject = "siemMysqlSink → MariaDB alerts (multi-row prepared INSERT, 5k-row batches)";
  if (!MARIADBD) {
    return [{
      scenario: "mariadb",
      subject,
      value: 0,
      unit: "rows/s",
      skipped: "mariadb-server not installed",
    }];
  }
  const total = quick ? 20_000 : 200_000;
  const db = await startMariadb();
  try {
    const file = `${dir}/alerts.tsv`;
    const { batches, cols } = await _rows(total, file, true);
    const sink = siemMysqlSink({ url: db.url });
    await sink.open(_ctx());
    await db.sql("CREATE TABLE alerts_ceiling LIKE alerts");
    let sinkS: number;
    let memory: MemoryPeak;
    try {
      // The sink runs in the bench process: its memory is the bench process's.
      ({ value: sinkS, memory } = await withMemory(() => _store(sink, batches)));
    } finally {
      await sink.close();
    }
    const t1 = performance.now();
    await db.sql(
      `LOAD DATA INFILE '${file}' INTO TABLE alerts_ceiling (${
        cols.map((c) => `\`${c}\``).join(", ")
      })`,
    );
    const loadS = (performance.now() - t1) / 1000;
    const stored = Number((await db.sql("SELECT count(*) FROM alerts")).trim());
    const loaded = Number((await db.sql("SELECT count(*) FROM alerts_ceiling")).trim());
    if (loaded !== total) throw new Error(`LOAD DATA stored ${loaded} of ${total} rows`);
    const rate = stored / sinkS;
    const ceiling = total / loadS;
    return [{
      scenario: "mariadb",
      subject,
      value: Math.round(rate),
      unit: "rows/s",
      ...memoryFields(memory),
      reference: {
        subject: "LOAD DATA INFILE of the same rows into the same table and indexes",
        value: Math.round(ceiling),
      },
      sent: total,
      stored,
      note: `${(rate / ceiling).toFixed(2)}× LOAD DATA; ${
        total.toLocaleString("en-US")
      } alerts, MariaDB with innodb_flush_log_at_trx_commit=2 on the same 2 cores`,
    }];
  } finally {
    await db.stop();
  }
}

async function _postgres({ quick, dir }: BenchOptions): Promise<MeasuredRow[]> {
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
    const batches: LogEvent[][] = [];
    for (let i = 0; i < total; i += batch) batches.push(alertBatch(i, batch));
    // The ceiling's input: the same rows as the sink renders them, in COPY's text format.
    const schema = resolveSqlSchema("bench", siemSchema, siemTableOf());
    const file = `${dir}/alerts.copy`;
    const parts: Uint8Array[] = [];
    const tr = performance.now();
    for (const b of batches) {
      const rows = prepareSqlBatch(schema, b, { indexedTextBytes: 600 }).byTable.get("alerts");
      parts.push(copyBytes(rows ?? []));
    }
    const renderS = (performance.now() - tr) / 1000;
    await Deno.writeFile(file, ReadableStream.from(parts));
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
    const sampled = withMemory(async () => {
      const t0 = performance.now();
      // As the engine does: up to `concurrency` batches in flight.
      const inFlight = new Set<Promise<void>>();
      for (const b of batches) {
        const p: Promise<void> = sink.write(b).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= (sink.concurrency ?? 1)) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      return (performance.now() - t0) / 1000;
    });
    let memory: MemoryPeak;
    try {
      ({ value: sinkS, memory } = await sampled);
    } finally {
      await sink.close();
    }
    // What the sink's load left for the server to do (autovacuum of 200k new rows, dirty pages)
    // is done before the ceiling's clock starts, not charged to it.
    await pg.sql("VACUUM ANALYZE alerts");
    await pg.sql("CHECKPOINT");
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
      ...memoryFields(memory),
      reference: {
        subject: "psql \\copy of the same rows into the same table and indexes",
        value: Math.round(ceiling),
      },
      sent: total,
      stored,
      note: `${(rate / ceiling).toFixed(2)}× the ceiling (goal ≥ 0.7× and ≥ 50k rows/s); ${
        total.toLocaleString("en-US")
      } alerts, Postgres 15 with fsync=off on the same 2 cores; rendering the rows alone (values + COPY data) ran at ${
        Math.round(total / renderS)
      } rows/s; load average ${(Deno.loadavg()[0] ?? 0).toFixed(1)} at the end`,
    }];
  } finally {
    await pg.stop();
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-postgres-" });
  try {
    for (const row of await scenario({ quick, dir })) console.log(JSON.stringify(row));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
