/**
 * The dashboard inside the central: the memory it adds and its page
 * latencies over HTTP. The central example (`runner/main.ts` with the V8
 * flags `deno task start` ships) runs over a seeded SIEM database (1M
 * alerts, 1M auth events, 50 hosts; `--quick`: 50k each), first with
 * `--ui off`, then with the dashboard on: idle, then after a login, 20
 * loads of each page and 5 s of live tail by one HTTP client. Memory is
 * read from /proc: private memory (`RssAnon + RssShmem`, what the budget of
 * issue 21 is set on: ≤ 15 MB more than `--ui off`) beside RSS. Page
 * latencies are wall-clock times of whole HTTP requests from this process
 * on a shared machine, so they include waiting for a core: noisy, read the
 * p50 beside the p95. Runnable alone:
 *
 * ```sh
 * deno run -A bench/dashboard.ts [--quick] [--db PATH] [--runs N] [--smaps]
 * ```
 *
 * With `--db` it copies an existing seeded file instead of seeding one.
 *
 * @module
 */

import {
  centralArgs,
  LoggedProcess,
  type MeasuredRow,
  type MeasuredScenario,
  type MemoryMb,
  memoryMb,
  sampleMemory,
  sleep,
  sluiceRunArgs,
  spread,
} from "./lib.ts";
import { DatabaseSync } from "node:sqlite";
import { medianPeak, memoryFields, type MemoryPeak, sampleTree } from "./_memory.ts";
import { runWithDeadline } from "../tests/_peers.ts";
import { type Mappings, smapsByMapping, smapsDiff, trimByDebugger } from "./_dashboard_smaps.ts";
import { openSqliteStore } from "../store/sqlite.ts";
import { hashPassword } from "../ui/password.ts";
import { STORE_IDLE_MS } from "../ui/server.ts";
import { DashboardClient, overviewWeight, waitQuiet } from "./_dashboard_client.ts";

const _USER = "bench";
const _PASSWORD = "bench-password-1";
const _LOADS = 20;
const _TAIL_MS = 5_000;
const _IDLE_MS = 3_000;
/** After use: longer than the dashboard's idle collection waits (3 s quiet). */
const _AFTER_MS = 5_000;

/** The pages one client polls, as the issue names them. */
export const PAGES: readonly string[] = [
  "/",
  "/?range=7d",
  "/alerts",
  "/alerts?severity=critical",
  "/alerts?host=vm-07",
  "/alerts?text=mimikatz",
  "/alerts/1",
  "/hosts",
  "/hosts/vm-07",
  "/auth",
  "/firewall",
  "/tail",
];

function _pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
}

/** What one run of the central measured. */
interface _Run {
  idle: MemoryMb;
  /** Peak RSS, private memory and PSS of the central's process tree from its start-up line on. */
  tree: MemoryPeak;
  after?: MemoryMb;
  /** A minute's quiet after use: the dashboard has closed its store (ui/server.ts). */
  closed?: MemoryMb;
  peak?: MemoryMb;
  pages?: Map<string, { t: number[]; bytes: number }>;
  tailEvents?: number;
  /** The overview's HTML and each script and style sheet it links, in bytes. */
  weight?: Map<string, number>;
  /** With `--smaps`: resident and anonymous kB per mapping when `idle` (off) or `after` (on) was read. */
  smaps?: Mappings;
  /** With `--smaps`, the dashboard on: the same when `closed` was read. */
  smapsClosed?: Mappings;
  /** With `--smaps`, `--ui off` only: memory and mappings after `malloc_trim(0)` made through gdb. */
  trimmed?: { memory: MemoryMb; smaps: Mappings };
}

