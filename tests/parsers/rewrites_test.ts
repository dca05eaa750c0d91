import assert from "node:assert/strict";
import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  getField,
  type LogEvent,
} from "../../mod.ts";
import { collectSink, manualSource } from "../fixtures/components.ts";
import { and, level, program } from "../../parsers/filters.ts";
import { kvParser } from "../../parsers/kv.ts";
import { groupSet, rename, rewrites, set, setHost, subst, unset } from "../../parsers/rewrites.ts";

const ev = (init: Parameters<typeof createEvent>[1] = {}, message = "m"): LogEvent =>
  createEvent(message, init);

Deno.test("set() renders a template into a field or a macro", () => {
  const event = ev({ host: "vm-1", fields: { kv: { SRC: "10.0.0.5", SPT: "51234" } } });
  set("peer", "${kv.SRC}:${kv.SPT}").apply(event);
  set("meta.site", "home").apply(event);
  set("PROGRAM", "firewall").apply(event);
  set("SEVERITY", "warning").apply(event);
  set("MSG", (e) => `[${e.host}] ${e.message}`).apply(event);
  assert.equal(getField(event, "peer"), "10.0.0.5:51234");
  assert.deepEqual(event.fields.meta, { site: "home" });
  assert.equal(event.program, "firewall");
  assert.equal(event.severity, 4);
  assert.equal(event.message, "[vm-1] m");
});

Deno.test("set() only rewrites events its condition keeps", () => {
  const tag = set("meta.alert", "yes", { condition: and(program("^sshd"), level("err..emerg")) });
  const a = ev({ program: "sshd", severity: 3 });
  const b = ev({ program: "sshd", severity: 6 });
  tag.apply(a);
  tag.apply(b);
  assert.equal(getField(a, "meta.alert"), "yes");
  assert.equal(getField(b, "meta.alert"), undefined);
  const byPredicate = set("x", "1", { condition: (e) => e.message === "go" });
  const c = ev({}, "go");
  byPredicate.apply(c);
  assert.equal(c.fields.x, "1");
});

Deno.test("unset() removes fields and clears macros, and ignores missing ones", () => {
  const event = ev({ host: "vm-1", fields: { kv: { MAC: "aa", SRC: "10.0.0.5" }, tmp: 1 } });
  unset(["kv.MAC", "tmp", "HOST", "does.not.exist"]).apply(event);
  assert.deepEqual(event.fields, { kv: { SRC: "10.0.0.5" } });
  assert.equal(event.host, undefined);
  assert.ok(!("host" in event));
  unset("MSG").apply(event);
  assert.equal(event.message, "");
});

Deno.test("rename() moves a value and does nothing when the source is missing", () => {
  const event = ev({ fields: { kv: { SRC: "10.0.0.5" } } });
  rename("kv.SRC", "net.src_ip").apply(event);
  assert.deepEqual(event.fields, { kv: {}, net: { src_ip: "10.0.0.5" } });
  rename("kv.SRC", "net.src_ip").apply(event);
  assert.equal(getField(event, "net.src_ip"), "10.0.0.5");
  const host = ev({ fields: { json: { host: "vm-3" } } });
  rename("json.host", "HOST").apply(host);
  assert.equal(host.host, "vm-3");
  const tree = ev({ fields: { a: { b: [1, 2] } } });
  rename("a", "c").apply(tree);
  assert.deepEqual(tree.fields, { c: { b: [1, 2] } });
});

Deno.test("subst() replaces the first match, or all with global, with group references", () => {
  const first = ev({}, "10.0.0.5 and 10.0.0.6");
  subst(/(\d+\.\d+\.\d+)\.\d+/, "$1.x").apply(first);
  assert.equal(first.message, "10.0.0.x and 10.0.0.6");
  const all = ev({}, "10.0.0.5 and 10.0.0.6");
  subst("(?<net>\\d+\\.\\d+\\.\\d+)\\.\\d+", "$<net>.x", { global: true }).apply(all);
  assert.equal(all.message, "10.0.0.x and 10.0.0.x");
  const twice = subst("a", "b", { global: true });
  const e1 = ev({}, "aaa");
  const e2 = ev({}, "aaa");
  twice.apply(e1);
  twice.apply(e2);
  assert.equal(e1.message, "bbb");
  assert.equal(e2.message, "bbb");
});

Deno.test("subst() with type string takes pattern and replacement literally", () => {
  const event = ev({ fields: { path: "a.b.c $1" } });
  subst(".", "$1", { value: "path", type: "string", global: true }).apply(event);
  assert.equal(event.fields.path, "a$1b$1c $1");
  const ci = ev({}, "Password: Secret");
  subst("secret", "***", { type: "string", ignoreCase: true }).apply(ci);
  assert.equal(ci.message, "Password: ***");
});

Deno.test("subst() leaves missing fields missing, rewrites numbers as text, skips objects", () => {
  const event = ev({ fields: { n: 1234, o: { a: 1 } } });
  subst("x", "y", { value: "missing" }).apply(event);
  assert.ok(!("missing" in event.fields));
  subst("23", "__", { value: "n" }).apply(event);
  assert.equal(event.fields.n, "1__4");
  subst("a", "b", { value: "o" }).apply(event);
  assert.deepEqual(event.fields.o, { a: 1 });
  subst("^(\\S+)", (m) => m.toUpperCase(), { value: "HOST" }).apply(ev());
});

