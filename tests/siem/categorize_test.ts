import assert from "node:assert/strict";
import { createEvent, type EventInit } from "../../core/event.ts";
import {
  categorize,
  isSiemCategory,
  SIEM_CATEGORIES,
  siemCategory,
} from "../../siem/categorize.ts";
import { rewriteConformance } from "../conformance/suites.ts";

const ev = (init: EventInit, message = "x") => createEvent(message, init);

Deno.test("siemCategory() recognises each kind of event from its fields", () => {
  const cases: Array<[string, EventInit]> = [
    ["alerts", { fields: { json: { rule: "Mimikatz_Strings", severity: "high" } } }],
    ["alerts", { fields: { json: { yara: { rule: "X" } } } }],
    ["alerts", { fields: { json: { rule_name: "R" } } }],
    ["auth", { fields: { sshd: { outcome: "failure", user: "root", src_ip: "203.0.113.9" } } }],
    ["auth", { facility: 10 }],
    ["firewall", { fields: { fw: { SRC: "10.0.0.5", DST: "10.0.0.1", PROTO: "TCP" } } }],
    ["docker", { fields: { json: { Type: "container", Action: "start", Actor: { ID: "abc" } } } }],
    ["heartbeat", { fields: { json: { type: "heartbeat", host: "vm1" } } }],
    ["heartbeat", { program: "sluice-heartbeat" }],
    ["addrwatch", { fields: { arp: { mac: "52:54:00:12:34:56", ip: "192.168.1.23" } } }],
    ["object", { fields: { object: { sha256: "ab".repeat(32), path: "a.bin" } } }],
    ["system", { program: "kernel" }],
    ["system", { fields: { json: { msg: "no rule here" } } }],
    // Half a firewall line is not a firewall event.
    ["system", { fields: { fw: { SRC: "10.0.0.5" } } }],
    // Empty values do not count.
    ["system", { fields: { json: { rule: "" } } }],
  ];
  for (const [want, init] of cases) {
    assert.equal(siemCategory(ev(init)), want, JSON.stringify(init));
  }
});

Deno.test("siemCategory() takes the first matching rule", () => {
  // A heartbeat that mentions a rule is still a heartbeat; an sshd line from authpriv is auth.
  assert.equal(
    siemCategory(ev({ fields: { json: { type: "heartbeat", rule: "R" } } })),
    "heartbeat",
  );
  assert.equal(
    siemCategory(ev({ fields: { json: { rule: "R" }, sshd: { outcome: "success" } } })),
    "alerts",
  );
});

Deno.test("categorize() sets fields.category and keeps one already set", () => {
  const step = categorize();
  const a = ev({ fields: { sshd: { outcome: "success" } } });
  step.apply(a);
  assert.equal(a.fields.category, "auth");
  const b = ev({ fields: { category: "alerts", sshd: { outcome: "success" } } });
  step.apply(b);
  assert.equal(b.fields.category, "alerts");
  const c = ev({ fields: { category: "nonsense" } });
  step.apply(c);
  assert.equal(c.fields.category, "system");
  const d = ev({ fields: { category: "alerts", sshd: { outcome: "success" } } });
  categorize({ overwrite: true }).apply(d);
  assert.equal(d.fields.category, "auth");
  const e = ev({ fields: { json: { rule: "R" } } });
  categorize({ field: "meta.kind" }).apply(e);
  assert.deepEqual(e.fields.meta, { kind: "alerts" });
  assert.throws(() => categorize({ field: "" }), /"field"/);
});

Deno.test("isSiemCategory() accepts exactly the categories", () => {
  for (const c of SIEM_CATEGORIES) assert.ok(isSiemCategory(c));
  for (const c of ["vms", "", "ALERTS", 1, null, undefined]) assert.ok(!isSiemCategory(c));
});

rewriteConformance("categorize", () => categorize());
