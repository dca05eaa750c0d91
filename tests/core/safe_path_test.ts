import assert from "node:assert/strict";
import fc from "fast-check";
import { createEvent } from "../../core/event.ts";
import { pathTemplate, safeJoin, safePathComponent } from "../../core/safe_path.ts";

const bytes = (s: string) => new TextEncoder().encode(s).length;

Deno.test("safePathComponent() leaves ordinary names unchanged", () => {
  for (
    const name of ["vm1", "web-01.example.org", "2026-11-23", "a_b", "UPPER", "häst", "v1.2.3"]
  ) {
    assert.equal(safePathComponent(name), name);
  }
});

Deno.test("safePathComponent() neutralises hostile host names", () => {
  assert.equal(safePathComponent("../../etc"), "_.__._etc");
  assert.equal(safePathComponent("a/b"), "a_b");
  assert.equal(safePathComponent("a\\b"), "a_b");
  assert.equal(safePathComponent(".."), "__");
  assert.equal(safePathComponent("vm1."), "vm1_");
  assert.equal(safePathComponent("."), "_");
  assert.equal(safePathComponent(".hidden"), "_hidden");
  assert.equal(safePathComponent(""), "_");
  assert.equal(safePathComponent("", { empty: "unknown" }), "unknown");
  assert.equal(safePathComponent("nul\0byte\nline"), "nul_byte_line");
});

Deno.test("safePathComponent() replaces C1 controls, bidi controls and lone surrogates", () => {
  assert.equal(safePathComponent("\u202eevil\u202d"), "_evil_");
  assert.equal(safePathComponent("a\u0085b\u009bc\u0080"), "a_b_c_");
  for (
    const ch of [
      "\u061c",
      "\u200e",
      "\u200f",
      "\u2028",
      "\u2029",
      "\u202a",
      "\u202b",
      "\u202c",
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069",
      "\ud800",
      "\udfff",
    ]
  ) {
    assert.equal(safePathComponent(`vm${ch}1`), "vm_1", JSON.stringify(ch));
  }
  // Paired surrogates (an emoji) and other non-ASCII letters stay.
  assert.equal(safePathComponent("vm\u{1F600}é"), "vm\u{1F600}é");
  assert.equal(safePathComponent("\u00a0x"), "\u00a0x");
});

Deno.test("safePathComponent() cuts long values and keeps them apart", () => {
  const a = safePathComponent("x".repeat(10_000) + "a");
  const b = safePathComponent("x".repeat(10_000) + "b");
  assert.ok(bytes(a) <= 200 && bytes(b) <= 200);
  assert.notEqual(a, b);
  assert.match(a, /^x+~[0-9a-f]{8}$/);
  // Multi-byte characters are never split.
  const wide = safePathComponent("é".repeat(500), { maxBytes: 50 });
  assert.ok(bytes(wide) <= 50);
  assert.ok(!wide.includes("\uFFFD"));
});