async function _central(
  dir: string,
  database: string,
  ui: boolean,
  run: number,
  smaps = false,
): Promise<_Run> {
  const data = `${dir}/run-${ui ? "ui" : "off"}-${run}`;
  await Deno.mkdir(data, { recursive: true });
  await Deno.copyFile(database, `${data}/siem.db`);
  const p = new LoggedProcess(Deno.execPath(), [
    ...sluiceRunArgs(
      `${data}/state`,
      new URL("../examples/pipeline.central.ts", import.meta.url)
        .pathname,
    ),
    ...centralArgs(data),
    "--ui",
    ui ? "127.0.0.1:0" : "off",
  ]);
  try {
    await p.waitFor(/sluice central listening/, 120_000);
    const tree = sampleTree(p.pid, { intervalMs: 50 });
    const url = ui ? (await p.waitFor(/dashboard\s+(http:\/\/\S+)/, 30_000))[1] as string : "";
    await waitQuiet(p.pid);
    await sleep(_IDLE_MS);
    const idle = memoryMb(p.pid);
    if (!ui) {
      if (!smaps) return { idle, tree: tree.stop() };
      const before = smapsByMapping(p.pid);
      const trimmed = (await trimByDebugger(p.pid))
        ? { memory: memoryMb(p.pid), smaps: smapsByMapping(p.pid) }
        : undefined;
      return { idle, tree: tree.stop(), smaps: before, ...(trimmed ? { trimmed } : {}) };
    }
    const sampler = sampleMemory(p.pid, 20);
    const client = new DashboardClient(url, _USER, _PASSWORD);
    await client.login();
    const pages = new Map<string, { t: number[]; bytes: number }>();
    for (const path of PAGES) {
      const t: number[] = [];
      let bytes = 0;
      for (let i = 0; i <= _LOADS; i++) {
        const t0 = performance.now();
        const res = await client.fetch(path);
        const body = await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`dashboard: ${path} answered ${res.status}`);
        if (i > 0) t.push(performance.now() - t0);
        bytes = body.byteLength;
      }
      pages.set(path, { t: t.sort((a, b) => a - b), bytes });
    }
    const weight = await overviewWeight(client);
    // One live tail for 5 s, read as a browser's EventSource would.
    const stream = await client.fetch("/tail/stream");
    let tailEvents = 0;
    const reader = stream.body?.getReader();
    const decoder = new TextDecoder();
    const end = Date.now() + _TAIL_MS;
    while (reader && Date.now() < end) {
      const r = await Promise.race([
        reader.read(),
        sleep(Math.max(0, end - Date.now())).then(() => undefined),
      ]);
      if (!r || r.done) break;
      tailEvents += decoder.decode(r.value).split("\n\n").length - 1;
    }
    await reader?.cancel().catch(() => {});
    await sleep(_AFTER_MS);
    const peak = sampler.stop();
    const after = memoryMb(p.pid);
    const atAfter = smaps ? { smaps: smapsByMapping(p.pid) } : {};
    // The dashboard closes its store a minute after the last request (ui/server.ts).
    await sleep(STORE_IDLE_MS + 5_000 - _AFTER_MS);
    const closed = memoryMb(p.pid);
    return {
      idle,
      tree: tree.stop(),
      after,
      closed,
      peak,
      pages,
      tailEvents,
      weight,
      ...atAfter,
      ...(smaps ? { smapsClosed: smapsByMapping(p.pid) } : {}),
    };
  } finally {
    await p.stop();
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
}

async function _seed(database: string, n: number): Promise<void> {
  const seeded = await runWithDeadline(
    Deno.execPath(),
    [
      "run",
      "-A",
      new URL("./seed_siem.ts", import.meta.url).pathname,
      "--out",
      database,
      "--alerts",
      String(n),
      "--auth",
      String(n),
      "--hosts",
      "50",
    ],
    { timeoutMs: 900_000, what: "bench/seed_siem.ts" },
  );
  if (seeded.code !== 0) {
    throw new Error(
      `dashboard: seeding failed (exit ${seeded.code}): ${seeded.stderr.slice(-2000)}`,
    );
  }
}

/**
 * Measures the central with and without the dashboard.
 *
 * @example
 * ```ts ignore
 * const rows = await dashboardRows(true, await Deno.makeTempDir());
 * ```
 *
 * @param quick 50k rows (when seeding) and one run of each, else 1M rows and two.
 * @param dir Scratch directory.
 * @param given A seeded database to copy instead of seeding one.
 * @param runs Runs of each mode, default 1 with `quick`, else 2.
 * @param smaps Print to stderr, per pair, where the dashboard's memory is by mapping (/proc/PID/smaps).
 * @returns Memory rows, then one row per page (p95 ms).
 */
