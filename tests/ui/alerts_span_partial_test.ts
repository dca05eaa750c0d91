/**
 * The archive-spanning alerts page (ui/alerts_span.ts) over a database whose
 * text scan stops early (a tiny budget, so most database pages are
 * `partial`): paging gives the same matches in the same order as before the
 * archiver moved the old half out, none twice, and no archived row is shown
 * before the database's scan has passed it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "../../bench/seed_siem.ts";
import { archiveOnce } from "../../archive/mover.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { alertsSpanning } from "../../ui/alerts_span.ts";
import type { AlertFilter, SiemStore } from "../../store/types.ts";

const DAY = 86_400_000;

async function _walk(
  store: SiemStore,
  archives: string | undefined,
  filter: AlertFilter,
  limit: number,
): Promise<{ ids: string[]; partial: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let partial = 0;
  for (let n = 0;; n++) {
    assert.ok(n < 5000, "paging ends");
    const page = await alertsSpanning(store, archives, filter, limit, cursor);
    assert.ok(page.rows.length <= limit);
    if (page.partial) {
      partial++;
      assert.ok(page.next);
      for (const r of page.rows) assert.ok(r.timestamp >= page.partial.searchedTo);
    }
    ids.push(...page.rows.map((r) => String(r.id)));
    if (page.next === null) return { ids, partial };
    cursor = page.next;
  }
}

Deno.test({
  name:
    "alerts span: partial database pages never let the archive jump ahead; same rows as before archiving",
  sanitizeResources: false,
  fn: async () => {
    const now = Date.now();
    const dir = await Deno.makeTempDir({ prefix: "sluice-span-partial-" });
    const database = `${dir}/siem.db`;
    const archives = `${dir}/archives`;
    try {
      await seedSiem(database, { alerts: 3000, auth: 10, hosts: 4, days: 60, now });
      const db = new DatabaseSync(database);
      try {
        const insert = db.prepare(
          `INSERT INTO alerts (id, timestamp, host, severity, rule, file, hash, message, source, raw)
           VALUES (?, ?, 'vm-01', 'high', 'r', NULL, NULL, ?, 'yara', '{}')`,
        );
        for (let i = 0; i < 24; i++) {
          const ts = new Date(now - (i + 0.5) * 2.4 * DAY).toISOString();
          insert.run(`m-${i}`, ts, i % 2 ? "found Qz" : "x ~ qz \0 y");
        }
      } finally {
        db.close();
      }
      const since = now - 60 * DAY;
      const filters: AlertFilter[] = [
        { since, text: "qz" },
        { since, text: "~" },
        // (No NUL text here: the archive's reader does not find a NUL the database does, with
        // or without partial pages, so its "before" differs from its "after" anyway.)
        { since, text: "qz", host: "vm-01" },
      ];
      const full = await openSqliteStore({
        database,
        textIndex: false,
        textScan: { budgetMs: 1e9 },
      });
      const before: string[][] = [];
      try {
        for (const f of filters) before.push((await _walk(full, undefined, f, 5)).ids);
      } finally {
        await full.close();
      }
      assert.equal(before[0]!.length, 24);
      assert.equal(before[1]!.length, 12);
      const moved = await archiveOnce({ database, dir: archives, retainDbMs: 30 * DAY });
      assert.ok((moved.byTable.alerts ?? 0) > 1000, "about half the alerts moved");
      const tiny = await openSqliteStore({
        database,
        textIndex: false,
        textScan: { budgetMs: 0, chunk: 40 },
      });
      try {
        for (const [i, f] of filters.entries()) {
          for (const limit of [1, 5, 50]) {
            const after = await _walk(tiny, archives, f, limit);
            assert.deepEqual(after.ids, before[i], `${JSON.stringify(f)} limit ${limit}`);
            assert.ok(after.partial > 0, "some pages stopped early");
          }
        }
      } finally {
        await tiny.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
