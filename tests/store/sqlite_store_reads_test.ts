import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openSqliteStore } from "../../store/sqlite.ts";
import { count, DAY, insertAlert, iso, NOW, seeded } from "./_fixture.ts";

Deno.test("store hosts, host detail, auth, firewall, objects and rules", async () => {
  const s = await seeded();
  const store = await openSqliteStore({ database: s.database });
  try {
    const hosts = await store.hosts({ now: NOW });
    assert.equal(hosts.length, 8);
    assert.deepEqual(hosts.map((h) => h.status), [
      "ok",
      "ok",
      "stale",
      "stale",
      "stale",
      "silent",
      "silent",
      "silent",
    ]);
    assert.equal(
      hosts[0]?.alerts,
      count(s.writer, "SELECT count(*) AS n FROM alerts WHERE host = 'vm-01'"),
    );
    assert.deepEqual(hosts[0]?.services, ["alerts", "auth:sshd", "heartbeat"]);
    // A host's own heartbeat interval wins over the default; long after, every host is silent.
    assert.ok(
      (await store.hosts({ now: NOW + DAY, intervalMs: DAY })).every((h) => h.status === "silent"),
    );
    const d = await store.host("vm-01", { since: NOW - DAY, limit: 20, now: NOW });
    assert.ok(d);
    assert.equal(d.alerts.length, 20);
    assert.ok(d.timeline.length === 20 && d.timeline.every((e) => e.values.host === "vm-01"));
    assert.ok(d.auth.every((a) => a.host === "vm-01"));
    assert.equal(await store.host("nope"), undefined);

    const sources = await store.authSources({ failedOnly: true, limit: 5 });
    assert.equal(sources.length, 5);
    const top = sources[0]!;
    assert.equal(
      top.failures,
      count(
        s.writer,
        "SELECT count(*) AS n FROM auth_events WHERE src_ip = ? AND outcome = 'failure' AND coalesce(method, '') <> 'pam_unix'",
        top.src_ip,
      ),
    );
    const users = await store.authUsers({ limit: 3 });
    assert.ok(users.length === 3 && users[0]!.failures >= users[1]!.failures);
    const events = await store.authEvents({ srcIp: top.src_ip, limit: 10 });
    assert.ok(events.length === 10 && events.every((e) => e.src_ip === top.src_ip));
    const fw = await store.firewallSources({ limit: 3 });
    assert.ok(fw.length === 3 && fw[0]!.events >= fw[2]!.events);
    const ports = await store.firewallPorts({ action: "UFW BLOCK" });
    assert.equal(
      ports.reduce((a, p) => a + p.events, 0),
      count(s.writer, "SELECT count(*) AS n FROM firewall_events"),
    );
    const one =
      (s.writer.prepare(`SELECT sha256 FROM objects LIMIT 1`).get() as { sha256: string }).sha256;
    assert.equal((await store.objects({ sha256Prefix: one.slice(0, 10) }))[0]?.sha256, one);
    assert.deepEqual(
      await store.objects({
        sha256Prefix: one.slice(0, 63) + "x".replace("x", one[63] === "0" ? "1" : "0"),
      }),
      [],
    );
    await assert.rejects(store.objects({ sha256Prefix: "' OR 1=1" }), RangeError);
    const rules = await store.rules();
    assert.equal(
      rules.reduce((a, r) => a + r.hits, 0),
      count(s.writer, "SELECT count(*) AS n FROM alerts"),
    );
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store live tail reads what was stored after its cursor, filtered, and a paused reader loses nothing", async () => {
  const s = await seeded({ alerts: 200, auth: 200 });
  const store = await openSqliteStore({ database: s.database });
  try {
    let cursor = await store.tailStart({ severities: ["critical"] });
    assert.deepEqual((await store.tailRead(cursor, { severities: ["critical"] })).rows, []);
    for (let i = 0; i < 25; i++) {
      insertAlert(s.writer, {
        timestamp: iso(NOW + i),
        host: "vm-9",
        severity: i % 5 === 0 ? "critical" : "low",
        rule: `R${i}`,
      });
    }
    const got: string[] = [];
    // Five rows at most per read: the rest waits for the next one.
    for (let reads = 0; reads < 10; reads++) {
      const batch = await store.tailRead(cursor, { severities: ["critical"] }, 5);
      cursor = batch.cursor;
      got.push(...batch.rows.map((r) => String(r.values.rule)));
    }
    assert.deepEqual(got, ["R0", "R5", "R10", "R15", "R20"]);
    const since = await store.tailStart({ categories: ["alerts"], host: "vm-9", since: NOW + 20 });
    const later = await store.tailRead(since, { categories: ["alerts"], host: "vm-9" });
    assert.deepEqual(later.rows.map((r) => r.values.rule), ["R20", "R21", "R22", "R23", "R24"]);
    assert.ok(later.rows.every((r) => r.table === "alerts" && r.category === "alerts"));
    await assert.rejects(store.tailStart({ categories: ["bogus"] }), /--category/);
    await assert.rejects(store.tailRead("not-a-cursor"), RangeError);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store reads never write: sql refuses writes, and reading creates no table", async () => {
  const s = await seeded({ alerts: 100, auth: 100 });
  const tables = () =>
    (s.writer.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
      .all() as Array<{ name: string }>).map((r) => r.name);
  const before = tables();
  const store = await openSqliteStore({ database: s.database });
  try {
    await store.overview({ now: NOW });
    await store.alerts({ status: "closed" });
    assert.deepEqual(tables(), before);
    assert.deepEqual((await store.sql("SELECT count(*) AS n FROM alerts")).rows, [{ n: 100 }]);
    await assert.rejects(store.sql("DELETE FROM alerts"), /readonly|read-only/i);
    await assert.rejects(store.sql("SELECT 1; DELETE FROM alerts"), /one statement/);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store reads tables that do not exist yet as empty, and names a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const empty = new DatabaseSync(`${dir}/empty.db`);
    empty.exec("CREATE TABLE other (a)");
    empty.close();
    const store = await openSqliteStore({ database: `${dir}/empty.db` });
    try {
      assert.deepEqual(await store.alerts(), { rows: [], next: null });
      assert.equal((await store.overview()).counts.events, 0);
      assert.deepEqual(await store.hosts(), []);
      assert.deepEqual((await store.tailRead(await store.tailStart())).rows, []);
    } finally {
      await store.close();
    }
    await assert.rejects(openSqliteStore({ database: `${dir}/missing.db` }), /no database at/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store series reads the current hour fresh and reuses complete hours only for hourCacheMs", async () => {
  const s = await seeded({ alerts: 100, auth: 100 });
  const cached = await openSqliteStore({ database: s.database });
  const uncached = await openSqliteStore({ database: s.database, hourCacheMs: 0 });
  try {
    const now = Date.now();
    const since = now - 3 * 3_600_000;
    const total = (b: Awaited<ReturnType<typeof cached.series>>) =>
      b.reduce((a, x) => a + Object.values(x.alerts).reduce((p, q) => p + q, 0), 0);
    assert.equal(total(await cached.series({ since })), 0);
    insertAlert(s.writer, { timestamp: iso(Date.now() - 1), severity: "high" });
    assert.equal(total(await cached.series({ since })), 1);
    // A late alert for a complete past hour: the cache answers until its entry expires.
    insertAlert(s.writer, { timestamp: iso(since + 3_600_000 + 1), severity: "high" });
    assert.equal(total(await cached.series({ since })), 1);
    assert.equal(total(await uncached.series({ since })), 2);
  } finally {
    await cached.close();
    await uncached.close();
    await s.cleanup();
  }
});

Deno.test("store overview summed over cached hours equals the overview read at once", async () => {
  const s = await seeded();
  const cached = await openSqliteStore({ database: s.database });
  const direct = await openSqliteStore({ database: s.database, hourCacheMs: 0 });
  try {
    const ranges = [
      { since: NOW - DAY + 1234, now: NOW },
      { since: NOW - 2 * DAY - 777, until: NOW - 5 * 3_600_000 + 99, now: NOW },
      { since: NOW - 3 * 3_600_000, until: NOW - 3 * 3_600_000 + 60_000, now: NOW },
    ];
    for (const q of ranges) {
      const want = await direct.overview(q);
      assert.deepEqual(await cached.overview(q), want);
      // The second read comes from the cache.
      assert.deepEqual(await cached.overview(q), want);
    }
  } finally {
    await cached.close();
    await direct.close();
    await s.cleanup();
  }
});
