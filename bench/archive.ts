/**
 * Archive scenario: alerts spread over 60 days are moved from SQLite into
 * Parquet by a child process (its peak RSS is the archiver's), then read
 * back with `query critical --since 45d --archive`'s reader. Sizes are
 * compared in the same run with the same rows as JSONL (each alert's line
 * as received) and in SQLite (the database file holding them, indexes
 * included).
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
import { memoryFields, runSampled, withMemory } from "./_memory.ts";

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

/** The scenario: sizes, archiving rate and peak RSS, archive query time. */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const alerts = quick ? 20_000 : Number(Deno.env.get("BENCH_ARCHIVE_ALERTS") ?? 1_000_000);
  const db = `${dir}/siem.db`;
  const now = Date.now();
  await seedSiem(db, { alerts, auth: 0, firewall: 0, system: 0, hosts: 50, days: 60, now });
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
  const rows = Number((c.prepare("SELECT count(*) AS n FROM alerts").get() as { n: number }).n);
  c.close();
  const sqliteBytes = (await Deno.stat(db)).size;
  const archives = `${dir}/archives`;
  const mover = new URL("../archive/mover.ts", import.meta.url).href;
  const script = `${dir}/archive_child.ts`;
  await Deno.writeTextFile(
    script,
    `import { archiveOnce } from "${mover}";
const t0 = performance.now();
const s = await archiveOnce({ database: ${JSON.stringify(db)}, dir: ${
      JSON.stringify(archives)
    }, retainDbMs: 1, tables: ["alerts"] });
const seconds = (performance.now() - t0) / 1000;
const status = Deno.readTextFileSync("/proc/self/status");
const kb = (k) => Number(new RegExp(k + ":\\\\s+(\\\\d+)").exec(status)?.[1] ?? 0);
console.log(JSON.stringify({ rows: s.rows, bytes: s.bytes, seconds, hwmKb: kb("VmHWM"), anonKb: kb("RssAnon") }));
`,
  );
  const out = await runSampled(Deno.execPath(), ["run", "-A", script], {
    what: "the archiver child",
    timeoutMs: quick ? 120_000 : 600_000,
  });
  if (out.code !== 0) throw new Error(`archiver exited ${out.code}: ${out.stderr.slice(-2000)}`);
  const r = JSON.parse(out.stdout.trim().split("\n").pop() as string) as {
    rows: number;
    bytes: number;
    seconds: number;
    hwmKb: number;
    anonKb: number;
  };
  const parquetBytes = await _dirBytes(`${archives}/alerts`);
  const times: number[] = [];
  const { memory: queryMemory } = await withMemory(async () => {
    for (let i = 0; i < (quick ? 1 : 5); i++) {
      const t0 = performance.now();
      await archivedAlerts(archives, { since: now - 45 * DAY, severities: ["critical"] }, 1000);
      times.push((performance.now() - t0) / 1000);
    }
  });
  times.sort((a, b) => a - b);
  const mb = (b: number) => b / 1e6;
  const out2: MeasuredRow[] = [
    {
      scenario: "archive",
      subject: `${rows.toLocaleString("en-US")} alerts as Parquet`,
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
      note: `${r.rows.toLocaleString("en-US")} rows in ${
        r.seconds.toFixed(1)
      } s (goal: 1M in ≤ 20 s); archiver peak RSS ${
        (r.hwmKb / 1024).toFixed(0)
      } MB, private at the end ${(r.anonKb / 1024).toFixed(0)} MB`,
      ...memoryFields({ ...out.memory, rssMb: Math.max(out.memory.rssMb, r.hwmKb / 1024) }),
    },
    {
      scenario: "archive",
      subject: "query critical --since 45d --archive (reader)",
      value: times[Math.floor(times.length / 2)] as number,
      unit: "s",
      ...memoryFields(queryMemory),
      note: `over ${
        r.rows.toLocaleString("en-US")
      } archived alerts, median of ${times.length} (goal ≤ 2 s); memory: the bench process`,
    },
  ];
  return out2;
};

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-archive-" });
  try {
    for (const row of await scenario({ quick, dir })) console.log(JSON.stringify(row));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
