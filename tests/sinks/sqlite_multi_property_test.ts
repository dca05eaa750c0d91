// The SQLite sink against a model of one row per statement, on random batches: whatever mix of
// tables, ids, duplicates and refused rows, the tables, the dead letters and the counters are
// what storing each row on its own (each table's rows in their order) would give.
import assert from "node:assert/strict";
import fc from "fast-check";
import { createEvent, type LogEvent } from "../../mod.ts";
import { count, deadLetters, withSink } from "./_sqlite_sink_helpers.ts";

interface Spec {
  kind: "a" | "b" | "c";
  id: number | null;
  ok: boolean;
}

const spec = fc.record({
  kind: fc.constantFrom("a" as const, "b" as const, "c" as const),
  // Few ids, so that they repeat within a batch and across batches.
  id: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null, freq: 5 }),
  // One row in twenty refused (NOT NULL).
  ok: fc.integer({ min: 0, max: 19 }).map((x) => x !== 0),
});

/** What one row per statement stores: each table's rows in their order, tables by first row. */
class Model {
  tables = new Map<string, { ids: Set<number>; labels: string[] }>();
  dead = new Set<string>();
  inserted = 0;
  duplicates = 0;
  deadLettered = 0;

  write(batch: Array<Spec & { label: string }>): void {
    const order = new Map<string, typeof batch>();
    for (const row of batch) {
      const name = `${row.kind}_t`;
      const group = order.get(name);
      if (group) group.push(row);
      else order.set(name, [row]);
    }
    for (const [name, rows] of order) {
      let table = this.tables.get(name);
      if (!table) this.tables.set(name, table = { ids: new Set(), labels: [] });
      for (const row of rows) {
        if (!row.ok) {
          const key = row.id === null ? null : `${name}:${row.id}`;
          if (key !== null && this.dead.has(key)) this.duplicates++;
          else {
            if (key !== null) this.dead.add(key);
            this.deadLettered++;
          }
        } else if (row.id !== null && table.ids.has(row.id)) this.duplicates++;
        else {
          if (row.id !== null) table.ids.add(row.id);
          table.labels.push(row.label);
          this.inserted++;
        }
      }
    }
  }
}

function events(batch: Array<Spec & { label: string }>): LogEvent[] {
  return batch.map((row) =>
    createEvent(row.label, {
      ...(row.id === null ? {} : { id: `p:${row.id}` }),
      fields: { json: { kind: row.kind, n: row.ok ? row.label : undefined } },
    })
  );
}

Deno.test("sqliteSink() stores random mixed batches as one row per statement would", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(spec, { maxLength: 160, size: "max" }), { minLength: 1, maxLength: 3 }),
      async (batches) => {
        await withSink({
          table: "${json.kind}_t",
          columns: { n: "TEXT NOT NULL" },
          values: { n: "${json.n}" },
        }, async (sink, ctx) => {
          const model = new Model();
          for (const [b, batch] of batches.entries()) {
            const labelled = batch.map((row, i) => ({ ...row, label: `${b}:${i}` }));
            model.write(labelled);
            await sink.write(events(labelled));
          }
          for (const [name, table] of model.tables) {
            const stored = table.labels.length === 0 ? [] : (sink.db.prepare(
              `SELECT n FROM "${name}" ORDER BY rowid`,
            ).all() as Array<{ n: string }>).map((r) => r.n);
            assert.deepEqual(stored, table.labels, name);
          }
          const total = [...model.tables.keys()].reduce((sum, name) => {
            const exists = sink.db.prepare(
              "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table' AND name = ?",
            ).get(name) as { n: number };
            return sum + (exists.n ? count(sink.db, name) : 0);
          }, 0);
          assert.equal(total, model.inserted);
          assert.equal(deadLetters(sink.db).length, model.deadLettered);
          assert.equal(ctx.stats.counters.inserted ?? 0, model.inserted);
          assert.equal(ctx.stats.counters.duplicates ?? 0, model.duplicates);
          assert.equal(ctx.stats.counters.dead_lettered ?? 0, model.deadLettered);
        });
      },
    ),
    { numRuns: 60 },
  );
});
