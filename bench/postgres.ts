/**
 * PostgreSQL scenario: alerts stored by `siemPostgresSink` (a COPY straight
 * into the table; COPY into a staging table, then `INSERT … SELECT … ON
 * CONFLICT DO NOTHING` once an id is found stored; one transaction a
 * batch) into the `alerts` table with its indexes, beside
 * the same rows loaded by `psql \copy` into a copy of that table (same
 * indexes, no deduplication: the ceiling), on one Postgres 15 started for
 * it, in rounds that alternate which load goes first (`BENCH_SQL_ROUNDS`,
 * 4, 2 with `--quick`; both tables emptied, vacuumed and checkpointed
 * before each load), each round's ratio in the note; then syslog-ng's
 * `sql()` into a third copy of the table on the same server. MariaDB the
 * same way beside `LOAD DATA`. Skipped when a server is not installed;
 * `BENCH_SQL_SERVERS=postgres` (or `mariadb`) runs one of the two.
 *
 * ```sh
 * BENCH_SQL_ROUNDS=4 deno run -A bench/postgres.ts [--quick]
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
import type { BenchOptions, MeasuredRow, MeasuredScenario } from "./lib.ts";
import { medianPeak, memoryFields, type MemoryPeak, runSampled, withMemory } from "./_memory.ts";
import { jsonLines, syslogNgSqlRow } from "./_sql_syslog_ng.ts";

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
export const scenario: MeasuredScenario = async (options): Promise<MeasuredRow[]> => {
  const only = Deno.env.get("BENCH_SQL_SERVERS")?.split(",");
  return [
    ...(!only || only.includes("postgres") ? await _postgres(options) : []),
    ...(!only || only.includes("mariadb") ? await _mariadb(options) : []),
  ];
};

/** Rendered alerts in batches, and the same rows as a tab-separated file (COPY / LOAD DATA format). */
async function _rows(total: number, file: string, datetime: boolean) {
  const batches = [];
  for (let i = 0; i < total; i += 5000) batches.push(alertBatch(i, 5000));
  const schema = resolveSqlSchema("bench", siemSchema, siemTableOf());
  const def = schema.defFor("alerts");
  const k = def.columns.findIndex(([c]) => c === "timestamp");
  const parts: Uint8Array[] = [];
  const all: unknown[][] = [];
  for (const b of batches) {
    const rows = prepareSqlBatch(schema, b, { indexedTextBytes: 191 }).byTable.get("alerts") ?? [];
    if (datetime) { for (const row of rows) row[k] = myDatetime(row[k]); }
    parts.push(copyBytes(rows));
    all.push(...rows);
  }
  await Deno.writeFile(file, ReadableStream.from(parts));
  return { batches, cols: def.columns.map(([c]) => c), all };
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

/**
 * One load by a fresh sink: opened, `batches` written as the engine would,
 * every row checked stored (`stored()` after the load), closed. The sink
 * runs in the bench process, so its memory is the bench process's.
 */
async function _sinkLoad(
  sink: Sink,
  batches: LogEvent[][],
  total: number,
  stored: () => Promise<number>,
) {
  await sink.open(_ctx());
  try {
    const { value: s, memory } = await withMemory(() => _store(sink, batches));
    const n = await stored();
    if (n !== total) throw new Error(`the sink stored ${n} of ${total} rows`);
    return { rate: total / s, memory };
  } finally {
    await sink.close();
  }
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
    const { batches, cols, all } = await _rows(total, file, true);
    const opener = siemMysqlSink({ url: db.url });
    await opener.open(_ctx());
    await opener.close();
    await db.sql("CREATE TABLE alerts_ceiling LIKE alerts");
    const count = async (table: string) =>
      Number((await db.sql(`SELECT count(*) FROM ${table}`)).trim());
    const sinkLoad = () =>
      _sinkLoad(siemMysqlSink({ url: db.url }), batches, total, () => count("alerts"));
    const loadData = async () => {
      const t1 = performance.now();
      await db.sql(
        `LOAD DATA INFILE '${file}' INTO TABLE alerts_ceiling (${
          cols.map((c) => `\`${c}\``).join(", ")
        })`,
      );
      const s = (performance.now() - t1) / 1000;
      const loaded = await count("alerts_ceiling");
      if (loaded !== total) throw new Error(`LOAD DATA stored ${loaded} of ${total} rows`);
      return total / s;
    };
    const sinkRates: number[] = [], loadRates: number[] = [], ratios: string[] = [];
    const sinkMem: MemoryPeak[] = [];
    for (let round = 0; round < _rounds(quick); round++) {
      await db.sql("TRUNCATE alerts");
      await db.sql("TRUNCATE alerts_ceiling");
      const sinkFirst = round % 2 === 0;
      let a, l;
      if (sinkFirst) {
        a = await sinkLoad();
        l = await loadData();
      } else {
        l = await loadData();
        a = await sinkLoad();
      }
      sinkRates.push(a.rate);
      loadRates.push(l);
      sinkMem.push(a.memory);
      ratios.push(`${(a.rate / l).toFixed(2)} (${sinkFirst ? "sink-first" : "load-first"})`);
    }
    const rate = _median(sinkRates);
    const ceiling = _median(loadRates);
    return [
      {
        scenario: "mariadb",
        subject,
        value: Math.round(rate),
        unit: "rows/s",
        runs: sinkRates.map(Math.round),
        ...memoryFields(medianPeak(sinkMem)),
        reference: {
          subject: "LOAD DATA INFILE of the same rows into the same table and indexes (median)",
          value: Math.round(ceiling),
        },
        sent: total,
        stored: total,
        note:
          `sink ÷ LOAD DATA per round (same server, alternating order): ${ratios.join(", ")}; ` +
          `LOAD DATA ${loadRates.map((r) => Math.round(r)).join("/")} rows/s (the server's work: ` +
          `the mariadb client is not sampled); ${
            total.toLocaleString("en-US")
          } alerts, MariaDB with innodb_flush_log_at_trx_commit=2 on the same 2 cores`,
      },
      await syslogNgSqlRow("mysql", {
        scenario: "mariadb",
        port: db.port,
        table: "alerts_syslogng",
        create: () => db.sql("CREATE TABLE alerts_syslogng LIKE alerts"),
        count: () => count("alerts_syslogng"),
        lines: () => jsonLines(all, cols),
        names: cols,
        total,
        sink: rate,
        dir,
      }),
    ];
  } finally {
    await db.stop();
  }
}

