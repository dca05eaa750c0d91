/**
 * The read side under the dashboard's load: p50/p95 of 20 runs of each
 * store query on a seeded SIEM database (1M alerts, 1M auth events, 50
 * hosts; `--quick`: 100k each), and the process's RSS. Runnable alone:
 *
 * ```sh
 * deno run -A bench/dashboard_store.ts [--quick] [--db PATH]
 * ```
 *
 * With `--db` it reads an existing seeded file instead of seeding one.
 * Beside wall-clock p50/p95 each row gives the CPU time of the median run:
 * on a shared machine wall time includes waiting for a core, CPU time
 * does not.
 * Goals (issue 21): overview ≤ 100 ms, an alerts page with any one filter
 * ≤ 150 ms, p95. The alerts' text index (store/_sqlite_text_index.ts) is
 * built first, in a child (its time and size are rows of their own), and
 * the text rows are measured again with it off, in the same run, as the
 * reference: what a scan of every row costs. A text the index cannot serve
 * (2 characters) is a bounded scan: the first page's row says how many rows
 * it examined in its budget, beside the unbounded scan as reference. In `deno task bench` the scenario then runs
 * `bench/dashboard.ts` over the same database: the central with `--ui off`
 * and with the dashboard, its private memory and RSS, and each page's
 * latency over HTTP.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { DatabaseSync } from "node:sqlite";
import { _unb64 } from "../store/cursor.ts";
import type { MeasuredRow, MeasuredScenario } from "./lib.ts";
import { memoryFields, sampleTree } from "./_memory.ts";
import { runWithDeadline } from "../tests/_peers.ts";
import { openSqliteStore } from "../store/sqlite.ts";
import { _textIndexPath } from "../store/_sqlite_text_limits.ts";
import type { SiemStore } from "../store/types.ts";
import { dashboardRows } from "./dashboard.ts";
import { seedSiem } from "./_dashboard_run.ts";

const _RUNS = 20;
const _DEADLINE_MS = 10_000;

function _pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
}

function _rssMb(): number {
  return Deno.memoryUsage().rss / 1e6;
}

/** Runs `f` 20 times (after one warm-up) and returns the timings, sorted; stops early past the deadline. */
async function _time(
  f: () => Promise<unknown>,
): Promise<{ t: number[]; cpu: number[]; late: boolean }> {
  const out: number[] = [];
  const cpu: number[] = [];
  const started = performance.now();
  await f();
  const done = (late: boolean) => ({
    t: out.sort((a, b) => a - b),
    cpu: cpu.sort((a, b) => a - b),
    late,
  });
  for (let i = 0; i < _RUNS; i++) {
    const c = cpuUsage();
    const t = performance.now();
    await f();
    out.push(performance.now() - t);
    const d = cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
    if (performance.now() - started > _DEADLINE_MS) return done(true);
  }
  return done(false);
}

