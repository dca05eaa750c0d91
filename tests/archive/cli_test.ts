import assert from "node:assert/strict";
import { seedSiem } from "../../bench/seed_siem.ts";
import { queryArchive } from "../../runner/archive.ts";
import { runWithDeadline } from "../_peers.ts";

const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;
const NOW = Date.now();

Deno.test("sluice archive --once moves old rows; archive query reads them with DuckDB and refuses anything but a SELECT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-cli-" });
  try {
    const db = `${dir}/siem.db`;
    await seedSiem(db, { alerts: 3000, auth: 1000, hosts: 5, days: 35, now: NOW });
    const r = await runWithDeadline(
      Deno.execPath(),
      [
        "run",
        "-A",
        MAIN,
        "archive",
        "--once",
        "--db",
        db,
        "--retain-db",
        "30d",
        "--max-disk",
        "1GB",
      ],
      { timeoutMs: 120_000, what: "sluice archive --once" },
    );
    assert.equal(r.code, 0, r.stderr);
    const moved = Number(/archived (\d+) rows/.exec(r.stdout)?.[1]);
    assert.ok(moved > 0, r.stdout);
    const out = await queryArchive(
      `${dir}/archives`,
      "select count(*) as n from alerts union all select count(*) from auth_events",
    );
    const [header, a, b] = out.split("\n");
    assert.equal(header, "n");
    assert.equal(
      Number(a) + Number(b),
      Number(/alerts\t(\d+)/.exec(r.stdout)?.[1] ?? 0) +
        Number(/auth_events\t(\d+)/.exec(r.stdout)?.[1] ?? 0),
    );
    await assert.rejects(
      queryArchive(`${dir}/archives`, `copy alerts to '${dir}/leak.csv'`),
      /only a SELECT|Permission/,
    );
    // Inside the archive directory file access is allowed: the statement type check refuses the write.
    await assert.rejects(
      queryArchive(`${dir}/archives`, `copy alerts to '${dir}/archives/x.csv'`),
      /only a SELECT/,
    );
    await assert.rejects(queryArchive(`${dir}/archives`, "drop view alerts"), /only a SELECT/);
    await assert.rejects(
      queryArchive(`${dir}/archives`, "select * from read_csv('/etc/passwd')"),
      /Permission|not allowed|disabled/i,
    );
    const bad = await runWithDeadline(Deno.execPath(), [
      "run",
      "-A",
      MAIN,
      "archive",
      "--once",
      "--db",
      db,
      "--retain-db",
      "soon",
    ], {
      timeoutMs: 60_000,
      what: "sluice archive with a bad duration",
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--retain-db: expected a duration like 30d, got "soon"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
