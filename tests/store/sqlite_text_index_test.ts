/**
 * The alerts' text index (store/_sqlite_text_index.ts) on real SQLite files:
 * every text filter answers exactly what the scan answers, before and after
 * rows are archived, added and their rowids reused, after a build killed
 * half-way, and a read-only database gets no sidecar.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { insertAlert, seeded } from "./_fixture.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import type { AlertFilter, SiemStore } from "../../store/types.ts";
import { _TextIndex } from "../../store/_sqlite_text_index.ts";
import { _ftsQuery } from "../../store/_sqlite_text_terms.ts";
import { _textIndexPath } from "../../store/_sqlite_text_limits.ts";
import { _buildTextIndex } from "../../store/_sqlite_text_build.ts";
import { _Db, _openReadOnly } from "../../store/_sqlite_db.ts";

const TEXTS = [
  "%",
  "_",
  "\\",
  "a%b",
  "r_s",
  "50%_\\x",
  "WeBsHeLl",
  "webshell",
  "Webshell_PHP",
  "é",
  "École",
  "ÉCOLE",
  "straße",
  "Ünïcödé",
  "\0",
  "nul\0here",
  "après",
  "and more",
  "AND MORE",
  "a",
  "ab",
  "vm",
  "no-such-thing",
  "Mimikatz_Strings",
  " matched /var",
  "uploads/",
  ".php",
  "deadbeefcafe",
  "vm-03",
  'say "hi"',
  "'; DROP TABLE alerts; --",
  "AND",
  "NEAR(x y)",
  "col*",
  "^start",
  "rule-in-col",
  "msg-in-col",
  "file-in-col",
  "hash-in-col",
  "host-in-col",
  "  ",
];

/** Rows that put each tricky text somewhere (one per column for the column cases). */
function addTricky(w: DatabaseSync, ts: string): number[] {
  const rows = [
    { rule: "rule-in-col-X", message: "plain" },
    { message: "a msg-in-col here" },
    { file: "/tmp/FILE-IN-COL.bin" },
    { hash: "00hash-in-col00" },
    { host: "edge-host-in-col" },
    { message: "100% sure, 50%_\\x done", rule: "R_S" },
    { message: "l'ÉCOLE et l'école", file: "/srv/straße" },
    { message: "Ünïcödé ünïcödé", host: "vm-03" },
    { message: "has a nul\0here and more" },
    { message: "nul first\0après coup", rule: "x\0AND MORE" },
    { message: 'they say "hi" AND NEAR(x y) col* ^start' },
    { message: "'; DROP TABLE alerts; --" },
    { hash: "DEADBEEFCAFE0001", rule: "Webshell_PHP_Generic" },
    { message: "back\\slash", file: null, host: null },
  ];
  return rows.map((r) => insertAlert(w, { timestamp: ts, severity: "high", ...r }));
}

async function allSeqs(store: SiemStore, f: AlertFilter): Promise<number[]> {
  const out: number[] = [];
  for await (const page of store.exportAlerts(f, 500)) out.push(...page.map((r) => r.seq));
  return out;
}

async function assertSame(database: string, label: string): Promise<void> {
  // Unbounded scans on both sides: a page the 100 ms budget cut short (a loaded machine, texts
  // the index cannot serve) would differ from the other side's without either being wrong.
  const whole = { budgetMs: 1e9 };
  const scan = await openSqliteStore({ database, textIndex: false, textScan: whole });
  const indexed = await openSqliteStore({ database, textScan: whole });
  try {
    for (const text of TEXTS) {
      for (const f of [{ text }, { text, host: "vm-03" }, { text, severities: ["high"] }]) {
        const want = await allSeqs(scan, f);
        const got = await allSeqs(indexed, f);
        assert.deepEqual(got, want, `${label}: ${JSON.stringify(f)}`);
      }
      const page = await indexed.alerts({ text, limit: 7 });
      assert.deepEqual(page, await scan.alerts({ text, limit: 7 }), `${label}: page of ${text}`);
    }
  } finally {
    await indexed.close();
    await scan.close();
  }
}

function indexOf(database: string): { idx: _TextIndex; close(): void } {
  const db = new _Db(_openReadOnly(database));
  const idx = new _TextIndex(db, database, { background: false });
  db.textIndex = idx;
  return {
    idx,
    close() {
      idx.close();
      db.close();
    },
  };
}

Deno.test("text index: the query is the text's 3-character windows, short or NUL texts none", () => {
  assert.equal(_ftsQuery("ab"), undefined);
  assert.equal(_ftsQuery("a\0bcd"), undefined);
  assert.equal(_ftsQuery("abcd"), `"abc" AND "bcd"`);
  assert.equal(_ftsQuery('a"bc'), `"a""b" AND """bc"`);
  assert.equal(_ftsQuery("éçàü"), `"éçà" AND "çàü"`);
  assert.equal(_ftsQuery("x".repeat(5)), `"xxx"`);
  assert.equal((_ftsQuery("abcdefghijklmnopqrstuvwxyz") ?? "").split(" AND ").length, 12);
});