/** The queries the dashboard makes, by name, with their goal in ms (p95). */
function _queries(
  store: SiemStore,
  uncached: SiemStore,
  scan: SiemStore,
  now: number,
): Array<[string, number | undefined, () => Promise<unknown>]> {
  const day = now - 86_400_000;
  const week = now - 7 * 86_400_000;
  return [
    ["overview 24h", 100, () => store.overview({ since: day, now })],
    ["series 24h hourly", 100, () => store.series({ since: day })],
    ["series 7d hourly", undefined, () => store.series({ since: week })],
    ["overview 24h, no cache", undefined, () => uncached.overview({ since: day, now })],
    ["series 24h hourly, no cache", undefined, () => uncached.series({ since: day })],
    ["series 7d hourly, no cache", undefined, () => uncached.series({ since: week })],
    [
      "overview page: overview + series 24h",
      100,
      () => Promise.all([store.overview({ since: day, now }), store.series({ since: day })]),
    ],
    ["alerts page, no filter", 150, () => store.alerts({ limit: 50 })],
    ["alerts page, host", 150, () => store.alerts({ host: "vm-07", limit: 50 })],
    ["alerts page, rare host", 150, () => store.alerts({ host: "vm-50", limit: 50 })],
    ["alerts page, rule", 150, () => store.alerts({ rule: "Rule_20", limit: 50 })],
    [
      "alerts page, severity critical",
      150,
      () => store.alerts({ severities: ["critical"], limit: 50 }),
    ],
    ["alerts page, source", 150, () => store.alerts({ source: "clamav", limit: 50 })],
    ["alerts page, last 24h", 150, () => store.alerts({ since: day, limit: 50 })],
    ["alerts page, text (common)", 150, () => store.alerts({ text: "webshell", limit: 50 })],
    ["alerts page, text (absent)", 150, () => store.alerts({ text: "no-such-thing", limit: 50 })],
    [
      "alerts page, text (absent) 24h",
      150,
      () => store.alerts({ text: "no-such-thing", since: day, limit: 50 }),
    ],
    [
      "alerts page, text (absent), no text index (reference)",
      undefined,
      () => scan.alerts({ text: "no-such-thing", limit: 50 }),
    ],
    [
      "alerts page, text (common), no text index (reference)",
      undefined,
      () => scan.alerts({ text: "webshell", limit: 50 }),
    ],
    ["alerts page, text (rare)", 150, () => store.alerts({ text: "Rule_39", limit: 50 })],
    [
      "alerts page, text (a hash's 8 digits)",
      150,
      () => store.alerts({ text: "deadbeef", limit: 50 }),
    ],
    [
      "alerts page, text 2 chars (absent)",
      150,
      () => store.alerts({ text: "zq", limit: 50 }),
    ],
    [
      "alerts page, text 2 chars (absent), scan of every row (reference)",
      undefined,
      () => scan.alerts({ text: "zq", limit: 50 }),
    ],
    [
      "alerts page, status acknowledged",
      150,
      () => store.alerts({ status: "acknowledged", limit: 50 }),
    ],
    ["alerts page 5 (keyset), host", 150, async () => {
      let page = await store.alerts({ host: "vm-07", limit: 50 });
      for (let i = 0; i < 4 && page.next; i++) {
        page = await store.alerts({ host: "vm-07", limit: 50, cursor: page.next });
      }
    }],
    ["alert detail", undefined, () => store.alert(500_000)],
    ["hosts", undefined, () => store.hosts({ since: day, now })],
    ["host detail", undefined, () => store.host("vm-07", { since: day, now })],
    ["auth sources 24h", undefined, () => store.authSources({ since: day, limit: 20 })],
    ["auth users 24h", undefined, () => store.authUsers({ since: day, limit: 20 })],
    ["firewall sources 24h", undefined, () => store.firewallSources({ since: day, limit: 20 })],
    ["firewall ports 24h", undefined, () => store.firewallPorts({ since: day, limit: 20 })],
    ["rules 24h", undefined, () => store.rules({ since: day })],
  ];
}

/**
 * The scenario: seeds (or opens) a database, times every query.
 *
 * @param options `quick` for 100k rows, `dir` for the file.
 * @returns One row per query (p95 in ms; p50 in the note) and an RSS row.
 *
 * @example
 * ```ts ignore
 * import { scenario } from "./dashboard_store.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const rows = await _run(quick, `${dir}/siem.db`, true);
  // The same database under the central example: the memory the dashboard adds (private memory
  // and RSS beside --ui off) and its pages' latencies over HTTP (bench/dashboard.ts).
  return [...rows, ...await dashboardRows(quick, dir, `${dir}/siem.db`)];
};

/** Builds the text index of `database` in a child (this process's RSS stays the store's): two rows. */
async function _buildTextIndex(database: string, quick: boolean): Promise<MeasuredRow[]> {
  const mod = new URL("../store/_sqlite_text_build.ts", import.meta.url).href;
  const script = `import { _buildTextIndex } from ${JSON.stringify(mod)};
    console.log(JSON.stringify(_buildTextIndex(${JSON.stringify(database)})));`;
  // The tree's peak while it builds: the bench and the child.
  const sampler = sampleTree("self", { children: true, intervalMs: 100 });
  const built = await runWithDeadline(Deno.execPath(), ["eval", script], {
    timeoutMs: quick ? 120_000 : 900_000,
    what: "the text index build",
  });
  const memory = memoryFields(sampler.stop());
  if (built.code !== 0) {
    throw new Error(`dashboard_store: text index build failed: ${built.stderr.slice(-2000)}`);
  }
  const { done, ms } = JSON.parse(built.stdout.trim().split("\n").at(-1) as string);
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    bytes += await Deno.stat(`${_textIndexPath(database)}${suffix}`).then((s) => s.size, () => 0);
  }
  const db = (await Deno.stat(database)).size;
  console.error(`text index built in ${(ms / 1000).toFixed(1)} s, ${(bytes / 1e6).toFixed(1)} MB`);
  return [
    {
      scenario: "dashboard_store",
      subject: "text index: build from empty, in steps of 5,000 rows",
      value: Number((ms / 1000).toFixed(1)),
      unit: "s",
      ...memory,
      note: `${done ? "caught up" : "NOT caught up"}; a child process, the bench's only work then`,
    },
    {
      scenario: "dashboard_store",
      subject: "text index: size on disk (siem.db-textindex)",
      value: Number((bytes / 1e6).toFixed(1)),
      unit: "MB",
      ...memory,
      note: `${(100 * bytes / db).toFixed(0)}% of the database's ${(db / 1e6).toFixed(0)} MB`,
    },
  ];
}

