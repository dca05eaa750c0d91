/**
 * The full-size check, on demand (it takes minutes and gigabytes):
 * 2,000,000 alerts and 1,000,000 auth events over 60 days, the rows older
 * than 30 days archived; DuckDB (the real library, not our reader) finds
 * every row of the database as it was exactly once, in the archive or
 * still in the database, with the same values, the types of the SQLite
 * columns, and the same row counts per day; and
 * `sluice query critical --since <45 days ago> --archive` prints what the
 * same query printed before the move.
 *
 * ```sh
 * SLUICE_BIG=1 deno test -A tests/archive/big_test.ts
 * ```
 *
 * `SLUICE_BIG_ALERTS` / `SLUICE_BIG_AUTH` change the sizes. It prints one
 * JSON line of figures (times, counts) at the end. The suite keeps the same
 * properties at a small scale (archive_test.ts, query_test.ts).
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "../../bench/seed_siem.ts";
import { archiveOnce } from "../../archive/mover.ts";
import { runWithDeadline, skipLine } from "../_peers.ts";
import { columnsOf, duck } from "./_check.ts";

const enabled = Deno.env.get("SLUICE_BIG") === "1";
if (!enabled) skipLine("the 2M/1M archive check", "set SLUICE_BIG=1 to run it (minutes)");

const ALERTS = Number(Deno.env.get("SLUICE_BIG_ALERTS") ?? 2_000_000);
const AUTH = Number(Deno.env.get("SLUICE_BIG_AUTH") ?? 1_000_000);
const DAY = 86_400_000;
const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;
/** Row ids compared per round (both sides held in memory only for one round). */
const CHUNK = 100_000;

/** DuckDB's type for each SQLite declared type, as the archive promises it. */
function expectedType(declared: string, isTime: boolean): string {
  if (isTime) return "TIMESTAMP";
  const t = declared.toUpperCase();
  return t.startsWith("INT") ? "BIGINT" : t.startsWith("REAL") ? "DOUBLE" : "VARCHAR";
}

