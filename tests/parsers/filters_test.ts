import assert from "node:assert/strict";
import { createEvent, type LogEvent } from "../../core/event.ts";
import {
  and,
  facility,
  filters,
  host,
  inList,
  level,
  match,
  netmask,
  not,
  or,
  program,
} from "../../parsers/filters.ts";

const ev = (init: Parameters<typeof createEvent>[1] = {}, message = "m"): LogEvent =>
  createEvent(message, init);

Deno.test("match() searches the message for a regular expression by default", () => {
  const f = match("Failed (password|publickey)");
  assert.ok(f.test(ev({}, "sshd: Failed password for root")));
  assert.ok(!f.test(ev({}, "Accepted password for root")));
  assert.equal(f.kind, "match");
});

Deno.test("match() reads another value or a template, with types and case folding", () => {
  const rule = match("^mimikatz", { value: "json.rule", ignoreCase: true });
  assert.ok(rule.test(ev({ fields: { json: { rule: "Mimikatz_Strings" } } })));
  assert.ok(!rule.test(ev()));
  const exact = match("sshd", { value: "PROGRAM", type: "string" });
  assert.ok(exact.test(ev({ program: "sshd" })));
  assert.ok(!exact.test(ev({ program: "sshd-session" })));
  const glob = match("vm-*/crit*", { template: "${HOST}/${LEVEL}", type: "glob" });
  assert.ok(glob.test(ev({ host: "vm-2", severity: 2 })));
  assert.ok(!glob.test(ev({ host: "vm-2", severity: 3 })));
  const number = match("^22$", { value: "kv.DPT" });
  assert.ok(number.test(ev({ fields: { kv: { DPT: 22 } } })));
  const empty = match("^$", { value: "missing" });
  assert.ok(empty.test(ev()), "a missing value is matched as the empty string");
});

Deno.test("match() with a global RegExp gives the same answer every time", () => {
  const f = match(/root/g);
  for (let i = 0; i < 4; i++) assert.ok(f.test(ev({}, "user root")));
});

Deno.test("program() and host() search their macro like syslog-ng", () => {
  assert.ok(program("sshd").test(ev({ program: "sshd-session" })));
  assert.ok(!program("^sshd$").test(ev({ program: "sshd-session" })));
  assert.ok(!program("sshd").test(ev()));
  assert.ok(program("SSHD", { type: "string", ignoreCase: true }).test(ev({ program: "sshd" })));
  assert.ok(host("^vm-[0-9]+$").test(ev({ host: "vm-12" })));
  assert.ok(host("vm-?", { type: "glob" }).test(ev({ host: "vm-1" })));
  assert.ok(!host("vm-?", { type: "glob" }).test(ev({ host: "vm-12" })));
  assert.ok(host("a.b", { type: "glob" }).test(ev({ host: "a.b" })));
  assert.ok(!host("a.b", { type: "glob" }).test(ev({ host: "axb" })), "glob dots are literal");
});

Deno.test("level() takes syslog-ng ranges, names, numbers and lists", () => {
  const urgent = level("warning..emerg");
  const kept = [0, 1, 2, 3, 4, 5, 6, 7].filter((s) => urgent.test(ev({ severity: s })));
  assert.deepEqual(kept, [0, 1, 2, 3, 4]);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].filter((s) => level("emerg..warning").test(ev({ severity: s }))),
    [0, 1, 2, 3, 4],
  );
  assert.ok(level("err").test(ev({ severity: 3 })));
  assert.ok(!level("err").test(ev({ severity: 2 })));
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].filter((s) => level(["crit", 6, "error"]).test(ev({ severity: s }))),
    [2, 3, 6],
  );
  assert.ok(!level("debug..emerg").test(ev()), "no severity, no match");
});