/** How many rows the first page of the absent 2-character text examined before its budget ran out. */
async function _examined(store: SiemStore, database: string): Promise<string> {
  const page = await store.alerts({ text: "zq", limit: 50 });
  if (!page.partial || !page.next) return "; the first page searched every row";
  const [ts, seq] = _unb64(page.next) as [string, number];
  const db = new DatabaseSync(database, { readOnly: true });
  try {
    const { n, all } = db.prepare(
      `SELECT (SELECT count(*) FROM alerts WHERE (timestamp, rowid) >= (?, ?)) AS n,
              (SELECT count(*) FROM alerts) AS "all"`,
    ).get(ts, seq) as { n: number; all: number };
    return `; partial: the first page examined ${n} of ${all} rows (to ${page.partial.searchedTo})`;
  } finally {
    db.close();
  }
}

async function _run(quick: boolean, database: string, seed: boolean): Promise<MeasuredRow[]> {
  const now = Date.now();
  if (seed) {
    // Seeded by a child, so this process's RSS is the store's alone.
    await seedSiem(database, quick ? 100_000 : 1_000_000, {
      now,
      timeoutMs: quick ? 120_000 : 600_000,
    });
    console.error(`seeded ${database}`);
  }
  const rows: MeasuredRow[] = await _buildTextIndex(database, quick);
  const rssBefore = _rssMb();
  const store = await openSqliteStore({ database });
  const uncached = await openSqliteStore({ database, hourCacheMs: 0, textIndex: false });
  // The reference: no text index and the text scan unbounded, so a text reads every row (what a
  // text the index cannot serve cost before the scan was bounded, store/_sqlite_text_scan.ts).
  const scan = await openSqliteStore({ database, textIndex: false, textScan: { budgetMs: 1e9 } });
  // The bench process is the store here: its peaks over the whole run, and over each query.
  const whole = sampleTree("self", { children: false });
  try {
    // Something to filter by status.
    const some = await store.alerts({ limit: 20 });
    for (const a of some.rows) {
      await store.ui.triage({ alert: a.seq, status: "acknowledged", by: "bench" });
    }
    for (const [name, goal, f] of _queries(store, uncached, scan, now)) {
      const sampler = sampleTree("self", { children: false, intervalMs: 20 });
      const { t, cpu, late } = await _time(f);
      const memory = sampler.stop();
      const p95 = _pct(t, 0.95);
      rows.push({
        scenario: "dashboard_store",
        subject: name,
        value: Number(p95.toFixed(2)),
        unit: "ms p95",
        ...memoryFields(memory),
        note: `p50 ${_pct(t, 0.5).toFixed(2)} ms, CPU p50 ${_pct(cpu, 0.5).toFixed(2)} ms${
          goal ? `; goal ≤ ${goal} ms${p95 > goal ? " MISSED" : ""}` : ""
        }${
          late ? `; stopped after ${t.length} runs at the ${_DEADLINE_MS / 1000} s deadline` : ""
        }${name === "alerts page, text 2 chars (absent)" ? await _examined(store, database) : ""}`,
      });
      console.error(`${name}: p95 ${p95.toFixed(2)} ms`);
    }
  } finally {
    await store.close();
    await uncached.close();
    await scan.close();
  }
  rows.push({
    scenario: "dashboard_store",
    subject: "RSS after the queries",
    value: Number(_rssMb().toFixed(1)),
    unit: "MB",
    ...memoryFields(whole.stop()),
    note: `${rssBefore.toFixed(1)} MB before the store opened`,
  });
  return rows;
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const i = Deno.args.indexOf("--db");
  const given = i >= 0 ? Deno.args[i + 1] : undefined;
  const dir = given ? undefined : await Deno.makeTempDir({ prefix: "dashboard_store_" });
  try {
    const rows = await _run(quick, given ?? `${dir}/siem.db`, given === undefined);
    const w = Math.max(...rows.map((r) => r.subject.length));
    for (const r of rows) {
      console.log(
        `${r.subject.padEnd(w)}  ${String(r.value).padStart(9)} ${r.unit}  ${r.note ?? ""}`,
      );
    }
  } finally {
    if (dir) await Deno.remove(dir, { recursive: true });
  }
}
