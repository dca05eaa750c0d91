import assert from "node:assert/strict";
import { createEvent, eventToJson, type LogEvent } from "../../core/event.ts";
import { jsonLine } from "../../sinks/jsonl.ts";
import { LineGroups } from "../../sinks/_jsonl_line.ts";
import { seededRandom as random } from "../../sources/generator.ts";

// What jsonLine wrote before it built the line from pieces: the whole event through
// eventToJson and one JSON.stringify, the fields dropped when they cannot be serialised.
function reference(event: LogEvent): string {
  try {
    return JSON.stringify(eventToJson(event)) + "\n";
  } catch {
    const json = eventToJson({ ...event, fields: {} });
    json.FIELDS_ERROR = "fields could not be serialised";
    return JSON.stringify(json) + "\n";
  }
}

const KEYS = [
  "json",
  "category",
  "kv",
  "HOST",
  "MESSAGE",
  "ISODATE",
  "ID",
  "LEVEL",
  "0",
  "17",
  "1a",
  "",
  "toJSON",
  "é",
  'a"b',
  "__proto__",
  "constructor",
];
const TEXTS = [
  "",
  "plain",
  'q"uote\\',
  "line\nbreak\ttab",
  "\u0000\u001f\u007f",
  "é漢😀",
  "\ud800",
];

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 2 ? 6 : 9));
  switch (k) {
    case 0:
      return TEXTS[Math.floor(r() * TEXTS.length)];
    case 1:
      return Math.floor(r() * 1e6) / (r() < 0.5 ? 1 : 7);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined;
    case 5:
      return [-0, NaN, Infinity][Math.floor(r() * 3)];
    case 6:
      return [value(r, depth + 1), value(r, depth + 1)];
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[KEYS[Math.floor(r() * KEYS.length)]!] = value(r, depth + 1);
      return o;
    }
  }
}

function event(r: () => number, i: number): LogEvent {
  const e = createEvent(TEXTS[i % TEXTS.length]! + (r() < 0.5 ? JSON.stringify({ a: i }) : ""), {
    receivedAt: 1_700_000_000_000 + i * 997,
  });
  if (r() < 0.5) e.timestamp = 1_600_000_000_000 + i * 61_000;
  if (r() < 0.3) e.tzOffset = Math.floor(r() * 1500) - 750;
  if (r() < 0.6) e.host = r() < 0.9 ? `vm-${i % 7}` : 'h"ost';
  if (r() < 0.3) e.program = "sshd";
  if (r() < 0.3) e.pid = String(Math.floor(r() * 99999));
  if (r() < 0.3) e.facility = Math.floor(r() * 26) - 1;
  if (r() < 0.3) e.severity = Math.floor(r() * 9) - 1;
  if (r() < 0.2) e.sourceIp = "192.0.2.7";
  if (r() < 0.4) e.id = `vm:${i}`;
  const n = Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const key = r() < 0.7 ? ["json", "category", "kv"][k]! : KEYS[Math.floor(r() * KEYS.length)]!;
    // Defined as an own property, as JSON.parse would (a plain assignment of "__proto__"
    // would set the prototype instead).
    Object.defineProperty(e.fields, key, {
      value: value(r, 0),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return e;
}

Deno.test("jsonLine() writes what one JSON.stringify of eventToJson writes, for any event", () => {
  const r = random(26);
  for (let i = 0; i < 20_000; i++) {
    const e = event(r, i);
    assert.equal(jsonLine(e), reference(e), `event ${i}: ${Deno.inspect(e, { depth: 6 })}`);
  }
});

Deno.test("jsonLine() on the fields it cannot build in pieces", () => {
  const cases: LogEvent[] = [];
  const base = () => createEvent('{"a":1}', { host: "vm1", id: "x:1", receivedAt: 0 });
  // A field named like a property replaces it in place; an array index comes first.
  for (const key of ["HOST", "MESSAGE", "ISODATE", "ID", "0", "42"]) {
    const e = base();
    e.fields[key] = "field";
    e.fields.json = { a: 1 };
    cases.push(e);
  }
  // JSON.parse makes "__proto__" an own key; toJSON is called by JSON.stringify.
  const proto = base();
  proto.fields = JSON.parse('{"json":{"a":1},"__proto__":{"x":1}}');
  cases.push(proto);
  const toJson = base();
  toJson.fields = { json: 1, toJSON: () => ({ replaced: true }) };
  cases.push(toJson);
  // Not serialisable: the fields are dropped and named.
  const big = base();
  big.fields = { n: 10n };
  cases.push(big);
  const cycle = base();
  cycle.fields.self = cycle.fields;
  cases.push(cycle);
  // A class instance as the tree, and one without a prototype.
  class Tree {
    a = 1;
  }
  const classy = base();
  classy.fields = new Tree() as unknown as Record<string, unknown>;
  cases.push(classy);
  const bare = base();
  bare.fields = Object.assign(Object.create(null), { json: { a: 1 } });
  cases.push(bare);
  for (const [i, e] of cases.entries()) assert.equal(jsonLine(e), reference(e), `case ${i}`);
  assert.match(jsonLine(big), /"FIELDS_ERROR":"fields could not be serialised"/);
  assert.equal(JSON.parse(jsonLine(proto)).__proto__.x, 1);
});

Deno.test("LineGroups joins each file's shared lines in order, across slabs and for lines of their own", () => {
  const r = random(7);
  const decoder = new TextDecoder();
  // Several batches: lines of a few hundred bytes fill 32 KiB slabs and cross into the next;
  // some are past a quarter of a slab (their own buffer); files take interleaved events.
  for (let batch = 0; batch < 20; batch++) {
    const groups = new LineGroups(undefined);
    const want = new Map<string, string>();
    const n = 1 + Math.floor(r() * 400);
    for (let i = 0; i < n; i++) {
      const big = r() < 0.02;
      const e = createEvent(
        big ? "x".repeat(9000 + i) : `{"n":${i},"pad":"${"p".repeat(r() * 600)}"}`,
        {
          receivedAt: 1_700_000_000_000 + i,
        },
      );
      const files = [
        "all.jsonl",
        ...(r() < 0.5 ? ["a.jsonl"] : ["b.jsonl"]),
        ...(i % 7 ? [] : ["c.jsonl"]),
      ];
      for (const f of files) {
        groups.add(f, e);
        want.set(f, (want.get(f) ?? "") + jsonLine(e));
      }
    }
    const got = groups.bytes();
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [f, text] of want) {
      assert.equal(decoder.decode(got.get(f)), text, `batch ${batch} ${f}`);
    }
  }
});