function text(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

Deno.test({
  name: "archive at full size: 2M alerts and 1M auth events over 60 days, every row once (DuckDB)",
  ignore: !enabled,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-archive-big-" });
    const figures: Record<string, unknown> = { alerts: ALERTS, auth: AUTH };
    try {
      const db = `${dir}/siem.db`;
      const beforeDb = `${dir}/before.db`;
      const archives = `${dir}/archives`;
      const now = Date.now();
      let t0 = performance.now();
      await seedSiem(db, {
        alerts: ALERTS,
        auth: AUTH,
        firewall: 0,
        system: 0,
        hosts: 50,
        days: 60,
        now,
      });
      {
        const c = new DatabaseSync(db);
        c.exec("PRAGMA wal_checkpoint(TRUNCATE)");
        c.close();
      }
      figures.seedSeconds = (performance.now() - t0) / 1000;
      await Deno.copyFile(db, beforeDb);

      // `--since 45d` pinned to this moment, so that both runs ask for the same range.
      const since = new Date(now - 45 * DAY).toISOString();
      const query = async (archive: boolean) => {
        const started = performance.now();
        const r = await runWithDeadline(Deno.execPath(), [
          "run",
          "-A",
          MAIN,
          "query",
          "critical",
          "--since",
          since,
          ...(archive ? ["--archive"] : []),
          "--db",
          db,
          "--format",
          "json",
          "--limit",
          "10000000",
        ], { timeoutMs: 300_000, what: `sluice query critical --since ${since}` });
        assert.equal(r.code, 0, r.stderr);
        return { out: r.stdout, seconds: (performance.now() - started) / 1000 };
      };
      const before = await query(false);
      figures.criticalRows = before.out.trim().split("\n").length;

      const cutoff = new Date(now - 30 * DAY).toISOString();
      t0 = performance.now();
      const moved = await archiveOnce({
        database: db,
        dir: archives,
        retainDbMs: 30 * DAY,
        now: () => now,
        tables: ["alerts", "auth_events"],
      });
      figures.archiveSeconds = (performance.now() - t0) / 1000;
      figures.archived = moved.byTable;
      figures.parquetBytes = moved.bytes;

      const after = await query(true);
      figures.queryArchiveSeconds = after.seconds;
      figures.queryBeforeSeconds = before.seconds;
      assert.equal(after.out, before.out, "query critical --archive after == before");

      const d = await duck();
      const old = new DatabaseSync(beforeDb, { readOnly: true });
      const live = new DatabaseSync(db, { readOnly: true });
      t0 = performance.now();
      try {
        for (const table of ["alerts", "auth_events"]) {
          const glob = `${archives}/${table}/*/*.parquet`;
          const from = `read_parquet('${glob}', hive_partitioning = true)`;
          const info = old.prepare(`PRAGMA table_info(${table})`).all() as Array<
            { name: string; type: string }
          >;
          // Types: the SQLite column's, as DuckDB sees them.
          const described = new Map(
            (await d.rows(`DESCRIBE SELECT * FROM ${from}`)).map((
              r,
            ) => [String(r.column_name), String(r.column_type)]),
          );
          assert.equal(described.get("_rowid"), "BIGINT");
          for (const c of info) {
            assert.equal(
              described.get(c.name),
              expectedType(c.type, c.name === "timestamp"),
              `${table}.${c.name}`,
            );
          }
          // Row counts per day: the database's rows older than the cutoff, and the archive's.
          const wantDays = old.prepare(
            `SELECT substr(timestamp, 1, 10) AS day, count(*) AS n FROM ${table} WHERE timestamp < ? GROUP BY 1 ORDER BY 1`,
          ).all(cutoff) as Array<{ day: string; n: number }>;
          const gotDays = await d.rows(
            `SELECT strftime(date, '%Y-%m-%d') AS day, count(*) AS n, count(DISTINCT _rowid) AS ids, min(strftime(timestamp, '%Y-%m-%d')) AS lo, max(strftime(timestamp, '%Y-%m-%d')) AS hi FROM ${from} GROUP BY 1 ORDER BY 1`,
          );
          assert.deepEqual(
            gotDays.map((r) => [r.day, Number(r.n)]),
            wantDays.map((r) => [r.day, Number(r.n)]),
            `${table}: rows per day`,
          );
          for (const r of gotDays) {
            assert.equal(Number(r.ids), Number(r.n), `${table} ${r.day}: a row id twice`);
            assert.ok(r.lo === r.day && r.hi === r.day, `${table} ${r.day}: a row of another day`);
          }
          // Every row: in exactly one place, with the same values.
          const cols = columnsOf(old, table);
          const select = cols.map((c) =>
            c === "timestamp"
              ? `strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS "timestamp"`
              : `CAST("${c}" AS VARCHAR) AS "${c}"`
          ).join(", ");
          const max = Number(
            (old.prepare(`SELECT max(rowid) AS m FROM ${table}`).get() as { m: number }).m,
          );
          const oldRows = old.prepare(
            `SELECT rowid AS _rowid, * FROM ${table} WHERE rowid BETWEEN ? AND ? ORDER BY rowid`,
          );
          oldRows.setReadBigInts(true);
          const liveIds = live.prepare(
            `SELECT rowid AS _rowid FROM ${table} WHERE rowid BETWEEN ? AND ?`,
          );
          let archived = 0;
          let kept = 0;
          for (let a = 1; a <= max; a += CHUNK) {
            const b = a + CHUNK - 1;
            const arch = new Map<number, Record<string, unknown>>();
            for (
              const r of await d.rows(
                `SELECT ${select} FROM ${from} WHERE _rowid BETWEEN ${a} AND ${b}`,
              )
            ) {
              const id = Number(r._rowid);
              assert.ok(!arch.has(id), `${table}: row ${id} archived twice`);
              arch.set(id, r);
            }
            const stillThere = new Set(
              (liveIds.all(a, b) as Array<{ _rowid: number }>).map((r) => Number(r._rowid)),
            );
            let seen = 0;
            for (const r of oldRows.iterate(a, b) as Iterable<Record<string, unknown>>) {
              const id = Number(r._rowid);
              const inArchive = arch.get(id);
              const inDb = stillThere.has(id);
              const wasOld = String(r.timestamp) < cutoff;
              assert.ok(!(inArchive && inDb), `${table}: row ${id} in both places`);
              assert.ok(inArchive || inDb, `${table}: row ${id} lost`);
              assert.equal(Boolean(inArchive), wasOld, `${table}: row ${id} in the wrong place`);
              if (inArchive) {
                for (const c of cols) {
                  const want = text(r[c]);
                  const got = text(inArchive[c]);
                  if (got !== want) {
                    assert.fail(
                      `${table}: row ${id} column ${c}: archive ${JSON.stringify(got)}, SQLite ${
                        JSON.stringify(want)
                      }`,
                    );
                  }
                }
                archived++;
              } else kept++;
              seen++;
            }
            assert.equal(
              seen,
              arch.size + stillThere.size,
              `${table} rows ${a}-${b}: a row that was not in the database`,
            );
          }
          figures[`${table}Checked`] = { archived, kept };
          assert.equal(archived, moved.byTable[table] ?? 0);
        }
      } finally {
        old.close();
        live.close();
        d.close();
      }
      figures.checkSeconds = (performance.now() - t0) / 1000;
      console.log(JSON.stringify(figures));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