Deno.test("facility() takes names, numbers, ranges and lists", () => {
  const auth = facility(["auth", "authpriv"]);
  assert.ok(auth.test(ev({ facility: 4 })));
  assert.ok(auth.test(ev({ facility: 10 })));
  assert.ok(!auth.test(ev({ facility: 3 })));
  assert.ok(!auth.test(ev()));
  const local = facility("local0..local7");
  assert.ok(local.test(ev({ facility: 16 })) && local.test(ev({ facility: 23 })));
  assert.ok(!local.test(ev({ facility: 15 })));
  assert.ok(facility(0).test(ev({ facility: 0 })));
});

Deno.test("level() and facility() reject unknown names naming the value", () => {
  assert.throws(() => level("loud"), /level: "loud" is not a level/);
  assert.throws(() => level("warning..loud"), RangeError);
  assert.throws(() => level(8), RangeError);
  assert.throws(() => level([]), RangeError);
  assert.throws(() => level("a..b..c"), RangeError);
  assert.throws(() => facility("kernel"), /facility: "kernel" is not a facility/);
  assert.throws(() => facility(24), RangeError);
});

Deno.test("netmask() matches IPv4 CIDRs, dotted masks and single hosts", () => {
  const lan = netmask(["10.0.0.0/8", "192.168.1.0/255.255.255.0", "203.0.113.9"]);
  const kept = (ip: string) => lan.test(ev({ sourceIp: ip }));
  assert.ok(kept("10.255.1.2"));
  assert.ok(kept("192.168.1.200"));
  assert.ok(!kept("192.168.2.1"));
  assert.ok(kept("203.0.113.9"));
  assert.ok(!kept("203.0.113.10"));
  assert.ok(!kept("11.0.0.1"));
  for (const bad of ["", "10.0.0", "10.0.0.256", "10.0.0.1.5", "ten", "10..0.1", " 10.0.0.1"]) {
    assert.ok(!kept(bad), bad);
  }
  assert.ok(!lan.test(ev()));
  assert.ok(netmask("0.0.0.0/0").test(ev({ sourceIp: "8.8.8.8" })));
  assert.ok(netmask("128.0.0.0/1").test(ev({ sourceIp: "200.1.1.1" })));
  assert.ok(!netmask("128.0.0.0/1").test(ev({ sourceIp: "100.1.1.1" })));
});

Deno.test("netmask() matches IPv6 CIDRs, compressed forms, zones and IPv4-mapped addresses", () => {
  const f = netmask(["2001:db8::/32", "fe80::/10", "::1", "10.0.0.0/8"]);
  const kept = (ip: string) => f.test(ev({ sourceIp: ip }));
  assert.ok(kept("2001:db8::1"));
  assert.ok(kept("2001:0db8:0000:0000:0000:0000:0000:0001"));
  assert.ok(kept("2001:DB8:ffff::"));
  assert.ok(!kept("2001:db9::1"));
  assert.ok(kept("fe80::5054:ff:fe12:3456%eth0"));
  assert.ok(kept("febf::1"));
  assert.ok(!kept("fec0::1"));
  assert.ok(kept("::1"));
  assert.ok(kept("[::1]"));
  assert.ok(!kept("::2"));
  assert.ok(kept("::ffff:10.1.2.3"), "IPv4-mapped matches an IPv4 network");
  assert.ok(!kept("::ffff:11.1.2.3"));
  for (
    const bad of [
      "2001:db8:::1",
      "2001:db8::1::2",
      "1:2:3:4:5:6:7:8:9",
      "12345::",
      ":1::",
      "1::2:",
      "g::1",
    ]
  ) {
    assert.ok(!kept(bad), bad);
  }
  const v6 = netmask("2001:db8:0:0:1::/80", { value: "kv.SRC" });
  assert.ok(v6.test(ev({ fields: { kv: { SRC: "2001:db8::1:0:0:1" } } })));
  assert.ok(!v6.test(ev({ fields: { kv: { SRC: "2001:db8::2:0:0:1" } } })));
  assert.ok(netmask("::/0").test(ev({ sourceIp: "1234:5678::9" })));
  assert.ok(netmask("1:2:3:4:5:6:1.2.3.4/128").test(ev({ sourceIp: "1:2:3:4:5:6:102:304" })));
});

