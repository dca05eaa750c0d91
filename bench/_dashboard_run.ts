/**
 * One measured run of the central for bench/dashboard.ts: the pages polled,
 * a run with the dashboard on or off and what it read from /proc, and the
 * seeded database both copy.
 *
 * @module
 */

import {
  centralArgs,
  LoggedProcess,
  type MemoryMb,
  memoryMb,
  sampleMemory,
  sleep,
  sluiceRunArgs,
} from "./lib.ts";
import { type MemoryPeak, sampleTree } from "./_memory.ts";
import { runWithDeadline } from "../tests/_peers.ts";
import { type Mappings, smapsByMapping, trimByDebugger } from "./_dashboard_smaps.ts";
import { STORE_IDLE_MS } from "../ui/server.ts";
import { _textIndexPath } from "../store/_sqlite_text_limits.ts";
import { DashboardClient, overviewWeight, waitQuiet } from "./_dashboard_client.ts";

/**
 * The run's fixed figures: the dashboard user the bench seeds and logs in
 * as, loads per page, seconds of live tail, and the quiet waited before the
 * idle reading (11 s: past two looks of the central's own idle collection,
 * core/idle_gc.ts, every 5 s; at 3 s the `--ui off` reading fell before or
 * after it by chance, 30 or 38 MB private) and after use (longer than the
 * dashboard's 3 s idle collection).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUN } from "./_dashboard_run.ts";
 * assert.ok(RUN.afterMs > 3_000 && RUN.loads >= 20);
 * ```
 */
export const RUN = {
  user: "bench",
  password: "bench-password-1",
  loads: 20,
  tailMs: 5_000,
  idleMs: 11_000,
  afterMs: 5_000,
} as const;

/**
 * The pages one client polls, as the issue names them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PAGES } from "./_dashboard_run.ts";
 * assert.ok(PAGES.includes("/alerts?text=mimikatz"));
 * ```
 */
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

/**
 * The `p` quantile of sorted figures (the nearest rank).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pct } from "./_dashboard_run.ts";
 * assert.equal(pct([1, 2, 3, 4], 0.5), 2);
 * ```
 */
export function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
}

/** What one run of the central measured. */
export interface DashboardRun {
  /** Memory a few seconds after start-up went quiet. */
  idle: MemoryMb;
  /** Peak RSS, private memory and PSS of the central's process tree from its start-up line on. */
  tree: MemoryPeak;
  /** Memory after use and 5 s quiet (the dashboard on). */
  after?: MemoryMb;
  /** A minute's quiet after use: the dashboard has closed its store (ui/server.ts). */
  closed?: MemoryMb;
  /** Memory at its peak while the pages loaded (the dashboard on). */
  peak?: MemoryMb;
  /** Per page: load times in ms, sorted, and the body's bytes. */
  pages?: Map<string, { t: number[]; bytes: number }>;
  /** Events the live tail delivered in its seconds. */
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

/**
 * Runs the central example once over a copy of `database`, with the
 * dashboard on (`ui`: a login, {@linkcode RUN}`.loads` loads of each page,
 * live tail, then quiet) or off, and reads its memory from /proc.
 *
 * @example
 * ```ts ignore
 * import { runCentral } from "./_dashboard_run.ts";
 * const run = await runCentral("/tmp/scratch", "/tmp/siem.db", true, 0);
 * console.log(run.after?.rss, run.idle.rss);
 * ```
 */
export async function runCentral(
  dir: string,
  database: string,
  ui: boolean,
  run: number,
  smaps = false,
): Promise<DashboardRun> {
  const data = `${dir}/run-${ui ? "ui" : "off"}-${run}`;
  await Deno.mkdir(data, { recursive: true });
  await Deno.copyFile(database, `${data}/siem.db`);
  await Deno.copyFile(_textIndexPath(database), _textIndexPath(`${data}/siem.db`)).catch(() => {});
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
    await sleep(RUN.idleMs);
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
    const client = new DashboardClient(url, RUN.user, RUN.password);
    await client.login();
    const pages = new Map<string, { t: number[]; bytes: number }>();
    for (const path of PAGES) {
      const t: number[] = [];
      let bytes = 0;
      for (let i = 0; i <= RUN.loads; i++) {
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
    const end = Date.now() + RUN.tailMs;
    while (reader && Date.now() < end) {
      const r = await Promise.race([
        reader.read(),
        sleep(Math.max(0, end - Date.now())).then(() => undefined),
      ]);
      if (!r || r.done) break;
      tailEvents += decoder.decode(r.value).split("\n\n").length - 1;
    }
    await reader?.cancel().catch(() => {});
    await sleep(RUN.afterMs);
    const peak = sampler.stop();
    const after = memoryMb(p.pid);
    const atAfter = smaps ? { smaps: smapsByMapping(p.pid) } : {};
    // The dashboard closes its store a minute after the last request (ui/server.ts).
    await sleep(STORE_IDLE_MS + 5_000 - RUN.afterMs);
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

/**
 * Seeds a SIEM database with bench/seed_siem.ts in a child (so the
 * caller's memory stays its own): `n` alerts, `n` auth events, 50 hosts,
 * times before `now` (seed_siem's default: the present), within
 * `timeoutMs` (15 minutes unless given).
 *
 * @example
 * ```ts ignore
 * import { seedSiem } from "./_dashboard_run.ts";
 * await seedSiem("/tmp/siem.db", 50_000);
 * ```
 */
export async function seedSiem(
  database: string,
  n: number,
  options: { now?: number; timeoutMs?: number } = {},
): Promise<void> {
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
      ...(options.now !== undefined ? ["--now", String(options.now)] : []),
    ],
    { timeoutMs: options.timeoutMs ?? 900_000, what: "bench/seed_siem.ts" },
  );
  if (seeded.code !== 0) {
    throw new Error(
      `seeding ${database} failed (exit ${seeded.code}): ${seeded.stderr.slice(-2000)}`,
    );
  }
}
