import assert from "node:assert/strict";
import { compileTemplate, createEvent, templateNames } from "../../mod.ts";

const event = createEvent("hello world", {
  host: "vm1",
  program: "sshd",
  pid: "42",
  severity: 2,
  facility: 4,
  timestamp: Date.UTC(2026, 10, 23, 9, 48, 7),
  tzOffset: 60,
  fields: { json: { rule: "R1", nested: { deep: [1, 2] }, n: 0, empty: "" } },
});

Deno.test("compileTemplate renders macros and nested field paths", () => {
  const t = compileTemplate("${HOST} ${PROGRAM}[${PID}] ${LEVEL}/${FACILITY} ${json.rule}: ${MSG}");
  assert.equal(t(event), "vm1 sshd[42] crit/auth R1: hello world");
});

Deno.test("compileTemplate renders a missing field as empty and honours :- fallbacks", () => {
  assert.equal(compileTemplate("[${json.missing}]")(event), "[]");
  assert.equal(compileTemplate("[${no.such.path}]")(event), "[]");
  assert.equal(compileTemplate("${json.missing:-none}")(event), "none");
  assert.equal(compileTemplate("${json.empty:-was empty}")(event), "was empty");
  assert.equal(compileTemplate("${json.n:-x}")(event), "0");
});

Deno.test("compileTemplate renders objects and arrays as JSON and numbers as text", () => {
  assert.equal(compileTemplate("${json.nested}")(event), '{"deep":[1,2]}');
  assert.equal(compileTemplate("${json.nested.deep}")(event), "[1,2]");
  assert.equal(compileTemplate("${SEVERITY_NUM}")(event), "2");
});

Deno.test("compileTemplate date macros use the event's time and zone", () => {
  const t = compileTemplate("${ISODATE} ${YEAR}-${MONTH}-${DAY} ${HOUR}:${MIN}:${SEC}");
  assert.equal(t(event), "2026-11-23T10:48:07+01:00 2026-11-23 10:48:07");
});

Deno.test("compileTemplate R_ macros use the receive time", () => {
  const e = createEvent("x", {
    receivedAt: Date.UTC(2020, 0, 2, 3, 4, 5),
    timestamp: Date.UTC(2026, 0, 1),
  });
  const year = compileTemplate("${R_YEAR}")(e);
  assert.ok(year === "2020" || year === "2019" || year === "2020", year);
  assert.equal(compileTemplate("${S_YEAR}")(e).length, 4);
  assert.equal(compileTemplate("${R_UNIXTIME}")(e), String(Date.UTC(2020, 0, 2, 3, 4, 5) / 1000));
});

Deno.test("compileTemplate accepts bare $MACROS and $$ for a dollar", () => {
  assert.equal(compileTemplate("$HOST costs $$5 $lower")(event), "vm1 costs $5 $lower");
});

Deno.test("compileTemplate passes functions through", () => {
  const fn = (e: { message: string }) => e.message.length.toString();
  assert.equal(compileTemplate(fn), fn);
});

Deno.test("compileTemplate rejects an unclosed or empty reference", () => {
  assert.throws(() => compileTemplate("${HOST"), SyntaxError);
  assert.throws(() => compileTemplate("${}"), SyntaxError);
  assert.throws(() => compileTemplate("${a b}"), SyntaxError);
});

Deno.test("compileTemplate on a literal or empty text", () => {
  assert.equal(compileTemplate("plain")(event), "plain");
  assert.equal(compileTemplate("")(event), "");
});

Deno.test("templateNames lists what a template reads", () => {
  assert.deepEqual(templateNames("${HOST}/$PROGRAM/${json.a:-x}"), ["HOST", "PROGRAM", "json.a"]);
});