function _median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Rounds of the sink and its reference, alternating which goes first. */
function _rounds(quick: boolean): number {
  const n = Number(Deno.env.get("BENCH_SQL_ROUNDS") ?? (quick ? 2 : 4));
  return Number.isInteger(n) && n > 0 ? n : 4;
}

async function _postgres({ quick, dir }: BenchOptions): Promise<MeasuredRow[]> {
  const subject =
    "siemPostgresSink → alerts (direct COPY; staging + INSERT … ON CONFLICT once an id is stored; 5k-row batches)";
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
    const names = schema.defFor("alerts").columns.map(([c]) => c);
    const file = `${dir}/alerts.copy`;
    const parts: Uint8Array[] = [];
    const all: unknown[][] = [];
    const tr = performance.now();
    for (const b of batches) {
      const rows = prepareSqlBatch(schema, b, { indexedTextBytes: 600 }).byTable.get("alerts");
      parts.push(copyBytes(rows ?? []));
      all.push(...rows ?? []);
    }
    const renderS = (performance.now() - tr) / 1000;
    await Deno.writeFile(file, ReadableStream.from(parts));
    await Deno.chmod(file, 0o644);
    const cols = names.map((c) => `"${c}"`).join(", ");
    // The sink makes the tables at open.
    const opener = siemPostgresSink({ url: pg.url });
    await opener.open(_ctx());
    await opener.close();
    await pg.sql("CREATE TABLE alerts_ceiling (LIKE alerts INCLUDING ALL)");
    const count = async (table: string) =>
      Number((await pg.sql(`SELECT count(*) FROM ${table}`)).trim());
    // What a load left for the server to do (autovacuum of 200k new rows, dirty pages) is done
    // before the next clock starts, not charged to it.
    const settle = async () => {
      await pg.sql("VACUUM ANALYZE");
      await pg.sql("CHECKPOINT");
    };

    const sinkLoad = () =>
      _sinkLoad(siemPostgresSink({ url: pg.url }), batches, total, () => count("alerts"));
    const copyLoad = async () => {
      const t1 = performance.now();
      const r = await runSampled("psql", [
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
      const s = (performance.now() - t1) / 1000;
      if (r.code !== 0) throw new Error(`psql \\copy failed: ${r.stderr}`);
      return { rate: total / s, memory: r.memory };
    };

    const sinkRates: number[] = [], copyRates: number[] = [], ratios: string[] = [];
    const sinkMem: MemoryPeak[] = [], copyMem: MemoryPeak[] = [];
    const loads: number[] = [];
    for (let round = 0; round < _rounds(quick); round++) {
      await pg.sql("TRUNCATE alerts, alerts_ceiling");
      await settle();
      const sinkFirst = round % 2 === 0;
      let a, c;
      if (sinkFirst) {
        a = await sinkLoad();
        await settle();
        c = await copyLoad();
      } else {
        c = await copyLoad();
        await settle();
        a = await sinkLoad();
      }
      sinkRates.push(a.rate);
      copyRates.push(c.rate);
      sinkMem.push(a.memory);
      copyMem.push(c.memory);
      loads.push(Deno.loadavg()[0] ?? 0);
      ratios.push(`${(a.rate / c.rate).toFixed(2)} (${sinkFirst ? "sink-first" : "copy-first"})`);
    }
    const rate = _median(sinkRates);
    const ceiling = _median(copyRates);
    const rows: MeasuredRow[] = [{
      scenario: "postgres",
      subject,
      value: Math.round(rate),
      unit: "rows/s",
      runs: sinkRates.map(Math.round),
      ...memoryFields(medianPeak(sinkMem)),
      reference: {
        subject: "psql \\copy of the same rows into the same table and indexes (median)",
        value: Math.round(ceiling),
        memory: medianPeak(copyMem),
      },
      sent: total,
      stored: total,
      note: `sink ÷ \\copy per round (same server, alternating order): ${ratios.join(", ")} ` +
        `(goal ≥ 0.7× and ≥ 50k rows/s); \\copy ${
          copyRates.map((r) => Math.round(r)).join("/")
        } rows/s; ${total.toLocaleString("en-US")} alerts, Postgres 15 with fsync=off on the ` +
        `same 2 cores; rendering the rows alone (values + COPY data) ran at ${
          Math.round(total / renderS)
        } rows/s; load average ${loads.map((l) => l.toFixed(1)).join("/")} after each round`,
    }];
    rows.push(
      await syslogNgSqlRow("pgsql", {
        scenario: "postgres",
        port: pg.port,
        table: "alerts_syslogng",
        create: () => pg.sql("CREATE TABLE alerts_syslogng (LIKE alerts INCLUDING ALL)"),
        count: () => count("alerts_syslogng"),
        lines: () => jsonLines(all, names),
        names,
        total,
        sink: rate,
        dir,
      }),
    );
    return rows;
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
