/**
 * Archives of the SIEM tables: a seeded database over 60 days is moved into
 * Parquet and DuckDB (the real library) reads every row back once, with the
 * same values and types; a crash (kill -9) or a fault at every step of a
 * move, and a full disk, leave each row in exactly one place.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "../../bench/seed_siem.ts";
import { archiveOnce, type ArchiveStep } from "../../archive/mover.ts";
import { pruneArchive } from "../../archive/retention.ts";
import { runWithDeadline, skipLine } from "../_peers.ts";
import { checkExactlyOnce, duck, snapshot } from "./_check.ts";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const DAY = 86_400_000;
// The 2M alerts and 1M auth events run in the benchmark suite (bench/archive.ts);
// the test keeps every property with fewer rows.
const ALERTS = Number(Deno.env.get("SLUICE_ARCHIVE_TEST_ALERTS") ?? 20_000);

let template: Promise<string> | undefined;

/** A copy of one seeded database (seeded once per file): 36 days, the oldest 6 past a 30-day retention. */
async function seeded(): Promise<{ dir: string; db: string; archives: string }> {
  template ??= (async () => {
    const t = await Deno.makeTempFile({ prefix: "sluice-archive-template-", suffix: ".db" });
    await Deno.remove(t);
    await seedSiem(t, { alerts: ALERTS, auth: ALERTS / 2, hosts: 12, days: 36, now: NOW });
    const c = new DatabaseSync(t);
    c.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    c.close();
    globalThis.addEventListener("unload", () => {
      for (const f of [t, `${t}-wal`, `${t}-shm`]) {
        try {
          Deno.removeSync(f);
        } catch {
          // gone
        }
      }
    });
    return t;
  })();
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-" });
  const db = `${dir}/siem.db`;
  await Deno.copyFile(await template, db);
  return { dir, db, archives: `${dir}/archives` };
}

