// Issue 27 ("Upgrades", SQLite): a database written before schema versioning is upgraded in
// place with every row kept; a database from a newer version is refused.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  ComponentStats,
  createEvent,
  createLogger,
  memoryState,
  type SinkContext,
} from "../../mod.ts";
import { type SqliteSchema, sqliteSink } from "../../sinks/sqlite.ts";
import { siemSchema, siemSqliteSink } from "../../siem/schema.ts";

const FIXTURE = new URL("../fixtures/upgrade/central-v0.db", import.meta.url).pathname;

function context(lines: string[] = []): SinkContext {
  return {
    name: "db",
    stats: new ComponentStats("sink", "db", "sqlite"),
    state: memoryState(),
    log: createLogger("info", (line) => void lines.push(line)),
    signal: new AbortController().signal,
  };
}

/** Rows per table, and every row's content, of a database file. */
function snapshot(path: string): Record<string, unknown[]> {
  const d = new DatabaseSync(path, { readOnly: true });
  try {
    const out: Record<string, unknown[]> = {};
    const names = d.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'sluice_meta' ORDER BY name",
    ).all().map((r) => String(r.name));
    for (const t of names) {
      out[t] = d.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all().map((r) => ({ ...r }));
    }
    return out;
  } finally {
    d.close();
  }
}

function columns(d: DatabaseSync, table: string): string[] {
  return (d.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string }>).map((c) =>
    c.name
  );
}

/** A copy of the fixture in a temp dir, removed after `body`. */
async function withFixture(body: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/siem.db`;
  await Deno.copyFile(FIXTURE, path);
  try {
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// The SIEM schema with one column more, so a migration runs whatever siemSchema holds today.
const newer: SqliteSchema = {
  name: "siem",
  version: (siemSchema.version ?? 0) + 1,
  tables: {
    ...siemSchema.tables,
    firewall_events: {
      ...siemSchema.tables.firewall_events!,
      columns: { ...siemSchema.tables.firewall_events!.columns, rule_hit: "INTEGER NOT NULL" },
      values: { ...siemSchema.tables.firewall_events!.values, rule_hit: () => 1 },
    },
  },
};

Deno.test("sqliteSink upgrades a database written before versioning in place: every row kept, missing columns added once, versions recorded", async () => {
  await withFixture(async (path) => {
    const before = snapshot(path);
    assert.equal(before.alerts?.length, 25);
    assert.equal(before.firewall_events?.length, 10);
    const lines: string[] = [];
    const sink = sqliteSink({ database: path, schema: newer, table: "firewall_events" });
    await sink.open(context(lines));
    try {
      await sink.write([
        createEvent("SRC=203.0.113.9 DST=192.0.2.1", { id: "fw:new", host: "router" }),
      ]);
      const d = sink.db;
      // Every column of the spec exists now (siemSchema's own, and the one added here).
      for (const [table, spec] of Object.entries(newer.tables)) {
        const have = columns(d, table);
        for (const c of Object.keys(spec.columns)) assert.ok(have.includes(c), `${table}.${c}`);
      }
      const meta = Object.fromEntries(
        d.prepare("SELECT key, value FROM sluice_meta").all().map((r) => [r.key, r.value]),
      );
      assert.equal(meta.format, "1");
      assert.equal(meta["schema.siem"], String(newer.version));
      assert.ok(meta["migration.added column firewall_events.rule_hit INTEGER NOT NULL DEFAULT 0"]);
      const ok = d.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      assert.equal(ok.integrity_check, "ok");
    } finally {
      await sink.close();
    }
    assert.ok(lines.some((l) => /added column "rule_hit"/.test(l)), lines.join("\n"));
    // Every row that was there is there, unchanged in every column it had.
    const after = snapshot(path);
    for (const [table, rows] of Object.entries(before)) {
      const now = after[table] ?? [];
      const extra = table === "firewall_events" ? 1 : 0;
      assert.equal(now.length, rows.length + extra, table);
      rows.forEach((row, i) => {
        const kept = now[i] as Record<string, unknown>;
        for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
          assert.deepEqual(kept[k], v, `${table} row ${i} column ${k}`);
        }
      });
    }
    assert.equal((after.firewall_events?.[0] as Record<string, unknown>).rule_hit, 0);
    // Run once: opening again adds nothing and logs no migration.
    const again: string[] = [];
    const second = sqliteSink({ database: path, schema: newer, table: "firewall_events" });
    await second.open(context(again));
    await second.close();
    assert.ok(!again.some((l) => /added column|upgraded/.test(l)), again.join("\n"));
  });
});

Deno.test("siemSqliteSink opens the pre-versioning central database and keeps every row", async () => {
  await withFixture(async (path) => {
    const before = snapshot(path);
    const sink = siemSqliteSink({ database: path });
    await sink.open(context());
    await sink.close();
    const after = snapshot(path);
    for (const [table, rows] of Object.entries(before)) {
      assert.equal(after[table]?.length, rows.length, table);
    }
  });
});

Deno.test("sqliteSink refuses a database written by a newer schema version or storage format, and writes nothing", async () => {
  await withFixture(async (path) => {
    const up = sqliteSink({ database: path, schema: newer, table: "firewall_events" });
    await up.open(context());
    await up.close();
    const before = snapshot(path);
    // Older code (siemSchema's own version) meets the database the newer one wrote.
    const old = siemSqliteSink({ database: path });
    await assert.rejects(
      old.open(context()),
      new RegExp(
        `written by a newer sluice \\(schema "siem" version ${newer.version}, this sluice knows up to ${
          siemSchema.version ?? 0
        }\\); refusing to write`,
      ),
    );
    const d = new DatabaseSync(path);
    d.exec("UPDATE sluice_meta SET value = '99' WHERE key = 'format'");
    d.close();
    const generic = sqliteSink({ database: path, table: "events" });
    await assert.rejects(generic.open(context()), /storage format version 99/);
    const after = snapshot(path);
    assert.deepEqual(after, before, "nothing was created or written");
  });
});