Deno.test("netmask() rejects invalid networks naming them", () => {
  assert.throws(() => netmask("10.0.0.0/33"), /netmask: "10.0.0.0\/33" is not a network/);
  assert.throws(() => netmask("10.0.0.0/255.0.255.0"), /not contiguous/);
  assert.throws(() => netmask("2001:db8::/129"), RangeError);
  assert.throws(() => netmask("nonsense"), RangeError);
  assert.throws(() => netmask([]), TypeError);
});

Deno.test("inList() compares the field's text with the values", () => {
  const f = inList("kv.DPT", [22, "23", 3389]);
  assert.ok(f.test(ev({ fields: { kv: { DPT: "22" } } })));
  assert.ok(f.test(ev({ fields: { kv: { DPT: 3389 } } })));
  assert.ok(!f.test(ev({ fields: { kv: { DPT: "80" } } })));
  assert.ok(!f.test(ev()));
  const users = inList("sshd.user", new Set(["Root"]), { ignoreCase: true });
  assert.ok(users.test(ev({ fields: { sshd: { user: "ROOT" } } })));
  assert.ok(inList("HOST", ["vm-1"]).test(ev({ host: "vm-1" })));
  assert.throws(() => inList("", ["a"]), TypeError);
  assert.throws(() => inList("x", "ab" as unknown as string[]), TypeError);
});

Deno.test("and(), or() and not() compose filters and plain predicates", () => {
  const sshFailures = and(program("^sshd"), match("Failed"), (e) => e.host !== "central");
  assert.ok(sshFailures.test(ev({ program: "sshd", host: "vm-1" }, "Failed password")));
  assert.ok(!sshFailures.test(ev({ program: "sshd", host: "central" }, "Failed password")));
  assert.ok(!sshFailures.test(ev({ program: "cron", host: "vm-1" }, "Failed password")));
  const either = or(level("err..emerg"), facility("authpriv"));
  assert.ok(either.test(ev({ severity: 3 })));
  assert.ok(either.test(ev({ severity: 6, facility: 10 })));
  assert.ok(!either.test(ev({ severity: 6, facility: 1 })));
  assert.ok(not(host("^central$")).test(ev({ host: "vm-1" })));
  assert.ok(!not(() => true).test(ev()));
  assert.ok(and(() => true, () => true).test(ev()));
});

Deno.test("and() and or() short-circuit", () => {
  let calls = 0;
  const counting = () => (calls++, true);
  and(() => false, counting).test(ev());
  or(() => true, counting).test(ev());
  assert.equal(calls, 0);
});

Deno.test("and(), or() and not() reject what is not a filter, naming the argument", () => {
  assert.throws(() => and(), /and: needs at least one filter/);
  assert.throws(
    () => or(level("err"), "x" as unknown as () => boolean),
    /or: argument 2 must be a filter/,
  );
  assert.throws(() => not({} as unknown as () => boolean), /not: argument 1/);
});

Deno.test("the filters object holds every filter factory", () => {
  assert.deepEqual(Object.keys(filters).sort(), [
    "and",
    "facility",
    "host",
    "inList",
    "level",
    "match",
    "netmask",
    "not",
    "or",
    "program",
  ]);
  assert.ok(filters.not(filters.level("debug")).test(ev({ severity: 3 })));
  assert.ok(Object.isFrozen(filters));
});

Deno.test("filters reject bad options naming the factory", () => {
  assert.throws(() => match("(", {}), /match: "\(" is not a valid regular expression/);
  assert.throws(
    () => match("x", { value: "a", template: "b" }),
    /match: give "value" or "template"/,
  );
  assert.throws(() => program("x", { type: "pcre" as "regexp" }), /program: "type" must be/);
  assert.throws(() => host(/x/, { type: "string" }), TypeError);
  assert.throws(() => match(3 as unknown as string), TypeError);
});
