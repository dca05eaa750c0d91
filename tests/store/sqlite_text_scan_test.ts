/**
 * The bounded text scan (store/_sqlite_text_scan.ts): over ~50k alerts with
 * a few matches spread among them, paging with a tiny budget and chunk (so
 * most pages stop early, `partial`) gives exactly the matches of a reference
 * computed in JavaScript over every row, none twice, with and without host,
 * severity and time filters, for 1- and 2-character texts, NUL texts and
 * longer ones; the export that follows `next` gets every match too.
 *
 * @module
 */

import assert from "node:assert/strict";
import { insertAlert, NOW, type Seeded, seeded } from "./_fixture.ts";
import { openSqliteStore } from "../../store/sqlite.ts";
import type { AlertFilter, AlertPage, SiemStore } from "../../store/types.ts";

const _COLS = ["rule", "message", "file", "hash", "host"] as const;
type _Alert = Record<(typeof _COLS)[number] | "timestamp" | "severity", string | null> & {
  seq: number;
};

/** Lower-cases ASCII letters only, as SQLite's LIKE and lower() fold. */
function _fold(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The reference: every row read and filtered here, newest first. */
function _reference(all: _Alert[], f: AlertFilter): number[] {
  const text = _fold(f.text ?? "");
  const sev = f.severities?.map((s) => s.toLowerCase());
  return all.filter((a) =>
    (f.host === undefined || a.host === f.host) &&
    (sev === undefined || sev.includes(String(a.severity).toLowerCase())) &&
    (f.since === undefined || String(a.timestamp) >= new Date(f.since).toISOString()) &&
    (f.until === undefined || String(a.timestamp) < new Date(f.until).toISOString()) &&
    _COLS.some((c) => _fold(a[c] ?? "").includes(text))
  ).map((a) => a.seq);
}

async function _pageAll(
  store: SiemStore,
  f: AlertFilter,
  limit: number,
): Promise<{ seqs: number[]; pages: number; partial: number; emptyPartial: number }> {
  const seqs: number[] = [];
  let cursor: string | undefined;
  let pages = 0, partial = 0, emptyPartial = 0;
  for (;;) {
    const page: AlertPage = await store.alerts({ ...f, limit, ...(cursor ? { cursor } : {}) });
    pages++;
    assert.ok(page.rows.length <= limit);
    if (page.partial) {
      partial++;
      if (page.rows.length === 0) emptyPartial++;
      assert.ok(page.next, "a partial page continues");
      // Every row shown is newer than where the scan stopped.
      for (const r of page.rows) assert.ok(r.timestamp >= page.partial.searchedTo);
    }
    seqs.push(...page.rows.map((r) => r.seq));
    if (page.next === null) break;
    cursor = page.next;
    assert.ok(pages < 10_000, "paging ends");
  }
  return { seqs, pages, partial, emptyPartial };
}

const _SPARSE = [
  { message: "found Qz here", severity: "high", host: "vm-01" },
  { rule: "Rule~Tilde", severity: "critical", host: "vm-02" },
  { file: "/tmp/x\0y.bin", severity: "HIGH", host: "vm-01" },
  { hash: "QZ00", severity: "low", host: "vm-03" },
  { message: "both qz and ~ and \0", severity: "medium", host: "vm-01" },
];

let fx: Seeded | undefined;
let all: _Alert[] = [];

async function _fixture(): Promise<Seeded> {
  if (fx) return fx;
  fx = await seeded({ alerts: 50_000, auth: 10 });
  // A few matches spread over the whole time span (three days back from NOW).
  for (let i = 0; i < 40; i++) {
    const ts = new Date(NOW - Math.floor((i + 0.5) * 3 * 86_400_000 / 40)).toISOString();
    insertAlert(fx.writer, { timestamp: ts, ..._SPARSE[i % _SPARSE.length] });
  }
  // Read as hex: node:sqlite cuts a text at its first NUL when it reads it.
  const hex = (c: string) => `CASE WHEN ${c} IS NULL THEN NULL ELSE hex(${c}) END AS ${c}`;
  const dec = new TextDecoder();
  const unhex = (h: unknown) =>
    h === null
      ? null
      : dec.decode(Uint8Array.from(String(h).match(/../g) ?? [], (b) => parseInt(b, 16)));
  all = fx.writer.prepare(
    `SELECT rowid AS seq, timestamp, severity, ${_COLS.map(hex).join(", ")} FROM alerts
     ORDER BY timestamp DESC, rowid DESC`,
  ).all().map((r) => {
    const a = { ...r } as Record<string, unknown>;
    for (const c of _COLS) a[c] = unhex(a[c]);
    return a as unknown as _Alert;
  });
  return fx;
}

const _TEXTS = ["~", "qz", "Qz", "\0", "x\0y", "rule~t", "%", "no-such-2"];
const _FILTERS: AlertFilter[] = [
  {},
  { host: "vm-01" },
  { severities: ["high"] },
  { severities: ["high", "critical"] },
  { since: NOW - 2 * 86_400_000, until: NOW - 12 * 3_600_000 },
  { host: "vm-01", severities: ["high"], since: NOW - 2 * 86_400_000 },
];

Deno.test({
  name: "text scan: paging with a tiny budget gives every match of the full scan, once",
  sanitizeResources: false,
  fn: async () => {
    const f = await _fixture();
    const tiny = await openSqliteStore({
      database: f.database,
      textIndex: false,
      textScan: { budgetMs: 0, chunk: 997 },
    });
    const full = await openSqliteStore({
      database: f.database,
      textIndex: false,
      textScan: { budgetMs: 1e9 },
    });
    try {
      let partialPages = 0;
      for (const text of _TEXTS) {
        for (const filter of _FILTERS) {
          const q = { ...filter, text };
          const want = _reference(all, q);
          if (text !== "%" && text !== "no-such-2") assert.ok(want.length < 60, `sparse ${text}`);
          for (const limit of [1, 3, 50]) {
            const got = await _pageAll(tiny, q, limit);
            assert.deepEqual(got.seqs, want, `${JSON.stringify(q)} limit ${limit}`);
            partialPages += got.partial;
          }
          const ref = await _pageAll(full, q, 50);
          assert.equal(ref.partial, 0);
          assert.deepEqual(ref.seqs, want);
        }
      }
      assert.ok(partialPages > 1000, `many partial pages: ${partialPages}`);
    } finally {
      await tiny.close();
      await full.close();
    }
  },
});

Deno.test({
  name: "text scan: the first page of an absent text over everything is partial and says where",
  sanitizeResources: false,
  fn: async () => {
    const f = await _fixture();
    const store = await openSqliteStore({
      database: f.database,
      textIndex: false,
      textScan: { budgetMs: 0, chunk: 1000 },
    });
    try {
      const page = await store.alerts({ text: "zz", limit: 50 });
      assert.deepEqual(page.rows, []);
      assert.ok(page.partial);
      assert.equal(page.partial.searchedTo, all[999]?.timestamp);
      assert.ok(page.next);
      // An unknown cursor is refused as before.
      await assert.rejects(() => store.alerts({ text: "zz", cursor: "nope" }), RangeError);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "text scan: the export follows the partial pages to every match",
  sanitizeResources: false,
  fn: async () => {
    const f = await _fixture();
    const store = await openSqliteStore({
      database: f.database,
      textIndex: false,
      textScan: { budgetMs: 0, chunk: 500 },
    });
    try {
      for (const q of [{ text: "qz" }, { text: "\0", host: "vm-01" }, { text: "~" }]) {
        const got: number[] = [];
        for await (const rows of store.exportAlerts(q, 7)) got.push(...rows.map((r) => r.seq));
        assert.deepEqual(got, _reference(all, q), JSON.stringify(q));
      }
    } finally {
      await store.close();
      await fx?.cleanup();
      fx = undefined;
    }
  },
});
