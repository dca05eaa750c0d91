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

import { type MeasuredRow, type MeasuredScenario, spread } from "./lib.ts";
import { DatabaseSync } from "node:sqlite";
import { medianPeak, memoryFields } from "./_memory.ts";
import { smapsDiff } from "./_dashboard_smaps.ts";
import { openSqliteStore } from "../store/sqlite.ts";
import { hashPassword } from "../ui/password.ts";
import { _textIndexPath } from "../store/_sqlite_text_limits.ts";
import { type DashboardRun, PAGES, pct, RUN, runCentral, seedSiem } from "./_dashboard_run.ts";

export { PAGES };

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
    // Its text index too, when one was built (dashboard_store builds it): the dashboard then runs
    // as it does once its index exists, not while it builds one in the background.
    await Deno.copyFile(_textIndexPath(given), _textIndexPath(database)).catch(() => {});
  } else {
    await seedSiem(database, n);
    console.error(`dashboard: seeded ${database}`);
  }
  // The admin exists already, so neither mode hashes a new password at start.
  const store = await openSqliteStore({ database });
  try {
    if (!(await store.ui.getUser(RUN.user))) {
      await store.ui.addUser({
        name: RUN.user,
        role: "admin",
        passwordHash: await hashPassword(RUN.password),
      });
    }
  } finally {
    await store.close();
  }
  // Into the main file, so a copy of it alone holds the user.
  const db = new DatabaseSync(database);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const off: DashboardRun[] = [];
  const on: DashboardRun[] = [];
  for (let r = 0; r < runs; r++) {
    off.push(await runCentral(dir, database, false, r, smaps));
    const o = off.at(-1) as DashboardRun;
    console.error(
      `dashboard: --ui off: private ${o.idle.private.toFixed(1)} MB, RSS ${
        o.idle.rss.toFixed(1)
      } MB`,
    );
    on.push(await runCentral(dir, database, true, r, smaps));
    const u = on.at(-1) as DashboardRun;
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
    note: `${what}, ${RUN.idleMs / 1000} s after its start-up CPU went quiet`,
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
  const indexNote = await Deno.stat(_textIndexPath(database)).then(
    () => "the text index built beforehand (as once its first build is done)",
    () => "no text index beforehand: the first text query builds one in the background",
  );
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
    note: `a login, ${RUN.loads} loads of each of ${PAGES.length} pages, ${
      RUN.tailMs / 1000
    } s of live tail, ${RUN.afterMs / 1000} s quiet; ${indexNote}`,
  });
  const added = addedOver(after, offPrivate);
  rows.push({
    scenario: "dashboard",
    subject: "memory the dashboard adds, after use: private",
    ...added,
    unit: "MB",
    ...onTree,
    note: `goal ≤ 15 MB${
      added.value > 15 ? " MISSED" : ""
    } (issue 21's goal, counted as private memory as issue 26 agreed for every target); peak +${
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
    note:
      `beside the private figure (issue 21 named RSS; issue 26 moved memory targets to private memory); of it file-backed +${
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
    const p95 = pct(t, 0.95);
    rows.push({
      scenario: "dashboard",
      subject: `GET ${path}`,
      value: Number(p95.toFixed(1)),
      unit: "ms p95",
      ...onTree,
      note: `p50 ${pct(t, 0.5).toFixed(1)} ms of ${t.length} loads over HTTP, ${
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
