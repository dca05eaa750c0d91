/**
 * The store's links between samples and alerts (alertsForHashes) and the
 * agentless collector's reachability in host rows.
 */

import assert from "node:assert/strict";
import { openSqliteStore } from "../../store/sqlite.ts";
import { recordVmStatus } from "../../siem/vms.ts";
import { insertAlert, NOW, seeded } from "./_fixture.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const H = "5e".repeat(32);
const OTHER = "7a".repeat(32);

Deno.test("store alertsForHashes counts the alerts that name each hash, in any case, as bound values", async () => {
  const s = await seeded({ alerts: 200, auth: 10 });
  insertAlert(s.writer, { timestamp: iso(NOW - 3000), host: "vm-1", hash: H.toUpperCase() });
  insertAlert(s.writer, { timestamp: iso(NOW - 2000), host: "vm-2", hash: ` ${H} ` });
  insertAlert(s.writer, { timestamp: iso(NOW - 1000), host: "vm-1", hash: H });
  insertAlert(s.writer, { timestamp: iso(NOW), host: "vm-1", message: `mentions ${OTHER}` });
  const store = await openSqliteStore({ database: s.database });
  try {
    assert.deepEqual(await store.alertsForHashes([H.toUpperCase(), OTHER, H]), [
      { sha256: H, alerts: 3, last: iso(NOW - 1000) },
    ], "a hash only in a message is not the alert's hash");
    assert.deepEqual(await store.alertsForHashes([H], { host: "vm-1" }), [
      { sha256: H, alerts: 2, last: iso(NOW - 1000) },
    ], "one host's alerts only");
    assert.deepEqual(await store.alertsForHashes([H], { host: "' OR 1=1 --" }), []);
    assert.deepEqual(await store.alertsForHashes([]), []);
    await assert.rejects(store.alertsForHashes(["' OR 1=1 --"]), RangeError);
    await assert.rejects(store.alertsForHashes([H.slice(0, 63)]), /64 hex digits/);
    // 501 hashes take two reads; the answer is the same.
    const many = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(64, "0"));
    assert.deepEqual((await store.alertsForHashes([...many, H])).map((r) => r.alerts), [3]);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store host rows carry the agentless collector's reach and reason, null for agents", async () => {
  const s = await seeded({ alerts: 50, auth: 10 });
  const store = await openSqliteStore({ database: s.database });
  try {
    const before = await store.hosts({ now: NOW });
    assert.ok(before.every((h) => h.reach === null && h.reach_reason === null));
    const [first, second] = before.map((h) => h.host);
    assert.ok(first && second);
    assert.ok(recordVmStatus(s.database, first, "unreachable", "host key changed"));
    assert.ok(recordVmStatus(s.database, second, "ok", null));
    assert.ok(recordVmStatus(s.database, "pulled-only", "unreachable", "auth refused"));
    const hosts = new Map((await store.hosts({ now: NOW })).map((h) => [h.host, h]));
    assert.equal(hosts.get(first)?.reach, "unreachable");
    assert.equal(hosts.get(first)?.reach_reason, "host key changed");
    assert.match(String(hosts.get(first)?.reach_at), /^\d{4}-\d\d-\d\dT/);
    assert.equal(hosts.get(second)?.reach, "ok");
    assert.equal(hosts.get(second)?.reach_reason, null);
    // A host the collector dials but that never sent anything: unknown, with its reason.
    assert.equal(hosts.get("pulled-only")?.status, "unknown");
    assert.equal(hosts.get("pulled-only")?.reach_reason, "auth refused");
    const one = await store.host(first, { now: NOW });
    assert.equal(one?.host.reach_reason, "host key changed");
  } finally {
    await store.close();
    await s.cleanup();
  }
});
