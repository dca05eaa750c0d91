/**
 * The alerts page over a text scan that stops early (a store with a tiny
 * scan budget): an absent 2-character text says how far it searched and
 * links on instead of "No alerts."; following "Older »" to the end shows
 * every match once; the CSV and JSONL exports hold every match.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "../../bench/seed_siem.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { createUiApp } from "../../ui/app.ts";
import { hashPassword } from "../../ui/password.ts";
import { ADMIN, type Fixture, login, req } from "./_fixture.ts";

const DAY = 86_400_000;

Deno.test({
  name: "alerts page: a partial text scan says how far it searched, pages on to every match",
  sanitizeResources: false,
  fn: async () => {
    const now = Date.now();
    const dir = await Deno.makeTempDir({ prefix: "sluice-ui-partial-" });
    const database = `${dir}/siem.db`;
    await seedSiem(database, { alerts: 4000, auth: 10, hosts: 4, days: 5, now });
    const db = new DatabaseSync(database);
    const want: string[] = [];
    try {
      const insert = db.prepare(
        `INSERT INTO alerts (id, timestamp, host, severity, rule, file, hash, message, source, raw)
         VALUES (?, ?, 'vm-01', 'high', 'r', NULL, NULL, ?, 'yara', '{}')`,
      );
      for (let i = 0; i < 7; i++) {
        insert.run(`m-${i}`, new Date(now - (i + 0.5) * 0.7 * DAY).toISOString(), `a Qz ${i}`);
        want.push(`m-${i}`);
      }
    } finally {
      db.close();
    }
    const store = await openSqliteStore({
      database,
      textIndex: false,
      textScan: { budgetMs: 0, chunk: 300 },
    });
    try {
      await store.ui.addUser({
        name: ADMIN.user,
        role: "admin",
        passwordHash: await hashPassword(ADMIN.password),
      });
      const app = createUiApp({ store, now: () => now, onError: () => {}, database });
      const f = { dir, database, store, app, now: { ms: now }, close: async () => {} } as Fixture;
      const { jar } = await login(f, ADMIN);

      // An absent text: the first page says how far it got, and links on.
      const res = await req(f, jar, "/alerts?range=all&text=%22%3E");
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /No match among alerts newer than \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC yet/);
      assert.doesNotMatch(html, /No alerts\./);
      assert.match(html, /<a href="\/alerts\?[^"]*cursor=[^"]*">Older »<\/a>/);
      assert.doesNotMatch(html, /value=""><"/, "the text stays escaped");

      // Following "Older »" to the end shows every match once, in order.
      const seen: string[] = [];
      let partial = 0;
      let path: string | undefined = "/alerts?range=all&text=qz";
      for (let n = 0; path !== undefined; n++) {
        assert.ok(n < 500, "paging ends");
        const page: string = await (await req(f, jar, path)).text();
        if (/class="notice partial"/.test(page)) partial++;
        for (const m of page.matchAll(/a Qz (\d)/g)) seen.push(`m-${m[1]}`);
        path = /<a href="(\/alerts\?[^"]*cursor=[^"]*)">Older »<\/a>/.exec(page)?.[1]
          ?.replaceAll("&amp;", "&");
      }
      assert.deepEqual(seen, want);
      assert.ok(partial > 3, `pages stopped early: ${partial}`);

      // The exports follow the scan to the end.
      const csv = await (await req(f, jar, "/alerts/export?range=all&text=qz&format=csv")).text();
      assert.equal(csv.trim().split("\r\n").length, 1 + want.length);
      const jsonl = await (await req(f, jar, "/alerts/export?range=all&text=qz&format=jsonl"))
        .text();
      assert.deepEqual(jsonl.trim().split("\n").map((l) => JSON.parse(l).id), want);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
