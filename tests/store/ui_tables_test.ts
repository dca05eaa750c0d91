import assert from "node:assert/strict";
import { openSqliteStore } from "../../store/sqlite.ts";
import { insertAlert, NOW, seeded } from "./_fixture.ts";
import { runWithDeadline } from "../_peers.ts";

const iso = (ms: number) => new Date(ms).toISOString();

Deno.test("store triage keeps every change, shows the latest, filters by it, and leaves the alert row as stored", async () => {
  const s = await seeded({ alerts: 300, auth: 10 });
  const store = await openSqliteStore({ database: s.database });
  try {
    const a = insertAlert(s.writer, {
      timestamp: iso(NOW + 1),
      host: "vm-t",
      rule: "R",
      raw: "raw-a",
    });
    const b = insertAlert(s.writer, {
      timestamp: iso(NOW + 2),
      host: "vm-t",
      rule: "R",
      raw: "raw-b",
    });
    const before = s.writer.prepare(`SELECT * FROM alerts WHERE rowid = ?`).get(a);
    await store.ui.triage({
      alert: a,
      status: "acknowledged",
      note: "looking",
      by: "ada",
      now: NOW + 10,
    });
    const closed = await store.ui.triage({
      alert: a,
      status: "closed",
      note: "' OR 1=1 -- false positive",
      by: "ada",
      now: NOW + 20,
    });
    assert.deepEqual(closed, {
      alert: a,
      status: "closed",
      note: "' OR 1=1 -- false positive",
      by: "ada",
      at: iso(NOW + 20),
    });
    await store.ui.triage({ alert: b, status: "acknowledged", by: "bob", now: NOW + 30 });
    const history = await store.ui.triageHistory(a);
    assert.deepEqual(history.map((t) => [t.status, t.note, t.by]), [
      ["acknowledged", "looking", "ada"],
      ["closed", "' OR 1=1 -- false positive", "ada"],
    ]);
    const detail = await store.alert(a);
    assert.equal(detail?.alert.status, "closed");
    assert.deepEqual(detail?.triage, history);
    const page = await store.alerts({ host: "vm-t" });
    assert.deepEqual(page.rows.map((r) => [r.seq, r.status]), [[b, "acknowledged"], [a, "closed"]]);
    assert.deepEqual((await store.alerts({ status: "closed" })).rows.map((r) => r.seq), [a]);
    assert.deepEqual((await store.alerts({ status: "acknowledged" })).rows.map((r) => r.seq), [b]);
    const open = await store.alerts({ status: "open", limit: 1000 });
    assert.equal(open.rows.length, 300);
    assert.ok(open.rows.every((r) => r.status === "open"));
    assert.deepEqual(s.writer.prepare(`SELECT * FROM alerts WHERE rowid = ?`).get(a), before);
    await assert.rejects(
      store.ui.triage({ alert: a, status: "deleted" as "closed", by: "ada" }),
      (err: Error) => err instanceof RangeError && /"status"/.test(err.message),
    );
    await assert.rejects(
      store.ui.triage({ alert: 99_999_999, status: "closed", by: "ada" }),
      /no alert with seq/,
    );
    assert.equal((await store.ui.triageHistory(a)).length, 2);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store users and sessions: unique names, roles checked, sessions expire and go with their user", async () => {
  const s = await seeded({ alerts: 10, auth: 10 });
  const store = await openSqliteStore({ database: s.database });
  try {
    const ui = store.ui;
    assert.equal(await ui.countUsers(), 0);
    assert.equal(
      await ui.addUser({ name: "ada", role: "admin", passwordHash: "$argon2id$x", now: NOW }),
      true,
    );
    assert.equal(await ui.addUser({ name: "ada", role: "viewer", passwordHash: "other" }), false);
    assert.equal(
      await ui.addUser({ name: "eve'; DROP TABLE users; --", role: "viewer", passwordHash: "h" }),
      true,
    );
    await assert.rejects(
      ui.addUser({ name: "x", role: "root" as "admin", passwordHash: "h" }),
      RangeError,
    );
    assert.deepEqual(await ui.getUser("ada"), {
      name: "ada",
      role: "admin",
      password_hash: "$argon2id$x",
      created: iso(NOW),
    });
    assert.equal(await ui.countUsers("admin"), 1);
    assert.equal(await ui.updateUser("ada", { passwordHash: "new" }), true);
    assert.equal((await ui.getUser("ada"))?.password_hash, "new");
    assert.equal((await ui.getUser("ada"))?.role, "admin");
    assert.equal(await ui.updateUser("nobody", { role: "viewer" }), false);
    assert.deepEqual((await ui.listUsers()).map((u) => u.name), [
      "ada",
      "eve'; DROP TABLE users; --",
    ]);

    await ui.addSession({
      tokenHash: "t1",
      user: "ada",
      expiresAt: NOW + 60_000,
      csrfSecret: "c1",
    });
    await ui.addSession({ tokenHash: "t2", user: "ada", expiresAt: NOW + 1000, csrfSecret: "c2" });
    assert.deepEqual(await ui.getSession("t1", NOW), {
      token_hash: "t1",
      user: "ada",
      expires: iso(NOW + 60_000),
      csrf_secret: "c1",
    });
    assert.equal(await ui.getSession("t2", NOW + 1000), undefined);
    assert.equal(await ui.touchSession("t2", NOW + 5000), true);
    assert.equal((await ui.getSession("t2", NOW + 1000))?.user, "ada");
    assert.equal(await ui.deleteExpiredSessions(NOW + 10_000), 1);
    assert.equal(await ui.getSession("t2", NOW), undefined);
    await ui.deleteSession("t1");
    assert.equal(await ui.getSession("t1", NOW), undefined);
    await ui.addSession({
      tokenHash: "t3",
      user: "ada",
      expiresAt: NOW + 60_000,
      csrfSecret: "c3",
    });
    assert.equal(await ui.deleteUser("ada"), true);
    assert.equal(await ui.getSession("t3", NOW), undefined);
    assert.equal(await ui.deleteUser("ada"), false);
    assert.equal(await ui.countUsers(), 1);
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store deleteSessionsOf() ends every session of one user, or all but the one given", async () => {
  const s = await seeded({ alerts: 1, auth: 1 });
  const store = await openSqliteStore({ database: s.database });
  const ui = store.ui;
  try {
    const add = (tokenHash: string, user: string) =>
      ui.addSession({ tokenHash, user, expiresAt: NOW + 60_000, csrfSecret: "c" });
    await add("a1", "ada");
    await add("a2", "ada");
    await add("a3", "ada");
    await add("b1", "bob");
    assert.equal(await ui.deleteSessionsOf("ada", "a2"), 2);
    assert.equal(await ui.getSession("a1", NOW), undefined);
    assert.equal((await ui.getSession("a2", NOW))?.user, "ada");
    assert.equal(await ui.getSession("a3", NOW), undefined);
    assert.equal((await ui.getSession("b1", NOW))?.user, "bob");
    assert.equal(await ui.deleteSessionsOf("ada"), 1);
    assert.equal(await ui.getSession("a2", NOW), undefined);
    assert.equal(await ui.deleteSessionsOf("nobody"), 0);
    assert.equal(await ui.deleteSessionsOf("' OR 1=1 --"), 0);
    assert.equal((await ui.getSession("b1", NOW))?.user, "bob");
  } finally {
    await store.close();
    await s.cleanup();
  }
});

Deno.test("store UI writes wait out the central's write lock", async () => {
  const s = await seeded({ alerts: 10, auth: 10 });
  const store = await openSqliteStore({ database: s.database, busyTimeoutMs: 10_000 });
  // The central in another thread holds the write lock for a moment.
  const code = `import { DatabaseSync } from "node:sqlite";
    self.onmessage = async (e) => {
      const db = new DatabaseSync(e.data);
      db.exec("BEGIN IMMEDIATE");
      self.postMessage("locked");
      await new Promise((r) => setTimeout(r, 300));
      db.exec("COMMIT");
      db.close();
      self.postMessage("released");
    };`;
  const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    await store.ui.countUsers(); // creates the tables
    const messages: string[] = [];
    const locked = new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error("the locking worker never took the lock")),
        10_000,
      );
      worker.onmessage = (e) => {
        messages.push(e.data);
        if (e.data === "locked") {
          clearTimeout(deadline);
          resolve();
        }
      };
    });
    worker.postMessage(s.database);
    await locked;
    assert.equal(await store.ui.addUser({ name: "ada", role: "admin", passwordHash: "h" }), true);
    assert.equal((await store.ui.getUser("ada"))?.role, "admin");
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
    await store.close();
    await s.cleanup();
  }
});

