/**
 * The Alerts page and its export span the database and the Parquet
 * archive: after `--retain-db` moved old rows out (the real archiver), a
 * 60-day range shows the same rows, in the same order and pages, as before;
 * hostile values stay text; filters stay values; a broken archive gives a
 * message and the database's rows.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedSiem } from "../../bench/seed_siem.ts";
import { archiveOnce } from "../../archive/mover.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import { createUiApp } from "../../ui/app.ts";
import { archiveDays } from "../../ui/alerts_span.ts";
import { hashPassword } from "../../ui/password.ts";
import { ADMIN, type Fixture, type Jar, login, req } from "./_fixture.ts";

const DAY = 86_400_000;

/** The hostile alerts, 50 days old: they end up in the archive. */
const HOSTILE = [
  ["<script>window.__xss=1</script>", `"><img src=x onerror="window.__xss=2">`],
  ["javascript:window.__xss=3", "<svg onload=window.__xss=4>"],
] as const;

interface _Setup {
  dir: string;
  database: string;
  archives: string;
  f: Fixture;
  jar: Jar;
  close(): Promise<void>;
}

async function _setup(): Promise<_Setup> {
  const now = Date.now();
  const dir = await Deno.makeTempDir({ prefix: "sluice-ui-archive-" });
  const database = `${dir}/siem.db`;
  const archives = `${dir}/archives`;
  await seedSiem(database, {
    alerts: 800,
    auth: 50,
    firewall: 10,
    system: 10,
    hosts: 4,
    days: 60,
    now,
  });
  const db = new DatabaseSync(database);
  try {
    const insert = db.prepare(
      `INSERT INTO alerts (id, timestamp, host, severity, rule, file, hash, message, source, raw)
       VALUES (?, ?, ?, 'critical', ?, ?, ?, ?, 'yara', '{}')`,
    );
    HOSTILE.forEach(([rule, message], i) => {
      const ts = new Date(now - 50 * DAY + i * 1000).toISOString();
      insert.run(`hostile-${i}`, ts, "vm-01", rule, rule, message, message);
    });
  } finally {
    db.close();
  }
  const store = await openSqliteStore({ database });
  await store.ui.addUser({
    name: ADMIN.user,
    role: "admin",
    passwordHash: await hashPassword(ADMIN.password),
  });
  const app = createUiApp({ store, now: () => now, onError: () => {}, database });
  const f = { dir, database, store, app, now: { ms: now }, close: async () => {} } as Fixture;
  const { jar } = await login(f, ADMIN);
  return {
    dir,
    database,
    archives,
    f,
    jar,
    async close() {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** `from=` 60 days back, as the page's form sends it. */
function _from(now: number): string {
  return new Date(now - 60 * DAY).toISOString().slice(0, 16);
}

/** The rows of the table (links and status badges left out: archived rows have neither). */
function _rows(html: string): string[] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? "";
  return [...body.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
    (m[1] as string).replace(/<a [^>]*>|<\/a>/g, "").replace(
      /<td><span class="badge st-[^"]*">[^<]*<\/span><\/td>$/,
      "",
    )
  );
}

/** Every page of a filtered view, following "Older »". */
async function _walk(s: _Setup, query: string): Promise<{ rows: string[]; pages: string[] }> {
  const rows: string[] = [];
  const pages: string[] = [];
  let path: string | undefined = `/alerts?${query}`;
  for (let n = 0; path !== undefined; n++) {
    assert.ok(n < 200, "paging ends");
    const res = await req(s.f, s.jar, path);
    assert.equal(res.status, 200, path);
    const html = await res.text();
    pages.push(html);
    const page = _rows(html);
    assert.ok(page.length <= 50);
    rows.push(...page);
    const next = /<a href="(\/alerts\?[^"]*cursor=[^"]*)">Older »<\/a>/.exec(html)?.[1];
    path = next?.replaceAll("&amp;", "&");
  }
  return { rows, pages };
}

async function _export(s: _Setup, query: string, format: "csv" | "jsonl") {
  const res = await req(s.f, s.jar, `/alerts/export?${query}&format=${format}`);
  assert.equal(res.status, 200);
  return { text: await res.text(), archive: res.headers.get("x-sluice-archive") };
}

Deno.test("the Alerts page and its export span the database and the archive", async () => {
  const s = await _setup();
  try {
    const from = _from(s.f.now.ms);
    const views = [
      `from=${from}`,
      `from=${from}&severity=critical`,
      `from=${from}&host=vm-02&severity=high`,
      `from=${from}&text=${encodeURIComponent("window.__xss")}`,
      `range=all&rule=${encodeURIComponent("<script>window.__xss=1</script>")}`,
    ];
    const before = [];
    for (const v of views) {
      before.push({
        walk: await _walk(s, v),
        jsonl: await _export(s, v, "jsonl"),
        csv: await _export(s, v, "csv"),
      });
    }
    assert.ok(before[0]!.walk.rows.length > 600, "the 60-day view holds most alerts");
    assert.equal(before[3]!.walk.rows.length, 2, "the text filter finds both hostile alerts");

    const moved = await archiveOnce({
      database: s.database,
      dir: s.archives,
      retainDbMs: 30 * DAY,
    });
    assert.ok((moved.byTable.alerts ?? 0) > 300, "about half the alerts moved");
    const live = new DatabaseSync(s.database, { readOnly: true });
    try {
      const { n } = live.prepare("SELECT count(*) AS n FROM alerts WHERE id LIKE 'hostile-%'")
        .get() as { n: number };
      assert.equal(n, 0, "the hostile alerts are in the archive");
    } finally {
      live.close();
    }
    // The last 24 h are the database's alone: no archived day in range, DuckDB not needed.
    assert.deepEqual(await archiveDays(s.archives, { since: s.f.now.ms - DAY }), []);
    assert.ok((await archiveDays(s.archives, { since: s.f.now.ms - 60 * DAY })).length >= 29);

    for (const [i, v] of views.entries()) {
      const after = await _walk(s, v);
      assert.deepEqual(after.rows, before[i]!.walk.rows, `same rows and order: ${v}`);
      assert.equal(after.pages.length, before[i]!.walk.pages.length, `same pages: ${v}`);
      assert.match(
        after.pages.at(-1)!,
        /archived alerts \(Parquet, moved by\s+--retain-db\) are included/,
      );
      const jsonl = await _export(s, v, "jsonl");
      assert.equal(jsonl.text, before[i]!.jsonl.text, `same JSONL export: ${v}`);
      assert.equal(jsonl.archive, "included");
      assert.equal((await _export(s, v, "csv")).text, before[i]!.csv.text, `same CSV: ${v}`);
    }

    // Hostile values from the archive are text.
    const hostile = (await _walk(s, views[3]!)).pages.join("\n");
    assert.match(hostile, /st-archived/);
    assert.match(hostile, /&lt;script&gt;window.__xss=1&lt;\/script&gt;/);
    assert.match(hostile, /&quot;&gt;&lt;img src=x onerror=/);
    assert.doesNotMatch(hostile, /<script>window|<img src=x|<svg onload|href="javascript:/);

    // Filters are values: quotes and SQL find nothing and break nothing.
    for (
      const evil of [
        `host=${encodeURIComponent("vm-01' OR '1'='1")}`,
        `text=${encodeURIComponent("'); DROP TABLE alerts; --")}`,
        `rule=${encodeURIComponent("x' UNION SELECT * FROM users --")}`,
      ]
    ) {
      const res = await req(s.f, s.jar, `/alerts?from=${from}&${evil}`);
      assert.equal(res.status, 200, evil);
      assert.deepEqual(_rows(await res.text()), [], evil);
    }
    assert.deepEqual((await _walk(s, views[0]!)).rows, before[0]!.walk.rows, "nothing dropped");

    // A triage filter leaves the archive out, and says so.
    const open = await (await req(s.f, s.jar, `/alerts?from=${from}&status=open`)).text();
    assert.match(open, /Archived alerts are left out: the archive keeps no triage status/);

    // A page link that is not ours is refused, not a 500.
    const bad = await req(s.f, s.jar, `/alerts?from=${from}&cursor=s.bm90LWpzb24`);
    assert.equal(bad.status, 400);

    // A broken archive: a message and the database's rows, never a 500.
    // In the newest archived day, which the first page's read covers.
    const newest = (await archiveDays(s.archives, {}))[0];
    await Deno.writeTextFile(`${s.archives}/alerts/date=${newest}/part-999.parquet`, "not parquet");
    const broken = await req(s.f, s.jar, `/alerts?from=${from}`);
    assert.equal(broken.status, 200);
    const html = await broken.text();
    assert.match(
      html,
      /The archive could not be read, so only the database&#39;s alerts are shown/,
    );
    assert.equal(_rows(html).length, 50);
    const exp = await _export(s, `from=${from}`, "jsonl");
    assert.match(exp.archive ?? "", /^failed: /);
    assert.ok(exp.text.split("\n").length > 300, "the database's rows are exported");
  } finally {
    await s.close();
  }
});