Deno.test("archive: rows older than 30 days move to Parquet that DuckDB reads back whole, typed, once", async () => {
  const { dir, db, archives } = await seeded();
  try {
    const before = snapshot(db);
    const dayCounts = (sql: string) => {
      const c = new DatabaseSync(db, { readOnly: true });
      try {
        return c.prepare(sql).all() as Array<{ day: string; n: number }>;
      } finally {
        c.close();
      }
    };
    const cutoff = new Date(NOW - 30 * DAY).toISOString();
    const perDay = dayCounts(
      `SELECT substr(timestamp, 1, 10) AS day, count(*) AS n FROM alerts WHERE timestamp < '${cutoff}' GROUP BY 1 ORDER BY 1`,
    );
    const summary = await archiveOnce({
      database: db,
      dir: archives,
      retainDbMs: 30 * DAY,
      now: () => NOW,
      rowGroupSize: 4096,
      readRows: 97, // each day's rows in several reads, row groups cut across them
      commitRows: 1000, // several transactions of a few parts each
    });
    assert.ok(summary.rows > 0);
    const archived = await checkExactlyOnce(before, db, archives);
    assert.equal(archived.alerts, perDay.reduce((n, d) => n + Number(d.n), 0));
    const d = await duck();
    try {
      const got = await d.rows(
        `SELECT strftime(date, '%Y-%m-%d') AS day, count(*) AS n FROM read_parquet('${archives}/alerts/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1`,
      );
      assert.deepEqual(
        got.map((r) => [r.day, Number(r.n)]),
        perDay.map((r) => [r.day, Number(r.n)]),
        "row counts per day",
      );
      const types = Object.fromEntries(
        (await d.rows(`DESCRIBE SELECT * FROM read_parquet('${archives}/auth_events/*/*.parquet')`))
          .map((r) => [r.column_name, r.column_type]),
      );
      assert.equal(types.timestamp, "TIMESTAMP");
      assert.equal(types.port, "BIGINT");
      assert.equal(types.invalid_user, "BIGINT");
      assert.equal(types.user, "VARCHAR");
      const meta = await d.rows(
        `SELECT DISTINCT compression FROM parquet_metadata('${archives}/alerts/*/*.parquet')`,
      );
      assert.deepEqual(meta.map((r) => r.compression), ["ZSTD"]);
    } finally {
      d.close();
    }
    // A second pass finds nothing more to move.
    assert.equal(
      (await archiveOnce({ database: db, dir: archives, retainDbMs: 30 * DAY, now: () => NOW }))
        .rows,
      0,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("archive: late rows of old days (scattered row ids) and times that are no date: each row once, the bad ones left with a warning", async () => {
  const { dir, db, archives } = await seeded();
  try {
    const c = new DatabaseSync(db);
    // Late arrivals: rows of two old days inserted after everything else, so those days' row
    // ids are not one run (the time index finds them); the other old days stay contiguous.
    const add = c.prepare(
      "INSERT INTO alerts (id, timestamp, host, severity, rule, raw) VALUES (?, ?, 'late', 'high', 'late', '{}')",
    );
    const old = (n: number) => new Date(NOW - (33 + n) * DAY + 3_600_000).toISOString();
    for (let i = 0; i < 20; i++) add.run(`late-${i}`, old(i % 2));
    for (const t of ["2026-10-45T00:00:00.000Z", "2026-10-1 bad", "garbage"]) {
      add.run(`bad-${t}`, t);
    }
    c.close();
    const before = snapshot(db);
    const warned: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn: (m: string) => warned.push(m),
      error() {},
      child() {
        return log;
      },
    };
    const s = await archiveOnce({
      database: db,
      dir: archives,
      retainDbMs: 30 * DAY,
      now: () => NOW,
      commitRows: 1000,
      readRows: 50, // the scattered days' reads (through the time index) in several batches too
      log,
    });
    await checkExactlyOnce(before, db, archives);
    const r = new DatabaseSync(db, { readOnly: true });
    const left = (r.prepare(
      "SELECT group_concat(timestamp, '|') AS t FROM (SELECT timestamp FROM alerts WHERE timestamp < ? ORDER BY 1)",
    ).get(new Date(NOW - 30 * DAY).toISOString()) as { t: string | null }).t;
    const late = (r.prepare("SELECT count(*) AS n FROM alerts WHERE id LIKE 'late-%'").get() as {
      n: number;
    }).n;
    r.close();
    assert.equal(late, 0, "the late rows moved");
    assert.equal(
      left,
      "2026-10-1 bad|2026-10-45T00:00:00.000Z",
      "only rows whose time is no date stay",
    );
    assert.equal(warned.filter((m) => /not ISO 8601/.test(m)).length, 2, warned.join("\n"));
    assert.ok((s.byTable.alerts ?? 0) > 20);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const step of ["written", "verified", "renamed", "committed"] as const) {
  Deno.test(`archive: kill -9 after the "${step}" step, then a restart: every row in exactly one place`, async () => {
    const { dir, db, archives } = await seeded();
    try {
      const before = snapshot(db);
      const script = `${dir}/crash.ts`;
      const mover = new URL("../../archive/mover.ts", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { archiveOnce } from "${mover}";
let n = 0;
await archiveOnce({ database: ${JSON.stringify(db)}, dir: ${
          JSON.stringify(archives)
        }, retainDbMs: ${30 * DAY}, now: () => ${NOW},
  onStep: (step) => { if (step === ${
          JSON.stringify(step)
        } && ++n === 3) Deno.kill(Deno.pid, "SIGKILL"); } });
`,
      );
      const r = await runWithDeadline(Deno.execPath(), ["run", "-A", script], {
        timeoutMs: 120_000,
        what: `archive child crashing at ${step}`,
      });
      assert.equal(r.code, 137, `the child was killed (${r.code}): ${r.stderr}`);
      const after = await archiveOnce({
        database: db,
        dir: archives,
        retainDbMs: 30 * DAY,
        now: () => NOW,
      });
      if (step === "renamed") {
        // Killed after the third rename: three parts waiting for the transaction that records
        // them (parts are committed in batches), all removed, their rows still in the database.
        assert.equal(after.recovered, 3, "the renamed but unrecorded parts were removed");
      }
      await checkExactlyOnce(before, db, archives);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("archive: a fault between any two steps stops the move with nothing lost, and the next pass completes it", async () => {
  const { dir, db, archives } = await seeded();
  try {
    const before = snapshot(db);
    for (const step of ["written", "verified", "renamed"] as ArchiveStep[]) {
      await assert.rejects(
        archiveOnce({
          database: db,
          dir: archives,
          retainDbMs: 30 * DAY,
          now: () => NOW,
          onStep: (s) => {
            if (s === step) throw new Error(`injected after ${step}`);
          },
        }),
        new RegExp(`injected after ${step}`),
      );
      await checkExactlyOnce(before, db, archives);
    }
    await archiveOnce({ database: db, dir: archives, retainDbMs: 30 * DAY, now: () => NOW });
    const archived = await checkExactlyOnce(before, db, archives);
    assert.ok((archived.alerts ?? 0) > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function parquetFiles(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) out.push(...await parquetFiles(p));
    else if (e.name.includes(".parquet")) out.push(p);
  }
  return out;
}

Deno.test("archive: a batch that fails on the commit thread (a row gone meanwhile) rolls back, leaves no file, and the next pass completes", async () => {
  const { dir, db, archives } = await seeded();
  try {
    let gone = false;
    await assert.rejects(
      archiveOnce({
        database: db,
        dir: archives,
        retainDbMs: 30 * DAY,
        now: () => NOW,
        tables: ["alerts"],
        onStep: (step, _table, day) => {
          if (step !== "renamed" || gone) return;
          gone = true;
          // Another writer removes one of the part's rows before its batch commits.
          const c = new DatabaseSync(db);
          c.prepare(
            "DELETE FROM alerts WHERE rowid = (SELECT min(rowid) FROM alerts WHERE timestamp >= ? AND timestamp < ?)",
          ).run(`${day}T`, `${day}U`);
          c.close();
        },
      }),
      /changed while it was archived/,
    );
    assert.ok(gone);
    assert.deepEqual(await parquetFiles(archives), [], "no part left behind");
    const before = snapshot(db);
    await archiveOnce({ database: db, dir: archives, retainDbMs: 30 * DAY, now: () => NOW });
    const archived = await checkExactlyOnce(before, db, archives);
    assert.ok((archived.alerts ?? 0) > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const root = Deno.uid() === 0;
if (!root) skipLine("a tmpfs for the full-disk test", "run as root");

Deno.test({
  name:
    "archive: a full disk gives a clear error, leaves no partial file, deletes nothing, and recovers",
  ignore: !root,
  async fn() {
    const { dir, db, archives } = await seeded();
    await Deno.mkdir(archives);
    const mount = (args: string[]) =>
      runWithDeadline("mount", args, { timeoutMs: 10_000, what: `mount ${args.join(" ")}` });
    const m = await mount(["-t", "tmpfs", "-o", "size=96k", "tmpfs", archives]);
    if (m.code !== 0) {
      skipLine("tmpfs mounts", m.stderr.trim());
      await Deno.remove(dir, { recursive: true });
      return;
    }
    try {
      const before = snapshot(db);
      await assert.rejects(
        archiveOnce({ database: db, dir: archives, retainDbMs: 30 * DAY, now: () => NOW }),
        /No space left on device|os error 28/,
      );
      const leftovers = [];
      for await (const e of Deno.readDir(archives)) leftovers.push(e.name);
      const tmp = (await runWithDeadline("find", [archives, "-name", "*.tmp"], {
        timeoutMs: 10_000,
        what: "find",
      })).stdout.trim();
      assert.equal(tmp, "", "no partial file");
      await checkExactlyOnce(before, db, archives);
      assert.equal((await mount(["-o", "remount,size=64m", archives])).code, 0);
      const s = await archiveOnce({
        database: db,
        dir: archives,
        retainDbMs: 30 * DAY,
        now: () => NOW,
      });
      assert.ok(s.rows > 0);
      const archived = await checkExactlyOnce(before, db, archives);
      const c = new DatabaseSync(db, { readOnly: true });
      const left = (c.prepare(`SELECT count(*) AS n FROM alerts WHERE timestamp < ?`).get(
        new Date(NOW - 30 * DAY).toISOString(),
      ) as { n: number }).n;
      c.close();
      assert.equal(left, 0, "everything old moved once space was back");
      assert.ok((archived.alerts ?? 0) > 0);
    } finally {
      await mount(["-l", "-t", "tmpfs", archives]).catch(() => {});
      await runWithDeadline("umount", ["-l", archives], { timeoutMs: 10_000, what: "umount" })
        .catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("pruneArchive: days past --retain-archive go, then the oldest until --max-disk fits", async () => {
  const { dir, db, archives } = await seeded();
  try {
    await archiveOnce({ database: db, dir: archives, retainDbMs: 7 * DAY, now: () => NOW });
    const before = await pruneArchive({ database: db, dir: archives });
    assert.equal(before.daysDeleted, 0);
    const r1 = await pruneArchive({
      database: db,
      dir: archives,
      retainArchiveMs: 33 * DAY,
      now: () => NOW,
    });
    assert.ok(r1.daysDeleted > 0);
    for await (const e of Deno.readDir(`${archives}/alerts`)) {
      assert.ok(e.name.slice(5) >= new Date(NOW - 33 * DAY).toISOString().slice(0, 10), e.name);
    }
    const r2 = await pruneArchive({
      database: db,
      dir: archives,
      maxDiskBytes: Math.floor(r1.bytes / 2),
      now: () => NOW,
    });
    assert.ok(r2.bytes <= Math.floor(r1.bytes / 2));
    assert.ok(r2.nearLimit || r2.bytes < Math.floor(r1.bytes / 2) * 0.9);
    const c = new DatabaseSync(db, { readOnly: true });
    const marked =
      (c.prepare("SELECT count(*) AS n FROM archive_log WHERE deleted_at IS NOT NULL").get() as {
        n: number;
      }).n;
    c.close();
    assert.ok(marked > 0, "archive_log marks deleted parts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