Deno.test("safePathComponent() output is always one safe component", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 400 }), (value) => {
      const out = safePathComponent(value);
      assert.ok(out.length > 0);
      assert.ok(!out.includes("/") && !out.includes("\\") && !out.includes("\0"));
      // deno-lint-ignore no-control-regex
      assert.ok(!/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(out));
      assert.ok(out.isWellFormed());
      assert.ok(!out.includes(".."));
      assert.ok(!out.startsWith(".") && !out.endsWith("."));
      assert.ok(bytes(out) <= 200);
      assert.equal(safeJoin("/base", out), `/base/${out}`);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("safeJoin() joins relative paths and refuses ones that leave the base", () => {
  assert.equal(safeJoin("/var/log", "a/b.jsonl"), "/var/log/a/b.jsonl");
  assert.equal(safeJoin("/var/log/", "./a//b.jsonl"), "/var/log/a/b.jsonl");
  assert.equal(safeJoin("logs", "x"), "logs/x");
  assert.equal(safeJoin("/", "x"), "/x");
  assert.equal(safeJoin("", "x"), "./x");
  assert.throws(() => safeJoin("/var/log", "../x"), /leaves the base directory/);
  assert.throws(() => safeJoin("/var/log", "a/../../x"), RangeError);
  assert.throws(() => safeJoin("/var/log", "/etc/passwd"), /is absolute/);
  assert.throws(() => safeJoin("/var/log", "a\0b"), /NUL/);
  assert.throws(() => safeJoin("/var/log", ""), /names no file/);
  assert.throws(() => safeJoin("/var/log", "./"), /names no file/);
});

Deno.test("pathTemplate() makes values safe but keeps literal directories", () => {
  const byVm = pathTemplate("logs/by_vm/${HOST}.jsonl");
  const render = (host: string) => byVm(createEvent("x", { host }));
  assert.equal(render("vm1"), "logs/by_vm/vm1.jsonl");
  assert.equal(render("../../etc"), "logs/by_vm/_.__._etc.jsonl");
  assert.equal(render("a/b"), "logs/by_vm/a_b.jsonl");
  assert.equal(byVm(createEvent("x")), "logs/by_vm/_.jsonl");
  // Each value is made safe once and remembered (at most 1,024 of them): the same value
  // renders the same after thousands of others, and a hostile one stays safe every time.
  for (let i = 0; i < 3000; i++) assert.equal(render(`vm${i}/..`), `logs/by_vm/vm${i}___.jsonl`);
  assert.equal(render("../../etc"), "logs/by_vm/_.__._etc.jsonl");
  assert.equal(render("../../etc"), "logs/by_vm/_.__._etc.jsonl");
  assert.equal(render("vm1"), "logs/by_vm/vm1.jsonl");
  assert.equal(
    pathTemplate("by_vm/${HOST:-unknown}.jsonl")(createEvent("x")),
    "by_vm/unknown.jsonl",
  );
  const daily = pathTemplate("daily/${YEAR}-${MONTH}-${DAY}.jsonl");
  const e = createEvent("x", { timestamp: Date.UTC(2026, 10, 23, 12), tzOffset: 0 });
  assert.equal(daily(e), "daily/2026-11-23.jsonl");
  assert.equal(pathTemplate("$$HOST/$HOST")(createEvent("x", { host: "h/x" })), "$HOST/h_x");
  const fn = pathTemplate((e) => `a/../${e.host}/./b`);
  assert.equal(fn(createEvent("x", { host: ".." })), "a/__/__/b");
  assert.throws(() => pathTemplate("${HOST"), SyntaxError);
});

Deno.test("pathTemplate() never renders a path that leaves the base", () => {
  const t = pathTemplate("by_vm/${HOST}/${json.kind}.jsonl");
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 300 }), fc.string(), (host, kind) => {
      const rel = t(createEvent("x", { host, fields: { json: { kind } } }));
      const joined = safeJoin("/base", rel);
      assert.ok(joined.startsWith("/base/by_vm/"));
      assert.equal(joined.split("/").length, 5);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("pathTemplate keeps a verbatim macro's slashes and still makes every other value one safe component", () => {
  const path = pathTemplate("${HOST}/${object.path}", { verbatim: /^\$\{object\.path\}$/ });
  const e = createEvent("x", { host: "../etc", fields: { object: { path: "2026/11/a.bin" } } });
  assert.equal(path(e), "_._etc/2026/11/a.bin");
});

Deno.test("pathTemplate() renders each event's own path when events in a row share or change values", () => {
  for (
    const template of [
      "daily/${YEAR}-${MONTH}-${DAY}/${HOST:-unknown}/${category}.jsonl",
      "by_vm/${HOST:-unknown}.jsonl",
      "by_category/${category}.jsonl",
    ]
  ) sameAsFresh(template);
});

function sameAsFresh(template: string): void {
  const cached = pathTemplate(template);
  const hosts = ["vm1", "vm1", "../etc", undefined, "vm2", "vm1", "a/b", "a/b", ""];
  const day = Date.UTC(2026, 11, 7, 23, 59, 59);
  for (let i = 0; i < 300; i++) {
    const host = hosts[i % hosts.length];
    const e = createEvent("x", {
      timestamp: day + (i % 5) * 700,
      tzOffset: 0,
      ...(host === undefined ? {} : { host }),
    });
    if (i % 3) e.fields.category = i % 2 ? "auth" : "../../x";
    // A template made afresh for each event renders what the reused one must.
    assert.equal(cached(e), pathTemplate(template)(e), `${template}, event ${i}`);
  }
}
