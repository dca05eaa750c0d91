/**
 * Archive scenario: alerts spread over 60 days (all older than 30) are moved
 * from SQLite into Parquet by a child process (its peak RSS, private memory
 * and CPU are the archiver's), then read back with
 * `sluice query critical --since 45d --archive`, end to end, over the
 * archive doubled (each part copied once more: twice the rows to scan).
 * Sizes are compared in the same run with the same rows as JSONL (each
 * alert's line as received) and in SQLite (the database file holding them,
 * indexes included). Then the central's ingest rate with and without its
 * archive service moving the same rows (bench/_archive_ingest.ts), as fast as
 * it reads them, and the pass beside a central taking a fixed rate
 * (`BENCH_ARCHIVE_RATE` msg/s, 10,000 by default; 0 skips those runs).
 *
 * Full size: 1,000,000 alerts (`BENCH_ARCHIVE_ALERTS`), 2 runs of each kind
 * (`BENCH_ARCHIVE_INGEST_RUNS`, 0 to skip); `--quick`: 20,000, 1 run.
 *
 * ```sh
 * deno run -A bench/archive.ts [--quick]
 * ```
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "./seed_siem.ts";
import { archivedAlerts } from "../archive/read.ts";
import { jsonLine } from "../sinks/jsonl.ts";
import { createEvent } from "../core/event.ts";
import type { MeasuredRow, MeasuredScenario } from "./lib.ts";
import { maxOf, memoryFields, runSampled, withMemory } from "./_memory.ts";
import { ingestDuringArchive, type IngestRun } from "./_archive_ingest.ts";
import { workload } from "./workload.ts";
import { spread } from "./lib.ts";

const DAY = 86_400_000;

async function _dirBytes(path: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) n += await _dirBytes(p);
    else if (e.isFile) n += (await Deno.stat(p)).size;
  }
  return n;
}

/** Sizes, the archiver child, the query: the rows before the ingest runs. */
async function _archiveRows(
  quick: boolean,
  dir: string,
  template: string,
  now: number,
): Promise<MeasuredRow[]> {
  const db = `${dir}/siem.db`;
  await Deno.copyFile(template, db);
  const c = new DatabaseSync(db);
  c.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  c.exec("VACUUM");
  const rawBytes = Number(
    (c.prepare("SELECT sum(length(CAST(raw AS BLOB)) + 1) AS n FROM alerts").get() as { n: number })
      .n,
  );
  // The central's all_events.jsonl line of each alert: the event as jsonLine writes it.
  let jsonlBytes = 0;
  const enc = new TextEncoder();
  for (
    const r of c.prepare("SELECT timestamp, host, raw FROM alerts").iterate() as Iterable<
      { timestamp: string; host: string; raw: string }
    >
  ) {
    let json: unknown;
    try {
      json = JSON.parse(r.raw);
    } catch {
      json = undefined;
    }
    const e = createEvent(r.raw, {
      host: r.host,
      timestamp: Date.parse(r.timestamp),
      fields: { json, category: "alerts" },
    });
    jsonlBytes += enc.encode(jsonLine(e)).length + 1;
  }
  const alertsIn = Number((c.prepare("SELECT count(*) AS n FROM alerts").get() as { n: number }).n);
  c.close();
  const sqliteBytes = (await Deno.stat(db)).size;
  const archives = `${dir}/archives`;
  const mover = new URL("../archive/mover.ts", import.meta.url).href;
  const script = `${dir}/archive_child.ts`;
  await Deno.writeTextFile(
    script,
    `import { archiveOnce } from "${mover}";
import process from "node:process";
const t0 = performance.now();
const s = await archiveOnce({ database: ${JSON.stringify(db)}, dir: ${
      JSON.stringify(archives)
    }, retainDbMs: ${30 * DAY}, tables: ["alerts"] });
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage();
const status = Deno.readTextFileSync("/proc/self/status");
const kb = (k) => Number(new RegExp(k + ":\\\\s+(\\\\d+)").exec(status)?.[1] ?? 0);
console.log(JSON.stringify({ phases: s.phases, rows: s.rows, bytes: s.bytes, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, hwmKb: kb("VmHWM"), anonKb: kb("RssAnon") }));
`,
  );
  const out = await runSampled(Deno.execPath(), ["run", "-A", script], {
    what: "the archiver child",
    timeoutMs: quick ? 120_000 : 600_000,
  });
  if (out.code !== 0) throw new Error(`archiver exited ${out.code}: ${out.stderr.slice(-2000)}`);
  const r = JSON.parse(out.stdout.trim().split("\n").pop() as string) as {
    phases: Record<string, number>;
    rows: number;
    bytes: number;
    seconds: number;
    cpuSeconds: number;
    hwmKb: number;
    anonKb: number;
  };
  const parquetBytes = await _dirBytes(`${archives}/alerts`);
  // Twice the rows to scan: each part once more as part-1 (same rows again).
  for await (const d of Deno.readDir(`${archives}/alerts`)) {
    const day = `${archives}/alerts/${d.name}`;
    await Deno.copyFile(`${day}/part-0.parquet`, `${day}/part-1.parquet`);
  }
  const scanned = 2 * r.rows;
  const main = new URL("../runner/main.ts", import.meta.url).pathname;
  const cli: number[] = [];
  const reader: number[] = [];
  let cliMemory = { rssMb: 0, privateMb: 0, pssMb: 0 };
  for (let i = 0; i < (quick ? 1 : 5); i++) {
    const t0 = performance.now();
    const q = await runSampled(Deno.execPath(), [
      "run",
      "-A",
      main,
      "query",
      "critical",
      "--since",
      "45d",
      "--archive",
      "--db",
      db,
      "--limit",
      "1000",
    ], { what: "sluice query critical --archive", timeoutMs: 120_000 });
    cli.push((performance.now() - t0) / 1000);
    if (q.code !== 0) throw new Error(`query exited ${q.code}: ${q.stderr.slice(-2000)}`);
    if (q.memory.rssMb > cliMemory.rssMb) cliMemory = q.memory;
  }
  const { memory: readerMemory } = await withMemory(async () => {
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      const t0 = performance.now();
      await archivedAlerts(archives, { since: now - 45 * DAY, severities: ["critical"] }, 1000);
      reader.push((performance.now() - t0) / 1000);
    }
  });
  const mb = (b: number) => b / 1e6;
  const q = spread(cli);
  const qr = spread(reader);
  return [
    {
      scenario: "archive",
      subject: `${alertsIn.toLocaleString("en-US")} alerts as Parquet`,
      value: mb(parquetBytes),
      unit: "MB",
      ...memoryFields(out.memory),
      reference: { subject: "the same alerts in all_events.jsonl", value: mb(jsonlBytes) },
      note: `memory: the archiver that wrote it; ${
        (jsonlBytes / parquetBytes).toFixed(1)
      }x smaller than the JSONL (goal 5x; ${
        (rawBytes / parquetBytes).toFixed(1)
      }x the raw lines alone), ${(sqliteBytes / parquetBytes).toFixed(1)}x smaller than SQLite (${
        mb(sqliteBytes).toFixed(1)
      } MB with its indexes; goal 3x)`,
    },
    {
      scenario: "archive",
      subject: "archiving (SQLite → Parquet, verified, deleted)",
      value: r.rows / r.seconds,
      unit: "rows/s",
      note: `${r.rows.toLocaleString("en-US")} rows over 60 days in ${
        r.seconds.toFixed(1)
      } s (goal: 1M in ≤ 20 s on 2 cores), ${r.cpuSeconds.toFixed(1)} CPU s (${
        (r.cpuSeconds / r.rows * 1e6).toFixed(1)
      } per 1M rows); archiver peak RSS ${(r.hwmKb / 1024).toFixed(0)} MB, private at the end ${
        (r.anonKb / 1024).toFixed(0)
      } MB; wall s by phase (the deletes and commits on their own thread, beside the rest): ${
        Object.entries(r.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`).join(", ")
      }; load ${Deno.loadavg()[0]?.toFixed(1)}`,
      ...memoryFields({ ...out.memory, rssMb: Math.max(out.memory.rssMb, r.hwmKb / 1024) }),
    },
    {
      scenario: "archive",
      subject: "sluice query critical --since 45d --archive",
      value: q.median,
      unit: "s",
      ...memoryFields(cliMemory),
      note: `the command end to end (a new process) over ${
        scanned.toLocaleString("en-US")
      } archived alerts (each part twice), median of ${cli.length} (${q.min.toFixed(2)}–${
        q.max.toFixed(2)
      }; goal ≤ 2 s); its reader alone in this process ${qr.median.toFixed(2)} s (${
        qr.min.toFixed(2)
      }–${qr.max.toFixed(2)}, peak RSS ${readerMemory.rssMb.toFixed(0)} MB); memory: the command`,
    },
  ];
}

/** The scenario: sizes, archiving rate and peak RSS, archive query time. */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const alerts = quick ? 20_000 : Number(Deno.env.get("BENCH_ARCHIVE_ALERTS") ?? 1_000_000);
  const template = `${dir}/template.db`;
  const now = Date.now();
  // 60 days ending 31 days ago: every row is past --retain-db 30d.
  await seedSiem(template, {
    alerts,
    auth: 0,
    firewall: 0,
    system: 0,
    hosts: 50,
    days: 60,
    now: now - 31 * DAY,
  });
  {
    const t = new DatabaseSync(template);
    t.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    t.close();
  }
  // BENCH_ARCHIVE_INGEST_ONLY=1: the ingest runs alone (to compare settings of the service).
  const rows = Deno.env.get("BENCH_ARCHIVE_INGEST_ONLY") === "1"
    ? []
    : await _archiveRows(quick, dir, template, now);
  const ingestRuns = Number(Deno.env.get("BENCH_ARCHIVE_INGEST_RUNS") ?? (quick ? 1 : 2));
  if (ingestRuns > 0) {
    const w = await workload(quick ? 100_000 : 1_000_000);
    const runs = await ingestDuringArchive({
      template,
      oldAlerts: alerts,
      payload: await Deno.readFile(w.path),
      dir,
      runs: ingestRuns,
      timeoutMs: quick ? 180_000 : 900_000,
      offered: Number(Deno.env.get("BENCH_ARCHIVE_RATE") ?? 10_000),
    });
    const during = runs.filter((x) => x.archiving && !x.offered);
    const plain = runs.filter((x) => !x.archiving);
    const fixed = runs.filter((x) => x.offered);
    const ratios = during.map((x, i) => x.rate / (plain[i]?.rate ?? NaN));
    const ratio = spread(ratios);
    rows.push({
      scenario: "archive",
      subject: "central ingest while its archive service runs a pass",
      value: spread(during.map((x) => x.rate)).median,
      unit: "msg/s",
      ...memoryFields(maxOf(during.map((x) => x.memory))),
      reference: {
        subject: "the central without the pass, same span",
        value: spread(plain.map((x) => x.rate)).median,
      },
      note: `${(ratio.median * 100).toFixed(0)}% of its rate (goal ≥ 80%; per pair ${
        ratios.map((x) => `${(x * 100).toFixed(0)}%`).join(", ")
      }); memory: the central with the pass; the stress case: examples/pipeline.central.ts --retain-db 30d over TCP as fast as it reads (the service rests as long as it moves while a thread of the central is ≥ 70 % busy, on a thread at nice 19, its deletes and commits on a second thread at nice 19), the pass moving ${
        fmt(alerts)
      } alerts took ${during.map((x) => x.seconds.toFixed(1)).join(", ")} s (first to last part; ${
        during.map(_passText).join("; ")
      }), SQLite's write lock held by its DELETEs and COMMITs ${
        during.map((x) =>
          x.phases
            ? `${((x.phases.delete ?? 0) + (x.phases.commit ?? 0)).toFixed(1)} s (${
              (((x.phases.delete ?? 0) + (x.phases.commit ?? 0)) / x.seconds * 100).toFixed(0)
            } %)`
            : "?"
        ).join(", ")
      } of it, encoding ${
        during.map((x) => x.phases ? `${(x.phases.encode ?? 0).toFixed(1)} s` : "?").join(", ")
      }; rates ${
        runs.map((x) => `${x.archiving ? "with" : "without"} ${fmt(x.rate)}`).join(", ")
      }; load ${Deno.loadavg()[0]?.toFixed(1)}`,
    });
    rows.push(...fixed.flatMap((x, i) => _fixedRows(x, plain[i]?.rate)));
  }
  return rows;
};

/** The two rows of a run at a fixed rate: the pass's time, the delivered rate. */
function _fixedRows(x: IngestRun, flat: number | undefined): MeasuredRow[] {
  const round = `round ${x.round + 1}`;
  return [
    {
      scenario: "archive",
      subject: `archive pass beside a central taking ${fmt(x.offered ?? 0)} msg/s (${round})`,
      value: x.passSeconds ?? NaN,
      unit: "s",
      ...memoryFields(x.memory),
      note: `goal ≤ 20 s; ${_passText(x)}; the offered rate is ${
        flat
          ? `${(x.offered! / flat * 100).toFixed(0)} % of the central's flat-out rate this round (${
            fmt(flat)
          } msg/s)`
          : "?"
      }; memory: the central with the pass; load ${x.loadavg.toFixed(1)}`,
    },
    {
      scenario: "archive",
      subject: `central delivered rate during that pass (${round})`,
      value: x.rate,
      unit: "msg/s",
      ...memoryFields(x.memory),
      reference: { subject: "the offered rate", value: x.offered ?? NaN },
      note: `${
        (x.rate / (x.offered ?? NaN) * 100).toFixed(0)
      } % of the offered rate over the pass (its wall time on the central; goal ≥ 80 %); stored/sent once the sending stopped: ${
        fmt(x.stored ?? 0)
      }/${fmt(x.sent)} (${
        x.stored === x.sent
          ? "none lost"
          : (x.stored ?? 0) < x.sent
          ? `${fmt(x.sent - (x.stored ?? 0))} missing`
          : `${fmt((x.stored ?? 0) - x.sent)} more than sent`
      }); load ${x.loadavg.toFixed(1)}`,
    },
  ];
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The pass's own figures from the central's log lines. */
function _passText(x: IngestRun): string {
  const r = x.rests;
  return `pass ${x.passSeconds?.toFixed(1) ?? "?"} s on the central, rested after ${
    r ? `${r.rested} of ${r.parts} parts (${r.seconds.toFixed(1)} s)` : "?"
  }; the central's load: ${x.load ?? "?"}`;
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-archive-" });
  try {
    for (const row of await scenario({ quick, dir })) console.log(JSON.stringify(row));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
