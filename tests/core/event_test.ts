import assert from "node:assert/strict";
import { runWithDeadline } from "../_peers.ts";
import {
  cloneEvent,
  createEvent,
  eventToJson,
  facilityNumber,
  fieldGetter,
  fieldSetter,
  getField,
  isoDate,
  setField,
  severityNumber,
} from "../../mod.ts";

Deno.test("setField on a macro sets the well-known property; names and numbers both work", () => {
  const e = createEvent("x");
  setField(e, "HOST", "vm7");
  setField(e, "SEVERITY", "warning");
  setField(e, "FACILITY", "authpriv");
  assert.equal(e.host, "vm7");
  assert.equal(e.severity, 4);
  assert.equal(getField(e, "LEVEL"), "warning");
  assert.equal(getField(e, "FACILITY"), "authpriv");
  setField(e, "LEVEL_NUM", 3);
  assert.equal(getField(e, "SEVERITY"), "err");
  assert.equal(getField(e, "PRI"), 10 * 8 + 3);
});

Deno.test("setField on a dotted path creates the tree and replaces scalars on the way", () => {
  const e = createEvent("x", { fields: { a: "scalar" } });
  setField(e, "a.b.c", 1);
  assert.deepEqual(e.fields, { a: { b: { c: 1 } } });
  setField(e, "a.b.c", undefined);
  assert.deepEqual(e.fields, { a: { b: {} } });
});

Deno.test("fieldGetter reads through arrays by index and tolerates missing parts", () => {
  const e = createEvent("x", { fields: { list: [{ v: 1 }], s: "str" } });
  assert.equal(fieldGetter("list.0.v")(e), 1);
  assert.equal(fieldGetter("s.length.x")(e), undefined);
  assert.equal(fieldGetter("nope.deeper")(e), undefined);
});

Deno.test("fieldSetter refuses read-only macros", () => {
  assert.throws(() => fieldSetter("ISODATE"), TypeError);
});

Deno.test("severityNumber and facilityNumber accept names, aliases and numbers", () => {
  assert.equal(severityNumber("critical"), 2);
  assert.equal(severityNumber("ERROR"), 3);
  assert.equal(severityNumber(9), undefined);
  assert.equal(severityNumber("high"), undefined);
  assert.equal(facilityNumber("local7"), 23);
  assert.equal(facilityNumber("24"), undefined);
});

Deno.test("cloneEvent copies the field tree deeply", () => {
  const a = createEvent("x", { fields: { j: { list: [1] } } });
  const b = cloneEvent(a);
  (b.fields.j as { list: number[] }).list.push(2);
  assert.deepEqual(a.fields, { j: { list: [1] } });
});

Deno.test("isoDate formats with the zone offset", () => {
  assert.equal(isoDate(Date.UTC(2026, 0, 1, 0, 0, 0), -330), "2025-12-31T18:30:00-05:30");
});

Deno.test("eventToJson includes well-known properties and fields", () => {
  const json = eventToJson(createEvent("m", { host: "h", severity: 0, fields: { a: 1 } }));
  assert.equal(json.HOST, "h");
  assert.equal(json.LEVEL, "emerg");
  assert.equal(json.a, 1);
  assert.equal(json.MESSAGE, "m");
});

Deno.test("isoDate gives each zone and each second its own fields, also in a burst", () => {
  const t = Date.UTC(2026, 10, 23, 9, 48, 0, 250);
  assert.equal(isoDate(t, 0), "2026-11-23T09:48:00+00:00");
  assert.equal(isoDate(t + 1, 60), "2026-11-23T10:48:00+01:00");
  assert.equal(isoDate(t + 2, 0), "2026-11-23T09:48:00+00:00");
  assert.equal(isoDate(t + 800, 0), "2026-11-23T09:48:01+00:00");
  assert.equal(isoDate(t - 300, 0), "2026-11-23T09:47:59+00:00");
});

Deno.test("isoDate in the local zone follows a daylight-saving change to the second", async () => {
  const code = `import { isoDate } from ${
    JSON.stringify(new URL("../../core/event.ts", import.meta.url).href)
  };
const before = Date.UTC(2026, 2, 29, 0, 59, 59);
console.log(isoDate(before - 1), isoDate(before), isoDate(before + 1000), isoDate(before + 1001));`;
  const out = await runWithDeadline(Deno.execPath(), ["eval", code], {
    env: { TZ: "Europe/Berlin" },
    timeoutMs: 60_000,
    what: "deno eval of isoDate in Europe/Berlin",
  });
  assert.equal(
    out.stdout.trim(),
    "2026-03-29T01:59:58+01:00 2026-03-29T01:59:59+01:00 2026-03-29T03:00:00+02:00 2026-03-29T03:00:00+02:00",
  );
});
