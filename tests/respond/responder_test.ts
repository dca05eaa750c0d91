import assert from "node:assert/strict";
import { recorder } from "./_recorder.ts";
import { parseTarget, targetPolicy } from "../../respond/address.ts";
import { nftBackend } from "../../respond/nft.ts";
import { iptablesBackend } from "../../respond/iptables.ts";
import { DecisionTable } from "../../respond/decisions.ts";
import { Responder } from "../../respond/responder.ts";

const HOSTILE = [
  "1.2.3.4; rm -rf /",
  "$(reboot)",
  "`id`",
  "1.2.3.4\nflush ruleset",
  "1.2.3.4 } ; flush ruleset ; {",
  "0.0.0.0/0",
  "::/0",
  "0.0.0.0",
  "127.0.0.1",
  "::1",
  "fe80::1%eth0",
  "01.2.3.4",
  "1.2.3.256",
  "1.2.3",
  "2001:db8:::1",
  "10.0.0.0/4",
  "",
  "-F",
  "--flush",
];

Deno.test("parseTarget() re-prints addresses canonically and refuses everything else", () => {
  assert.equal(parseTarget("203.0.113.7")?.text, "203.0.113.7");
  assert.equal(parseTarget("::ffff:203.0.113.7")?.text, "203.0.113.7");
  assert.equal(parseTarget("2001:0DB8:0000:0000:0000:0000:0000:0001")?.text, "2001:db8::1");
  assert.equal(parseTarget("2001:db8:0:0:1:0:0:1")?.text, "2001:db8::1:0:0:1");
  assert.equal(parseTarget("2001:db8::/32")?.text, "2001:db8::/32");
  assert.equal(parseTarget("198.51.100.77/24")?.text, "198.51.100.0/24");
  assert.equal(parseTarget("::ffff:1.2.3.4/120")?.text, "1.2.3.0/24");
  for (
    const bad of [
      "1.2.3.4; rm -rf /",
      "$(reboot)",
      "fe80::1%eth0",
      "01.2.3.4",
      "1.2.3.256",
      "x",
      "1.2.3.4/33",
      "1.2.3.4/08",
    ]
  ) {
    assert.equal(parseTarget(bad), undefined, bad);
  }
  assert.equal(parseTarget(42), undefined);
});

Deno.test("targetPolicy() refuses loopback, the allowlist and networks that are too wide", () => {
  const check = targetPolicy({ allow: ["192.168.0.0/16", "2001:db8:1::/48"] });
  assert.match(check(parseTarget("0.0.0.0/0")!)!, /too wide/);
  assert.match(check(parseTarget("::/0")!)!, /too wide/);
  assert.match(check(parseTarget("127.0.0.53")!)!, /allowlist/);
  assert.match(check(parseTarget("192.168.7.7")!)!, /allowlist/);
  assert.equal(check(parseTarget("192.0.0.0/16")!), undefined);
  // A network that would contain an allowlisted address is refused as well.
  assert.match(check(parseTarget("192.168.0.0/17")!)!, /allowlist/);
  assert.match(check(parseTarget("2001:db8:1:2::9")!)!, /allowlist/);
  assert.equal(check(parseTarget("203.0.113.9")!), undefined);
  assert.throws(
    () => targetPolicy({ allow: ["not an address"] }),
    /"allow" holds "not an address"/,
  );
  assert.throws(() => targetPolicy({ minPrefix4: 0 }), /"minPrefix4" must be 1-32/);
});