Deno.test("setHost() uses the local host name read once, or a template", () => {
  const local = setHost();
  const event = ev();
  local.apply(event);
  assert.equal(event.host, Deno.hostname());
  const templated = setHost("${json.host:-unknown}");
  const a = ev({ fields: { json: { host: "vm-7" } } });
  const b = ev();
  templated.apply(a);
  templated.apply(b);
  assert.equal(a.host, "vm-7");
  assert.equal(b.host, "unknown");
  const keep = setHost("relay", { onlyIfMissing: true });
  const c = ev({ host: "vm-1" });
  const d = ev();
  keep.apply(c);
  keep.apply(d);
  assert.equal(c.host, "vm-1");
  assert.equal(d.host, "relay");
  const empty = ev({ host: "x" });
  setHost("${nothing}").apply(empty);
  assert.ok(!("host" in empty));
});

Deno.test("groupSet() rewrites the leaves a glob matches, with ${_} as the value", () => {
  const event = ev({
    fields: { csv: { ip: " 10.0.0.5 ", mac: " aa:bb ", nested: { v: " x " }, list: [" y "] } },
  });
  groupSet("csv.*", (v) => (typeof v === "string" ? v.trim() : v)).apply(event);
  assert.deepEqual(event.fields.csv, {
    ip: "10.0.0.5",
    mac: "aa:bb",
    nested: { v: "x" },
    list: [" y "],
  });
  const ports = ev({ fields: { fw: { SPT: "1", DPT: "2", SRC: "3" } } });
  groupSet("fw.?PT", "<${_}>").apply(ports);
  assert.deepEqual(ports.fields.fw, { SPT: "<1>", DPT: "<2>", SRC: "3" });
  const names = ev({ fields: { a: { b: 1, c: { d: 2 } } } });
  const seen: string[] = [];
  groupSet("a.*", (v, name) => (seen.push(name), v)).apply(names);
  assert.deepEqual(seen.sort(), ["a.b", "a.c.d"]);
});

Deno.test("groupSet() sets several named fields at once, existing or not", () => {
  const event = ev({ host: "vm-1", fields: { a: "1" } });
  groupSet(["a", "b.c", "PROGRAM"], "$_/${HOST}").apply(event);
  assert.equal(event.fields.a, "1/vm-1");
  assert.equal(getField(event, "b.c"), "/vm-1");
  assert.equal(event.program, "/vm-1");
  const plain = ev({ fields: { a: "1" } });
  groupSet(["x", "y"], "fixed").apply(plain);
  assert.deepEqual(plain.fields, { a: "1", x: "fixed", y: "fixed" });
});

Deno.test("the rewrites object holds every rewrite factory", () => {
  assert.deepEqual(Object.keys(rewrites).sort(), [
    "groupSet",
    "rename",
    "set",
    "setHost",
    "subst",
    "unset",
  ]);
  const event = ev();
  rewrites.set("meta.site", "home").apply(event);
  assert.equal(getField(event, "meta.site"), "home");
});

Deno.test("rewrites reject bad arguments naming the factory", () => {
  assert.throws(() => set("ISODATE", "x"), /set: "ISODATE" is a read-only macro/);
  assert.throws(() => set("", "x"), /set: a field name must be a non-empty string/);
  assert.throws(() => set("a", 3 as unknown as string), /set: "template" must be/);
  assert.throws(() => set("a", "${"), SyntaxError);
  assert.throws(() => unset([]), /unset: "fields"/);
  assert.throws(() => rename("a", "YEAR"), /rename: "YEAR" is a read-only macro/);
  assert.throws(() => subst("(", "x"), /subst: "\(" is not a valid regular expression/);
  assert.throws(() => subst("", "x"), /subst: the pattern must not be empty/);
  assert.throws(() => subst("a", "b", { type: "glob" as "string" }), /subst: "type"/);
  assert.throws(() => setHost(5 as unknown as string), /setHost: "template"/);
  assert.throws(() => groupSet([], "x"), /groupSet: "values"/);
  assert.throws(() => set("a", "b", { condition: {} as () => boolean }), /set: "condition"/);
});

Deno.test("parsers, filters and rewrites run as steps of an engine path", async () => {
  const src = manualSource();
  const sink = collectSink();
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [src],
        steps: [
          kvParser({ prefix: "fw" }),
          (e) => getField(e, "fw.DPT") === "22",
          rename("fw.SRC", "src_ip"),
          set("meta.rule", "ssh-probe"),
          setHost("router"),
        ],
        to: [sink],
      }],
    }),
    { logger: createLogger("silent"), drainTimeoutMs: 5000 },
  );
  await engine.start();
  try {
    await src.emit([
      createEvent("IN=eth0 SRC=203.0.113.5 DPT=22 SYN"),
      createEvent("IN=eth0 SRC=203.0.113.6 DPT=80 SYN"),
      createEvent("not a pair at all"),
    ]);
  } finally {
    await engine.stop();
  }
  assert.equal(sink.events.length, 1);
  const [out] = sink.events as [LogEvent];
  assert.equal(out.fields.src_ip, "203.0.113.5");
  assert.equal(getField(out, "meta.rule"), "ssh-probe");
  assert.equal(out.host, "router");
});
