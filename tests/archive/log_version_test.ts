/**
 * `archive_log` carries a schema version (`schema.archive_log` in
 * `sluice_meta`), as the other tables beside the SIEM schema do: a new
 * database gets version 1, a table made before versions existed is upgraded
 * once with its rows kept, and a newer version is refused, naming the
 * downgrade, before a file is written or a row deleted.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "../../bench/seed_siem.ts";
import { ARCHIVE_LOG_VERSION, archiveOnce } from "../../archive/mover.ts";
import { pruneArchive } from "../../archive/retention.ts";
import { DowngradeError } from "../../core/_state_version.ts";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const DAY = 86_400_000;

/** The archive_log of before versions: the same table, no `sluice_meta` entry. */
const UNVERSIONED_DDL = `CREATE TABLE archive_log (
  tbl TEXT NOT NULL, day TEXT NOT NULL, part INTEGER NOT NULL, file TEXT NOT NULL,
  rows INTEGER NOT NULL, min_rowid INTEGER NOT NULL, max_rowid INTEGER NOT NULL,
  bytes INTEGER NOT NULL, archived_at TEXT NOT NULL, deleted_at TEXT,
  PRIMARY KEY (tbl, day, part)
) STRICT`;

async function seeded(): Promise<{ dir: string; db: string; archives: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-archive-version-" });
  const db = `${dir}/siem.db`;
  await seedSiem(db, {
    alerts: 600,
    auth: 0,
    firewall: 0,
    system: 0,
    hosts: 3,
    days: 40,
    now: NOW,
  });
  return { dir, db, archives: `${dir}/archives` };
}

function version(db: string): string | undefined {
  const c = new DatabaseSync(db, { readOnly: true });
  try {
    return (c.prepare("SELECT value FROM sluice_meta WHERE key = 'schema.archive_log'").get() as
      | { value: string }
      | undefined)?.value;
  } finally {
    c.close();
  }
}

function count(db: string, sql: string): number {
  const c = new DatabaseSync(db, { readOnly: true });
  try {
    return Number((c.prepare(sql).get() as { n: number }).n);
  } finally {
    c.close();
  }
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string) => {
    try {
      for await (const e of Deno.readDir(p)) {
        if (e.isDirectory) await walk(`${p}/${e.name}`);
        else if (e.name.endsWith(".parquet")) out.push(`${p}/${e.name}`);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  };
  await walk(dir);
  return out;
}

Deno.test("archive_log: a new database records schema.archive_log = 1", async () => {
  const { dir, db, archives } = await seeded();
  try {
    const s = await archiveOnce({
      database: db,
      dir: archives,
      retainDbMs: 30 * DAY,
      now: () => NOW,
    });
    assert.ok(s.rows > 0);
    assert.equal(version(db), String(ARCHIVE_LOG_VERSION));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("archive_log: a table made before versions existed is upgraded once, its rows kept", async () => {
  const { dir, db, archives } = await seeded();
  try {
    const c = new DatabaseSync(db);
    c.exec(UNVERSIONED_DDL);
    c.prepare(
      "INSERT INTO archive_log VALUES ('alerts', '2020-01-01', 0, 'alerts/date=2020-01-01/part-0.parquet', 5, 1, 5, 100, '2020-01-02T00:00:00.000Z', '2020-02-01T00:00:00.000Z')",
    ).run();
    c.close();
    assert.equal(version(db), undefined);
    const s = await archiveOnce({
      database: db,
      dir: archives,
      retainDbMs: 30 * DAY,
      now: () => NOW,
    });
    assert.ok(s.rows > 0);
    assert.equal(version(db), "1");
    assert.equal(
      count(db, "SELECT count(*) AS n FROM archive_log WHERE day = '2020-01-01'"),
      1,
      "the earlier row is kept",
    );
    assert.equal(count(db, "SELECT count(*) AS n FROM archive_log"), s.parts + 1);
    // Once: the next pass finds the version and only reads it.
    const c2 = new DatabaseSync(db);
    for (const op of ["INSERT", "UPDATE"]) {
      c2.exec(
        `CREATE TRIGGER no_meta_${op} BEFORE ${op} ON sluice_meta BEGIN SELECT RAISE(ABORT, 'upgraded twice'); END`,
      );
    }
    c2.close();
    await archiveOnce({ database: db, dir: archives, retainDbMs: 30 * DAY, now: () => NOW });
    assert.equal(version(db), "1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("archive_log: a newer version is refused, naming the downgrade, with nothing moved or deleted", async () => {
  const { dir, db, archives } = await seeded();
  try {
    await archiveOnce({ database: db, dir: archives, retainDbMs: 35 * DAY, now: () => NOW });
    const c = new DatabaseSync(db);
    c.prepare("UPDATE sluice_meta SET value = ? WHERE key = 'schema.archive_log'").run(
      String(ARCHIVE_LOG_VERSION + 1),
    );
    c.close();
    const alerts = count(db, "SELECT count(*) AS n FROM alerts");
    const logged = count(db, "SELECT count(*) AS n FROM archive_log");
    const before = await files(archives);
    assert.ok(before.length > 0);
    await assert.rejects(
      archiveOnce({ database: db, dir: archives, retainDbMs: 30 * DAY, now: () => NOW }),
      (err: unknown) => {
        assert.ok(err instanceof DowngradeError, String(err));
        assert.match(err.message, /^archive: ".*siem\.db" was written by a newer sluice/);
        assert.match(err.message, /schema "archive_log" version 2, this sluice knows up to 1/);
        assert.match(err.message, /a downgrade would lose/);
        return true;
      },
    );
    await assert.rejects(
      pruneArchive({ database: db, dir: archives, retainArchiveMs: 1, now: () => NOW }),
      DowngradeError,
    );
    assert.equal(count(db, "SELECT count(*) AS n FROM alerts"), alerts, "no row deleted");
    assert.equal(count(db, "SELECT count(*) AS n FROM archive_log"), logged);
    assert.deepEqual((await files(archives)).sort(), before.sort(), "no file written or deleted");
    assert.equal(version(db), String(ARCHIVE_LOG_VERSION + 1), "the version is left as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