export async function dashboardRows(
  quick: boolean,
  dir: string,
  given?: string,
  runs: number = quick ? 1 : 2,
  smaps = false,
): Promise<MeasuredRow[]> {
  const database = `${dir}/dashboard-seed.db`;
  let n = quick ? 50_000 : 1_000_000;
  if (given) {
    // What is still in the write-ahead log goes into the file first, so the copy holds it.
    const g = new DatabaseSync(given);
    g.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    n = Number((g.prepare("SELECT count(*) AS n FROM alerts").get() as { n: number }).n);
    g.close();
    await Deno.copyFile(given, database);
  } else {
    await _seed(database, n);
    console.error(`dashboard: seeded ${database}`);
  }
  // The admin exists already, so neither mode hashes a new password at start.
  const store = await openSqliteStore({ database });
  try {
    if (!(await store.ui.getUser(_USER))) {
      await store.ui.addUser({
        name: _USER,
        role: "admin",
        passwordHash: await hashPassword(_PASSWORD),
      });
    }
  } finally {
    await store.close();
  }
  // Into the main file, so a copy of it alone holds the user.
  const db = new DatabaseSync(database);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const off: _Run[] = [];
  const on: _Run[] = [];
  for (let r = 0; r < runs; r++) {
    off.push(await _central(dir, database, false, r, smaps));
    const o = off.at(-1) as _Run;
    console.error(
      `dashboard: --ui off: private ${o.idle.private.toFixed(1)} MB, RSS ${
        o.idle.rss.toFixed(1)
      } MB`,
    );
    on.push(await _central(dir, database, true, r, smaps));
    const u = on.at(-1) as _Run;
    console.error(
      `dashboard: --ui on: private idle ${u.idle.private.toFixed(1)} MB, after ${
        u.after?.private.toFixed(1)
      } MB (+${((u.after?.private ?? 0) - o.idle.private).toFixed(1)}), RSS after ${
        u.after?.rss.toFixed(1)
      } MB (+${((u.after?.rss ?? 0) - o.idle.rss).toFixed(1)})`,
    );
    if (o.smaps && u.smaps) console.error(smapsDiff(o.smaps, u.smaps));
    console.error(
      `dashboard: a minute later (store closed): private +${
        ((u.closed?.private ?? 0) - o.idle.private).toFixed(1)
      }, RSS +${((u.closed?.rss ?? 0) - o.idle.rss).toFixed(1)}`,
    );
    if (o.smaps && u.smapsClosed) console.error(smapsDiff(o.smaps, u.smapsClosed));
    if (o.trimmed && u.smaps && u.after) {
      const t = o.trimmed.memory;
      console.error(
        `dashboard: against --ui off after malloc_trim (gdb; it had private ${
          t.private.toFixed(1)
        } MB, RSS ${t.rss.toFixed(1)} MB): private +${
          (u.after.private - t.private).toFixed(1)
        }, RSS +${(u.after.rss - t.rss).toFixed(1)}`,
      );
      console.error(smapsDiff(o.trimmed.smaps, u.smaps));
    }
  }
  const med = (xs: number[]) => spread(xs).median;
  // What the dashboard adds over --ui off: the medians' difference, and each round's pair.
  const addedOver = (xs: number[], ref: number[]) => ({
    value: Number((med(xs) - med(ref)).toFixed(1)),
    runs: xs.map((a, i) => Number((a - (ref[i] ?? 0)).toFixed(1))),
  });
  const offPrivate = off.map((r) => r.idle.private);
  const offRss = off.map((r) => r.idle.rss);
  const what = `central example over ${n.toLocaleString("en-US")} alerts + auth events`;
  // Every row carries the three memory columns of the central it measured: peaks over the run.
  const offTree = memoryFields(medianPeak(off.map((r) => r.tree)));
  const onTree = memoryFields(medianPeak(on.map((r) => r.tree)));
  const rows: MeasuredRow[] = [{
    scenario: "dashboard",
    subject: "central, --ui off, idle: private memory",
    value: Number(med(offPrivate).toFixed(1)),
    unit: "MB",
    runs: offPrivate,
    idleRssMb: med(offRss),
    ...offTree,
    note: `${what}, ${_IDLE_MS / 1000} s after its start-up CPU went quiet`,
  }];
  const onIdle = on.map((r) => r.idle.private);
  rows.push({
    scenario: "dashboard",
    subject: "central, dashboard on, idle: private memory",
    value: Number(med(onIdle).toFixed(1)),
    unit: "MB",
    runs: onIdle,
    reference: { subject: "--ui off", value: med(offPrivate) },
    idleRssMb: med(on.map((r) => r.idle.rss)),
    ...onTree,
    note: `+${(med(onIdle) - med(offPrivate)).toFixed(1)} MB private, +${
      (med(on.map((r) => r.idle.rss)) - med(offRss)).toFixed(1)
    } MB RSS over --ui off`,
  });
  const after = on.map((r) => r.after?.private ?? 0);
  const afterRss = on.map((r) => r.after?.rss ?? 0);
  const peak = on.map((r) => r.peak?.peakPrivate ?? 0);
  rows.push({
    scenario: "dashboard",
    subject: "central, dashboard on, after use: private memory",
    value: Number(med(after).toFixed(1)),
    unit: "MB",
    runs: after,
    reference: { subject: "--ui off", value: med(offPrivate) },
    idleRssMb: med(on.map((r) => r.idle.rss)),
    fileRssMb: med(on.map((r) => r.after?.file ?? 0)),
    ...onTree,
    note: `a login, ${_LOADS} loads of each of ${PAGES.length} pages, ${
      _TAIL_MS / 1000
    } s of live tail, ${_AFTER_MS / 1000} s quiet`,
  });
  const added = addedOver(after, offPrivate);
  rows.push({
    scenario: "dashboard",
    subject: "memory the dashboard adds, after use: private",
    ...added,
    unit: "MB",
    ...onTree,
    note: `goal ≤ 15 MB${added.value > 15 ? " MISSED" : ""}; peak +${
      (med(peak) - med(offPrivate)).toFixed(1)
    } MB private while pages load`,
  });
  const addedRss = addedOver(afterRss, offRss);
  rows.push({
    scenario: "dashboard",
    subject: "memory the dashboard adds, after use: RSS",
    ...addedRss,
    unit: "MB",
    ...onTree,
    note: `goal ≤ 15 MB${addedRss.value > 15 ? " MISSED" : ""}; of it file-backed +${
      (med(on.map((r) => r.after?.file ?? 0)) - med(off.map((r) => r.idle.file))).toFixed(1)
    } MB: pages of the binary and libraries the UI code touches (shared, clean)`,
  });
  const closed = on.map((r) => r.closed?.private ?? 0);
  const closedRss = on.map((r) => r.closed?.rss ?? 0);
  const closedAddedRss = addedOver(closedRss, offRss);
  rows.push({
    scenario: "dashboard",
    subject: "memory the dashboard adds, a minute after use (store closed): private / RSS",
    ...addedOver(closed, offPrivate),
    unit: "MB",
    ...onTree,
    note: `RSS +${closedAddedRss.value.toFixed(1)} MB (${
      closedAddedRss.runs.map((r) => r.toFixed(1)).join(", ")
    })`,
  });
  const weight = on.at(-1)?.weight ?? new Map<string, number>();
  const kb = [...weight.values()].reduce((a, b) => a + b, 0) / 1024;
  rows.push({
    scenario: "dashboard",
    subject: "overview page weight (HTML + scripts + styles)",
    value: Number(kb.toFixed(1)),
    unit: "KB",
    ...onTree,
    note: `goal ≤ 150 KB${kb > 150 ? " MISSED" : ""}, uncompressed: ${
      [...weight].map(([p, b]) => `${p} ${(b / 1024).toFixed(1)}`).join(", ")
    }`,
  });
  for (const path of PAGES) {
    const t = on.flatMap((r) => r.pages?.get(path)?.t ?? []).sort((a, b) => a - b);
    const bytes = on.at(-1)?.pages?.get(path)?.bytes ?? 0;
    const goal = path === "/" ? 100 : path.startsWith("/alerts?") ? 150 : undefined;
    const p95 = _pct(t, 0.95);
    rows.push({
      scenario: "dashboard",
      subject: `GET ${path}`,
      value: Number(p95.toFixed(1)),
      unit: "ms p95",
      ...onTree,
      note: `p50 ${_pct(t, 0.5).toFixed(1)} ms of ${t.length} loads over HTTP, ${
        (bytes / 1024).toFixed(1)
      } KB${goal ? `; goal ≤ ${goal} ms${p95 > goal ? " MISSED" : ""}` : ""}`,
    });
  }
  return rows;
}

/**
 * The scenario: seeds a database, runs the central without and with the dashboard.
 *
 * @param options `quick` for 50k rows and one run, `dir` for the files.
 * @returns Memory rows (private memory and RSS) and one latency row per page.
 *
 * @example
 * ```ts ignore
 * import { scenario } from "./dashboard.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => await dashboardRows(quick, dir);

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const i = Deno.args.indexOf("--db");
  const given = i >= 0 ? Deno.args[i + 1] : undefined;
  const r = Deno.args.indexOf("--runs");
  const runs = r >= 0 ? Number(Deno.args[r + 1]) : undefined;
  const dir = await Deno.makeTempDir({ prefix: "sluice-dashboard-" });
  try {
    const rows = await dashboardRows(quick, dir, given, runs, Deno.args.includes("--smaps"));
    const { renderMarkdown } = await import("./main.ts");
    console.log(renderMarkdown(rows));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
