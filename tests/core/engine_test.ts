import assert from "node:assert/strict";
import { createEvent, type LogEvent, type Parser } from "../../mod.ts";
import { collectSink, manualSource } from "../fixtures/components.ts";

import { events, jsonParser, run } from "./_engine_helpers.ts";

Deno.test("Engine fans one source out to every path", async () => {
  const src = manualSource();
  const a = collectSink();
  const b = collectSink();
  await run({ paths: [{ from: [src], to: [a] }, { from: [src], to: [b] }] }, async () => {
    await src.emit(events("one", "two"));
  });
  assert.deepEqual(a.events.map((e) => e.message), ["one", "two"]);
  assert.deepEqual(b.events.map((e) => e.message), ["one", "two"]);
});

Deno.test("Engine: a final path keeps what it matched from later paths", async () => {
  const src = manualSource();
  const critical = collectSink();
  const rest = collectSink();
  await run({
    paths: [
      {
        from: [src],
        steps: [(e) => e.message.includes("critical")],
        to: [critical],
        flags: ["final"],
      },
      { from: [src], to: [rest] },
    ],
  }, async () => {
    await src.emit(events("critical: a", "info: b", "critical: c"));
  });
  assert.deepEqual(critical.events.map((e) => e.message), ["critical: a", "critical: c"]);
  assert.deepEqual(rest.events.map((e) => e.message), ["info: b"]);
});

Deno.test("Engine: a fallback path gets only what no other path matched", async () => {
  const src = manualSource();
  const vm1 = collectSink();
  const other = collectSink();
  await run({
    paths: [
      { from: [src], flags: ["fallback"], to: [other] },
      { from: [src], steps: [(e) => e.host === "vm1"], to: [vm1] },
    ],
  }, async () => {
    await src.emit([
      createEvent("a", { host: "vm1" }),
      createEvent("b", { host: "vm2" }),
      createEvent("c"),
    ]);
  });
  assert.deepEqual(vm1.events.map((e) => e.message), ["a"]);
  assert.deepEqual(other.events.map((e) => e.message), ["b", "c"]);
});

Deno.test("Engine: events a parser cannot parse leave the path and reach the fallback, counted", async () => {
  const src = manualSource();
  const parsed = collectSink();
  const unparsed = collectSink();
  const engine = await run({
    paths: [
      { from: [src], steps: [jsonParser], to: [parsed] },
      { from: [src], flags: ["fallback"], to: [unparsed] },
    ],
  }, async () => {
    await src.emit(events('{"a":1}', "not json", '{"a":2}'));
  });
  assert.deepEqual(parsed.events.map((e) => (e.fields.json as { a: number }).a), [1, 2]);
  assert.deepEqual(unparsed.events.map((e) => e.message), ["not json"]);
  const step = engine.stats.components.find((c) => c.kind === "json");
  assert.equal(step?.counters.unparsed, 1);
});

Deno.test("Engine: onUnparsed continue keeps unparsed events on the path", async () => {
  const src = manualSource();
  const out = collectSink();
  await run({
    paths: [{ from: [src], steps: [jsonParser], to: [out], onUnparsed: "continue" }],
  }, async () => {
    await src.emit(events("{}", "nope"));
  });
  assert.deepEqual(out.events.map((e) => e.message), ["{}", "nope"]);
});

Deno.test("Engine: unparsed events no path took go to the dead-letter sink", async () => {
  const src = manualSource();
  const out = collectSink();
  const dead = collectSink();
  const engine = await run({
    paths: [{ from: [src], steps: [jsonParser], to: [out] }],
    deadLetter: dead,
  }, async () => {
    await src.emit(events("{}", "broken {"));
  });
  assert.deepEqual(dead.events.map((e) => e.message), ["broken {"]);
  assert.equal(engine.stats.get("pipeline")?.counters.dead_lettered, 1);
});

