/**
 * The SQLite store's overview keeps complete past hours for `hourCacheMs`,
 * also once summed: a late event for a past hour shows when its hour
 * expires, not before, not never.
 */

import assert from "node:assert/strict";
import { openSqliteStore } from "../../store/sqlite.ts";
import { insertAlert, NOW, seeded } from "./_fixture.ts";

const DAY = 86_400_000;

Deno.test("store overview: a late alert for a past hour shows once the cached hours expire", async () => {
  const s = await seeded({ alerts: 500, auth: 100 });
  const store = await openSqliteStore({ database: s.database, hourCacheMs: 2_000 });
  try {
    const q = { since: NOW - DAY + 1234, now: NOW };
    // Taken before the hours are summed, so the cache is no older than this.
    const summedBy = Date.now();
    const before = await store.overview(q);
    // Read again: from the summed hours, the same figures.
    assert.deepEqual(await store.overview(q), before);
    insertAlert(s.writer, {
      timestamp: new Date(NOW - 5 * 3_600_000 + 10).toISOString(),
      host: "vm-late",
      rule: "Late_rule",
      severity: "critical",
    });
    // Still cached: the past hour was summed a moment ago. On a machine so loaded that the
    // cache's 2 s went by already, only the expiry below can be checked.
    const cached = (await store.overview(q)).counts.alerts;
    if (Date.now() - summedBy < 2_000) assert.equal(cached, before.counts.alerts);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const after = await store.overview(q);
    assert.equal(after.counts.alerts, before.counts.alerts + 1);
    assert.equal(after.counts.critical, before.counts.critical + 1);
    assert.ok(after.topHosts.length > 0);
  } finally {
    await store.close();
    await s.cleanup();
  }
});
