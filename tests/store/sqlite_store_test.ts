import assert from "node:assert/strict";
import { openSqliteStore } from "../../store/sqlite.ts";
import type { AlertRow } from "../../store/types.ts";
import { count, DAY, insertAlert, iso, NOW, seeded } from "./_fixture.ts";

Deno.test("store overview counts what the tables hold in the range, and hosts by status", async () => {
  const s = await seeded();
  const store = await openSqliteStore({ database: s.database });
  try {
    const since = NOW - DAY;
    const o = await store.overview({ since, now: NOW });
    const db = s.writer;
    assert.equal(
      o.counts.alerts,
      count(db, "SELECT count(*) AS n FROM alerts WHERE timestamp >= ?", iso(since)),
    );
    assert.equal(
      o.counts.critical,
      count(
        db,
        "SELECT count(*) AS n FROM alerts WHERE timestamp >= ? AND lower(severity) IN ('critical', 'crit')",
        iso(since),
      ),
    );
    let events = 0;
    for (
      const [t, c] of [
        ["alerts", "timestamp"],
        ["auth_events", "timestamp"],
        ["firewall_events", "timestamp"],
        ["system_events", "timestamp"],
        ["objects", "synced_at"],
      ]
    ) {
      events += count(db, `SELECT count(*) AS n FROM ${t} WHERE ${c} >= ?`, iso(since));
    }
    assert.equal(o.counts.events, events);
    // The seed leaves three hosts silent and three stale at a 60 s interval.
    assert.deepEqual(o.counts.hosts, { ok: 2, stale: 3, silent: 3, unknown: 0 });
    assert.ok(o.topRules.length > 0 && o.topRules.length <= 10);
    assert.ok(
      o.topRules.every((r, i, a) => i === 0 || (a[i - 1] as { count: number }).count >= r.count),
    );
    assert.equal(o.topHosts.reduce((a, r) => a + r.count, 0) <= o.counts.alerts, true);
    const failed = count(
      db,
      `SELECT count(*) AS n FROM auth_events WHERE timestamp >= ? AND src_ip = ? AND outcome = 'failure' AND coalesce(method, '') <> 'pam_unix'`,
      iso(since),
      o.topFailedSources[0]?.key ?? "",
    );
    assert.equal(o.topFailedSources[0]?.count, failed);
    assert.ok(o.latestCritical.every((a) => /^crit/i.test(a.severity ?? "")));
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store series has every bucket, and its sums are the range's counts", async () => {
  const s = await seeded();
  const store = await openSqliteStore({ database: s.database });
  try {
    const since = NOW - DAY;
    const hourly = await store.series({ since, until: NOW });
    assert.equal(hourly.length, 24);
    assert.equal(hourly[0]?.t, since);
    const alerts = hourly.reduce(
      (a, b) => a + Object.values(b.alerts).reduce((x, y) => x + y, 0),
      0,
    );
    assert.equal(
      alerts,
      count(
        s.writer,
        "SELECT count(*) AS n FROM alerts WHERE timestamp >= ? AND timestamp < ?",
        iso(since),
        iso(NOW),
      ),
    );
    const auth = hourly.reduce((a, b) => a + (b.events.auth ?? 0), 0);
    assert.equal(
      auth,
      count(
        s.writer,
        "SELECT count(*) AS n FROM auth_events WHERE timestamp >= ? AND timestamp < ?",
        iso(since),
        iso(NOW),
      ),
    );
    const sixHours = await store.series({ since, until: NOW, bucketMs: 6 * 3_600_000 });
    assert.equal(sixHours.length, 4);
    const quarter = await store.series({
      since: NOW - 3_600_000,
      until: NOW,
      bucketMs: 15 * 60_000,
      host: "vm-01",
    });
    assert.equal(quarter.length, 4);
    await assert.rejects(store.series({ since, bucketMs: 7_000 }), RangeError);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store alert pages are keyset pages: complete, in order, stable while the central inserts", async () => {
  const s = await seeded();
  const store = await openSqliteStore({ database: s.database });
  try {
    const expected = (s.writer.prepare(
      `SELECT rowid AS seq FROM alerts WHERE host = 'vm-02' ORDER BY timestamp DESC, rowid DESC`,
    ).all() as Array<{ seq: number }>).map((r) => r.seq);
    const seen: number[] = [];
    let page = await store.alerts({ host: "vm-02", limit: 97 });
    let pages = 1;
    for (;;) {
      seen.push(...page.rows.map((r) => r.seq));
      // The central keeps writing: newer alerts, and alerts at the cursor's very timestamp.
      const last = page.rows.at(-1) as AlertRow;
      insertAlert(s.writer, { timestamp: iso(NOW + pages * 1000), host: "vm-02", rule: "new" });
      insertAlert(s.writer, { timestamp: last.timestamp, host: "vm-02", rule: "same-time" });
      if (!page.next) break;
      page = await store.alerts({ host: "vm-02", limit: 97, cursor: page.next });
      pages++;
    }
    assert.deepEqual(seen, expected);
    assert.ok(pages > 3);
    await assert.rejects(store.alerts({ cursor: "bm90IGEgY3Vyc29y" }), RangeError);
    await assert.rejects(store.alerts({ cursor: "%%%" }), RangeError);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store alert filters are bound values: hostile text matches itself only", async () => {
  const s = await seeded({ alerts: 500, auth: 100 });
  const store = await openSqliteStore({ database: s.database });
  try {
    const t = iso(NOW - 1000);
    const hostile = "' OR 1=1 --";
    const a = insertAlert(s.writer, {
      timestamp: t,
      host: hostile,
      rule: "r%",
      message: "100% sure",
    });
    const b = insertAlert(s.writer, {
      timestamp: t,
      host: "vm-x",
      rule: "under_score",
      message: "a\0b",
    });
    const c = insertAlert(s.writer, {
      timestamp: t,
      host: "vm-x",
      rule: "plain",
      severity: "CRIT",
      source: 'yara"; DROP TABLE alerts; --',
    });
    const seqs = async (f: Parameters<typeof store.alerts>[0]) =>
      (await store.alerts({ limit: 1000, ...f })).rows.map((r) => r.seq);
    assert.deepEqual(await seqs({ host: hostile }), [a]);
    assert.deepEqual(await seqs({ rule: hostile }), []);
    assert.deepEqual(await seqs({ text: "%" }), [a]);
    assert.deepEqual(await seqs({ text: "r_s" }), [b]);
    assert.deepEqual(await seqs({ text: "\0" }), [b]);
    assert.deepEqual(await seqs({ text: "1=1" }), [a]);
    assert.deepEqual(await seqs({ source: 'yara"; DROP TABLE alerts; --' }), [c]);
    assert.deepEqual(await seqs({ host: "vm-x", severities: ["critical"] }), [c]);
    assert.deepEqual(await seqs({ host: "vm-x", severities: ["Crit"] }), [c]);
    assert.deepEqual(await seqs({ text: "SURE" }), [a]);
    // Filters together, and each row passes every one.
    const mixed = (await store.alerts({
      host: "vm-01",
      severities: ["high", "medium"],
      since: NOW - DAY,
      limit: 1000,
    })).rows;
    assert.ok(mixed.length > 0);
    assert.ok(
      mixed.every((r) =>
        r.host === "vm-01" && /^(high|medium)$/.test(r.severity ?? "") &&
        Date.parse(r.timestamp) >= NOW - DAY
      ),
    );
    assert.equal(
      mixed.length,
      count(
        s.writer,
        "SELECT count(*) AS n FROM alerts WHERE host = 'vm-01' AND severity IN ('high', 'medium') AND timestamp >= ?",
        iso(NOW - DAY),
      ),
    );
    assert.equal(count(s.writer, "SELECT count(*) AS n FROM alerts"), 503);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store export yields the filtered set page by page, newest first", async () => {
  const s = await seeded();
  const store = await openSqliteStore({ database: s.database });
  try {
    const all: AlertRow[] = [];
    for await (const rows of store.exportAlerts({ rule: "sshd_brute_force" }, 100)) {
      assert.ok(rows.length <= 100);
      all.push(...rows);
    }
    assert.equal(
      all.length,
      count(s.writer, "SELECT count(*) AS n FROM alerts WHERE rule = 'sshd_brute_force'"),
    );
    assert.ok(all.every((r, i) => i === 0 || (all[i - 1] as AlertRow).timestamp >= r.timestamp));
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store alert detail has the raw event and the stored sample with the same SHA-256", async () => {
  const s = await seeded();
  const store = await openSqliteStore({ database: s.database });
  try {
    const sample = s.writer.prepare(`SELECT sha256, remote FROM objects LIMIT 1`).get() as {
      sha256: string;
      remote: string;
    };
    const seq = insertAlert(s.writer, {
      timestamp: iso(NOW),
      host: "vm-01",
      rule: "Mimikatz",
      hash: sample.sha256.toUpperCase(),
      raw: '{"rule":"Mimikatz"}',
    });
    const d = await store.alert(seq);
    assert.ok(d);
    assert.equal(d.raw, '{"rule":"Mimikatz"}');
    assert.deepEqual(d.objects.map((o) => o.remote), [sample.remote]);
    assert.deepEqual(d.triage, []);
    assert.equal(d.alert.status, "open");
    assert.equal(await store.alert(10_000_000), undefined);
  } finally {
    await store.close();
    await s.cleanup();
  }
});