for (const kind of ["nft", "iptables"] as const) {
  Deno.test(`Responder (${kind}): hostile text from a log line never reaches a command`, async () => {
    const exec = recorder();
    const backend = kind === "nft" ? nftBackend(exec) : iptablesBackend(exec);
    const r = new Responder({
      table: new DecisionTable(":memory:"),
      backends: { local: backend },
      mode: "on",
    });
    try {
      for (const text of HOSTILE) {
        const res = await r.decide({
          target: text,
          host: "local",
          reason: text,
          rule: "sshd_brute_force",
          by: "rule:x",
        });
        assert.equal(res.outcome, "refused", JSON.stringify(text));
      }
      assert.equal(exec.calls.length, 0, "no command ran for a refused target");
      const ok = await r.decide({
        target: "::ffff:198.51.100.4",
        host: "local",
        reason: "x",
        rule: "r",
        by: "rule:r",
      });
      assert.equal(ok.outcome, "new");
      const args = exec.calls.flat();
      assert.ok(args.includes("198.51.100.4"));
      // ";" alone is nft's own syntax in the set definitions sluice writes.
      for (const a of args.filter((a) => a !== ";")) {
        assert.doesNotMatch(a, /[;$`\n]|rm -rf|flush ruleset|reboot/, a);
      }
      const refused = r.table.inStates(["refused"]);
      assert.equal(refused.length, HOSTILE.length, "every refusal is recorded with its reason");
      assert.ok(refused.some((d) => /too wide/.test(d.result)));
    } finally {
      r.close();
    }
  });
}

Deno.test("Responder: one live block per target and host; repeated offences get longer bans; dry-run runs nothing", async () => {
  let now = Date.parse("2026-12-06T10:00:00Z");
  const exec = recorder();
  const table = new DecisionTable(":memory:");
  const r = new Responder({
    table,
    backends: { local: nftBackend(exec) },
    mode: "on",
    bantimeSec: 60,
    now: () => now,
  });
  try {
    const first = await r.decide({
      target: "203.0.113.9",
      host: "local",
      reason: "a",
      rule: "r",
      by: "rule:r",
    });
    assert.equal(first.outcome, "new");
    const again = await r.decide({
      target: "203.0.113.9",
      host: "local",
      reason: "b",
      rule: "r",
      by: "rule:r",
    });
    assert.equal(again.outcome, "existing", "the same address is never blocked twice on a host");
    assert.equal(table.inStates(["applied"]).length, 1);
    now += 61_000;
    assert.equal(await r.expireDue(), 1);
    const second = await r.decide({
      target: "203.0.113.9",
      host: "local",
      reason: "c",
      rule: "r",
      by: "rule:r",
    });
    assert.ok(second.outcome === "new");
    assert.equal(second.decision.offence, 2);
    assert.equal(
      Date.parse(second.decision.until) - now,
      120_000,
      "the second ban is twice as long",
    );
  } finally {
    r.close();
  }
  const dryExec = recorder();
  const dry = new Responder({
    table: new DecisionTable(":memory:"),
    backends: { local: nftBackend(dryExec) },
  });
  try {
    assert.equal(dry.mode, "dry-run", "dry-run is the default");
    const d = await dry.decide({
      target: "203.0.113.10",
      host: "local",
      reason: "x",
      rule: "r",
      by: "rule:r",
    });
    assert.ok(d.outcome === "new");
    assert.equal(d.decision.state, "dry-run");
    assert.match(
      d.decision.result,
      /would run: .*nft add element inet sluice blocked4 \{ 203\.0\.113\.10 timeout 600s \}/,
    );
    await dry.reconcile();
    assert.equal(dryExec.calls.length, 0);
  } finally {
    dry.close();
  }
});

Deno.test("Responder: rule decisions are rate-limited, operator ones are not; unknown hosts are refused", async () => {
  const r = new Responder({
    table: new DecisionTable(":memory:"),
    backends: { local: nftBackend(recorder()) },
    mode: "on",
    maxPerMinute: 3,
  });
  try {
    const outcomes = [];
    for (let i = 1; i <= 5; i++) {
      outcomes.push(
        (await r.decide({
          target: `198.51.100.${i}`,
          host: "local",
          reason: "x",
          rule: "r",
          by: "rule:r",
        })).outcome,
      );
    }
    assert.deepEqual(outcomes, ["new", "new", "new", "rate-limited", "rate-limited"]);
    const op = await r.decide({
      target: "198.51.100.9",
      host: "local",
      reason: "x",
      rule: "operator",
      by: "alice",
    });
    assert.equal(op.outcome, "new");
    const nowhere = await r.decide({
      target: "198.51.100.10",
      host: "vm-9",
      reason: "x",
      rule: "operator",
      by: "alice",
    });
    assert.ok(
      nowhere.outcome === "refused" &&
        /no firewall configured for host "vm-9"/.test(nowhere.reason),
    );
  } finally {
    r.close();
  }
});