Deno.test("text index: results equal the scan's, through archiving, inserts and reused rowids", async () => {
  const s = await seeded({ alerts: 4000, auth: 10 });
  try {
    const ts = new Date(s.now - 3_600_000).toISOString();
    addTricky(s.writer, ts);
    // Built in small steps, as the background does.
    assert.equal(_buildTextIndex(s.database, { stepRows: 700 }).done, true);
    const { idx, close } = indexOf(s.database);
    try {
      assert.ok(idx.candidates("no-such-thing"), "a built index answers");
      assert.deepEqual(idx.candidates("no-such-thing")?.rowids, []);
      assert.equal(idx.candidates("ab"), undefined, "2 characters: the scan");
    } finally {
      close();
    }
    await assertSame(s.database, "built");

    // The archiver takes the oldest rows and some in the middle; the central adds rows.
    s.writer.exec("DELETE FROM alerts WHERE rowid <= 1500 OR rowid BETWEEN 2000 AND 2100");
    addTricky(s.writer, new Date(s.now).toISOString());
    await assertSame(s.database, "archived and added, not indexed yet");
    _buildTextIndex(s.database);
    await assertSame(s.database, "archived and added, indexed");

    // The newest rows archived and their rowids given to new rows holding other texts.
    const max = Number(
      (s.writer.prepare("SELECT max(rowid) AS m FROM alerts").get() as { m: number }).m,
    );
    s.writer.prepare("DELETE FROM alerts WHERE rowid > ?").run(max - 20);
    const reused = insertAlert(s.writer, {
      timestamp: ts,
      message: "reused-rowid-text",
      rule: "no-such-rule",
    });
    assert.ok(reused <= max, "the rowid came back");
    const store = await openSqliteStore({ database: s.database });
    try {
      assert.deepEqual(await allSeqs(store, { text: "reused-rowid-text" }), [reused]);
    } finally {
      await store.close();
    }
    await assertSame(s.database, "rowids reused");
  } finally {
    await s.cleanup();
  }
});

Deno.test("text index: catches up after inserts; a sidecar of another database is not trusted", async () => {
  const s = await seeded({ alerts: 3000, auth: 10 });
  const other = await seeded({ alerts: 3000, auth: 10 });
  try {
    _buildTextIndex(s.database);
    const store = await openSqliteStore({ database: s.database });
    try {
      const a = insertAlert(s.writer, {
        timestamp: new Date(s.now).toISOString(),
        file: "/x/fresh",
      });
      assert.deepEqual(await allSeqs(store, { text: "x/fresh" }), [a]);
      // The query stepped the index past the new row.
      const { idx, close } = indexOf(s.database);
      try {
        assert.ok((idx.candidates("x/fresh")?.rowids ?? []).includes(a));
      } finally {
        close();
      }
    } finally {
      await store.close();
    }
    // Another database's rows at the same rowids: the fingerprint differs, the index is rebuilt.
    other.writer.prepare("UPDATE alerts SET message = 'other-db-text' WHERE rowid = 10").run();
    await Deno.copyFile(_textIndexPath(s.database), _textIndexPath(other.database));
    insertAlert(other.writer, {
      timestamp: new Date(s.now).toISOString(),
      message: "other-db-max",
    });
    await assertSame(other.database, "copied sidecar");
    const st = await openSqliteStore({ database: other.database });
    try {
      assert.equal((await allSeqs(st, { text: "other-db-text" })).length, 1);
    } finally {
      await st.close();
    }
  } finally {
    await s.cleanup();
    await other.cleanup();
  }
});

Deno.test("text index: a build killed half-way is resumed, never trusted past what it holds", async () => {
  const s = await seeded({ alerts: 12000, auth: 10 });
  try {
    addTricky(s.writer, new Date(s.now).toISOString());
    const mod = new URL("../../store/_sqlite_text_build.ts", import.meta.url).href;
    const script = `
      import { _buildTextIndex } from ${JSON.stringify(mod)};
      for (let i = 0; ; i++) {
        const { done } = _buildTextIndex(${
      JSON.stringify(s.database)
    }, { stepRows: 300, maxSteps: 1 });
        if (i === 3) console.log("started");
        if (done) break;
      }
      console.log("done");
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("started")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    child.kill("SIGKILL");
    clearTimeout(killer);
    await child.status;
    await reader.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    assert.ok(out.includes("started"), `the child built some steps: ${out}`);
    assert.ok(!out.includes("done"), "killed before the end");
    await assertSame(s.database, "after a killed build");
    assert.equal(_buildTextIndex(s.database).done, true);
    await assertSame(s.database, "resumed");
  } finally {
    await s.cleanup();
  }
});

Deno.test("text index: a read-only database gets no sidecar and the scan's answers", async () => {
  const s = await seeded({ alerts: 2000, auth: 10 });
  try {
    addTricky(s.writer, new Date(s.now).toISOString());
    s.writer.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    await Deno.chmod(s.database, 0o444);
    const store = await openSqliteStore({ database: s.database });
    try {
      assert.equal((await allSeqs(store, { text: "msg-in-col" })).length, 1);
    } finally {
      await store.close();
    }
    await assert.rejects(Deno.stat(_textIndexPath(s.database)), Deno.errors.NotFound);
    await assertSame(s.database, "read-only");
    await assert.rejects(Deno.stat(_textIndexPath(s.database)), Deno.errors.NotFound);
  } finally {
    await Deno.chmod(s.database, 0o644);
    await s.cleanup();
  }
});

Deno.test("text index: textIndex false, or SLUICE_TEXT_INDEX=off, creates nothing", async () => {
  const s = await seeded({ alerts: 500, auth: 10 });
  try {
    const store = await openSqliteStore({ database: s.database, textIndex: false });
    try {
      await store.alerts({ text: "webshell" });
    } finally {
      await store.close();
    }
    await assert.rejects(Deno.stat(_textIndexPath(s.database)), Deno.errors.NotFound);
    Deno.env.set("SLUICE_TEXT_INDEX", "off");
    try {
      const plain = await openSqliteStore({ database: s.database });
      try {
        await plain.alerts({ text: "webshell" });
      } finally {
        await plain.close();
      }
    } finally {
      Deno.env.delete("SLUICE_TEXT_INDEX");
    }
    await assert.rejects(Deno.stat(_textIndexPath(s.database)), Deno.errors.NotFound);
  } finally {
    await s.cleanup();
  }
});