Deno.test("Engine: without a dead-letter sink, unparsed and unmatched events are counted, and acked", async () => {
  const src = manualSource();
  const out = collectSink();
  let acked = 0;
  const engine = await run({
    paths: [{ from: [src], steps: [jsonParser, (e) => e.message !== "{}"], to: [out] }],
  }, async () => {
    await src.emit(events("{}", "broken {", "[1]"), () => acked++);
  });
  const p = engine.stats.get("pipeline");
  assert.equal(p?.counters.unparsed, 1);
  assert.equal(p?.dropped, 1);
  assert.equal(p?.counters.unmatched, 1);
  assert.equal(acked, 1);
  assert.deepEqual(out.events.map((e) => e.message), ["[1]"]);
});

Deno.test("Engine: a filtered-out batch is acknowledged at once", async () => {
  const src = manualSource();
  let acked = false;
  await run({ paths: [{ from: [src], steps: [() => false], to: [collectSink()] }] }, async () => {
    await src.emit(events("x"), () => (acked = true));
    assert.equal(acked, true);
  });
});

Deno.test("Engine: a path that changes events works on a copy, so other paths see the original", async () => {
  const src = manualSource();
  const changed = collectSink();
  const original = collectSink();
  await run({
    paths: [
      {
        from: [src],
        steps: [{ kind: "upper", apply: (e) => void (e.message = e.message.toUpperCase()) }],
        to: [changed],
      },
      { from: [src], to: [original] },
    ],
  }, async () => {
    await src.emit(events("hello"));
  });
  assert.equal(changed.events[0]?.message, "HELLO");
  assert.equal(original.events[0]?.message, "hello");
});

Deno.test("Engine: a changing path copies only the events its leading filters let through", async () => {
  const src = manualSource();
  const original = collectSink();
  const alerts = collectSink();
  const filtered: LogEvent[] = [];
  const rewritten: LogEvent[] = [];
  await run({
    paths: [
      { from: [src], to: [original] },
      {
        from: [src],
        steps: [
          (e) => (filtered.push(e), e.message.startsWith("alert")),
          { kind: "mark", apply: (e) => void (rewritten.push(e), e.fields.alert = true) },
        ],
        to: [alerts],
      },
      // Only filters, but an embedded path changes events: the embedded path gets copies.
      {
        from: [src],
        steps: [(e) => e.message === "alert 2"],
        paths: [{
          steps: [{ kind: "tag", apply: (e) => void (e.fields.tag = true) }],
          to: [alerts],
        }],
      },
    ],
  }, async () => {
    await src.emit(events("alert 1", "noise", "alert 2", "noise"));
  });
  // The filter read the very events the other path delivered: no copy for "noise".
  assert.equal(filtered.length, 4);
  for (const e of filtered) assert.ok(original.events.includes(e));
  // The rewrite got copies of the two alerts; the originals never changed.
  assert.equal(rewritten.length, 2);
  for (const e of rewritten) assert.ok(!original.events.includes(e));
  assert.deepEqual(alerts.events.map((e) => [e.message, e.fields.alert, e.fields.tag]), [
    ["alert 1", true, undefined],
    ["alert 2", true, undefined],
    ["alert 2", undefined, true],
  ]);
  assert.deepEqual(original.events.map((e) => e.fields), [{}, {}, {}, {}]);
});

Deno.test("Engine: embedded paths share their parent's parsing and route by their own filters", async () => {
  const src = manualSource();
  const all = collectSink();
  const critical = collectSink();
  const tagged = collectSink();
  let parses = 0;
  const counting: Parser = { kind: "count", parse: (e) => (parses++, jsonParser.parse(e)) };
  await run({
    paths: [{
      from: [src],
      steps: [counting],
      paths: [
        { to: [all] },
        { steps: [(e) => (e.fields.json as { sev: string }).sev === "critical"], to: [critical] },
        { steps: [{ kind: "tag", apply: (e) => void (e.fields.tag = true) }], to: [tagged] },
      ],
    }],
  }, async () => {
    await src.emit(events('{"sev":"critical"}', '{"sev":"low"}'));
  });
  assert.equal(parses, 2);
  assert.equal(all.events.length, 2);
  assert.equal(critical.events.length, 1);
  assert.equal(tagged.events.length, 2);
  assert.equal(
    all.events[0]?.fields.tag,
    undefined,
    "a child's rewrite must not leak into its siblings",
  );
});