/**
 * The calls of the memory check, in a child process of its own: in the parallel suite this
 * process's RSS also holds what other test files allocate at the same time.
 */
const UI_CHILD = `
import { openSqliteStore } from "${new URL("../../store/sqlite.ts", import.meta.url).href}";
import { NOW, seeded } from "${new URL("./_fixture.ts", import.meta.url).href}";
const s = await seeded({ alerts: 1, auth: 1 });
const store = await openSqliteStore({ database: s.database });
try {
  await store.ui.addSession({ tokenHash: "t", user: "ada", expiresAt: NOW + 60_000, csrfSecret: "c" });
  await store.ui.getSession("t", NOW);
  const before = Deno.memoryUsage().rss;
  for (let i = 0; i < 20_000; i++) {
    await store.ui.getSession("t", NOW);
    await store.ui.getUser("ada");
  }
  console.log((Deno.memoryUsage().rss - before) / 1e6);
} finally {
  await store.close();
  await s.cleanup();
}
`;

Deno.test("store UI calls reuse their prepared statements: 20,000 session checks keep memory flat", async () => {
  const out = await runWithDeadline(Deno.execPath(), ["eval", "--quiet", "--ext=ts", UI_CHILD], {
    timeoutMs: 120_000,
    what: "the store's 40,000 UI calls",
  });
  assert.equal(out.code, 0, out.stdout + out.stderr);
  const grown = Number(out.stdout.trim().split("\n").at(-1));
  // node:sqlite keeps every prepared statement until the connection closes (2.6 KB each): in this
  // child, preparing per call (the code before fbd9737) grew it by 162.2 MB; now by 3.3 MB.
  assert.ok(grown < 30, `RSS grew by ${grown.toFixed(1)} MB over 40,000 calls`);
});
