/**
 * The SQLite store's read connection prepares each statement once and
 * keeps a bounded number: node:sqlite in Deno 2.9.6 frees a statement only
 * when the garbage collector takes its object, so a prepare per call grew
 * the central's memory by about 2.7 KB a call.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { _Db, _MAX_STATEMENTS } from "../../store/_sqlite_db.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { insertAlert, NOW, seeded } from "./_fixture.ts";
import { runWithDeadline } from "../_peers.ts";

Deno.test("store read connection: a statement text is prepared once, and at most _MAX_STATEMENTS are kept", () => {
  const db = new _Db(new DatabaseSync(":memory:"));
  try {
    db.db.exec("CREATE TABLE t (a INTEGER)");
    for (let i = 0; i < 100; i++) db.all("SELECT a FROM t WHERE a = ?", [i]);
    assert.deepEqual(db.statements, { kept: 1, prepared: 1 });
    // Columns asked again (a writer may add some) reuse their statement too.
    for (let i = 0; i < 100; i++) assert.ok(db.cols("t", true).has("a"));
    assert.deepEqual(db.statements, { kept: 2, prepared: 2 });
    for (let i = 0; i < 3 * _MAX_STATEMENTS; i++) db.all(`SELECT a, ${i} AS n FROM t`);
    assert.equal(db.statements.kept, _MAX_STATEMENTS);
    // The most recently used stay: the last text is still kept, not prepared again.
    const before = db.statements.prepared;
    db.all(`SELECT a, ${3 * _MAX_STATEMENTS - 1} AS n FROM t`);
    assert.equal(db.statements.prepared, before);
  } finally {
    db.close();
  }
});

/**
 * The calls of the memory check, run in a child process of its own: in the parallel suite this
 * process's RSS also holds what other test files allocate at the same time.
 */
const CHILD = `
import { openSqliteStore } from "${new URL("../../store/sqlite.ts", import.meta.url).href}";
import { NOW, seeded } from "${new URL("./_fixture.ts", import.meta.url).href}";
const s = await seeded({ alerts: 2000, auth: 100 });
const store = await openSqliteStore({ database: s.database });
try {
  // Triaged alerts, so every page looks up statuses; and hashes to look up.
  const first = await store.alerts({ limit: 30 });
  for (const a of first.rows.slice(0, 10)) {
    await store.ui.triage({ alert: a.seq, status: "acknowledged", by: "test", now: NOW });
  }
  const hashes = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(64, "0"));
  const round = async (i) => {
    // Page lengths and list lengths vary: each used to be a statement text of its own.
    await store.alerts({ limit: 1 + (i % 40) });
    await store.alerts({ status: "acknowledged", limit: 1 + (i % 7) });
    await store.alertsForHashes(hashes.slice(0, 1 + (i % 40)));
    await store.hosts({ now: NOW });
  };
  for (let i = 0; i < 200; i++) await round(i);
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 5_000; i++) await round(i);
  const grown = (Deno.memoryUsage().rss - before) / 1e6;
  const acked = await store.alerts({ status: "acknowledged", limit: 50 });
  console.log(JSON.stringify({
    grown,
    acked: acked.rows.length,
    allAcked: acked.rows.every((r) => r.status === "acknowledged"),
  }));
} finally {
  await store.close();
  await s.cleanup();
}
`;

Deno.test("store reads reuse their prepared statements: 20,000 alert pages, hash look-ups and host lists keep memory flat", async () => {
  const out = await runWithDeadline(Deno.execPath(), ["eval", "--quiet", "--ext=ts", CHILD], {
    timeoutMs: 120_000,
    what: "the store's 20,000 calls",
  });
  const text = out.stdout;
  assert.equal(out.code, 0, text + out.stderr);
  const r = JSON.parse(text.trim().split("\n").at(-1) ?? "{}");
  // In this child, prepared per call (the code before 9a0928e) these 20,000 calls grew RSS by
  // 107 MB (two runs); reused, by 21.8 MB (three runs: the SQLite page cache and V8's heap
  // growing). Half the way between: a leak fails, noise does not.
  assert.ok(r.grown < 50, `RSS grew by ${Number(r.grown).toFixed(1)} MB over 20,000 calls`);
  // Still right: the statuses and hash counts the one-statement forms give.
  assert.equal(r.acked, 10);
  assert.equal(r.allAcked, true);
});

Deno.test("store alert text filter: LIKE for ASCII, the same matches as lower() + instr() for any text", async () => {
  const s = await seeded({ alerts: 50, auth: 10 });
  const store = await openSqliteStore({ database: s.database });
  try {
    const t = new Date(NOW - 1000).toISOString();
    const rows = [
      { rule: "Back\\slash", message: "ÄRGER über alles" },
      { rule: "MiXeD", message: "äh, 50%_off" },
      { rule: "nul", message: "x\0y" },
    ].map((r) => insertAlert(s.writer, { timestamp: t, host: "vm-txt", ...r }));
    const [slash, mixed, nul] = rows as [number, number, number];
    const seqs = async (text: string) =>
      (await store.alerts({ host: "vm-txt", text, limit: 100 })).rows.map((r) => r.seq).sort();
    assert.deepEqual(await seqs("k\\s"), [slash]);
    assert.deepEqual(await seqs("mixed"), [mixed]);
    assert.deepEqual(await seqs("0%_O"), [mixed]);
    assert.deepEqual(await seqs("%"), [mixed]);
    assert.deepEqual(await seqs("\0"), [nul]);
    // Past ASCII, as lower() + instr() did: the text lower-cased, the stored values folded in ASCII only.
    assert.deepEqual(await seqs("über"), [slash]);
    assert.deepEqual(await seqs("ÄH"), [mixed]);
    assert.deepEqual(await seqs("ärger"), []);
  } finally {
    await store.close();
    await s.cleanup();
  }
});
