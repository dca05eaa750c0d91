import assert from "node:assert/strict";
import { createEvent, type LogEvent } from "../../core/event.ts";
import { csvParser } from "../../parsers/csv.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import type { CorrelateAlert, Correlation } from "../../siem/correlate.ts";
import { criticalAlert } from "../../siem/rules/critical_alert.ts";
import { invalidUserSweep } from "../../siem/rules/invalid_user_sweep.ts";
import { newDevice } from "../../siem/rules/new_device.ts";
import { sshdBruteForce } from "../../siem/rules/sshd_brute_force.ts";
import { sshdSuccessAfterFailures } from "../../siem/rules/success_after_failures.ts";
import { filterConformance, rewriteConformance } from "../conformance/suites.ts";

const sshd = sshdParser();

/** sshd lines as journald gives them (no header), one second apart from `start`. */
function lines(texts: string[], start = 0, host = "vm-1"): LogEvent[] {
  return texts.map((text, i) => {
    const e = createEvent(text, { host, program: "sshd", timestamp: start + i * 1000 });
    sshd.parse(e);
    return e;
  });
}

/** One failed password attempt, with the pam_unix line sshd logs beside it. */
function attempt(ip: string, user: string, port: number): string[] {
  return [
    `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=${user}`,
    `Failed password for ${user} from ${ip} port ${port} ssh2`,
  ];
}

function invalid(ip: string, user: string, port: number): string[] {
  return [
    `Invalid user ${user} from ${ip} port ${port}`,
    `Failed password for invalid user ${user} from ${ip} port ${port} ssh2`,
  ];
}

function alerts(rule: Correlation, events: LogEvent[]): Array<[number, CorrelateAlert]> {
  const out: Array<[number, CorrelateAlert]> = [];
  events.forEach((e, i) => {
    rule.apply(e);
    if (e.fields.alert) out.push([i, e.fields.alert as CorrelateAlert]);
  });
  return out;
}

function restarted(make: () => Correlation, rule: Correlation): Correlation {
  const next = make();
  assert.equal(next.restore(JSON.parse(JSON.stringify(rule.snapshot()))), true);
  return next;
}

Deno.test("sshdBruteForce() fires at the eighth failed login from one address in 120 s, once", () => {
  const users = ["root", "admin", "root", "ubuntu", "root", "test", "root", "oracle", "root", "pi"];
  const all = lines(users.flatMap((u, i) => attempt("203.0.113.9", u, 40000 + i)));
  const fired = alerts(sshdBruteForce(), all);
  assert.equal(fired.length, 1);
  const [at, alert] = fired[0] as [number, CorrelateAlert];
  // The eighth "Failed password" line (pam_unix lines are not counted twice).
  assert.equal(at, 15);
  assert.equal(all[at]?.fields.sshd && (all[at]?.fields.sshd as { port: number }).port, 40007);
  assert.equal(alert.rule, "sshd_brute_force");
  assert.equal(alert.severity, "high");
  assert.equal(alert.ip, "203.0.113.9");
  assert.equal(alert.count, 8);
  assert.deepEqual(alert.users, ["root", "admin", "ubuntu", "test", "oracle"]);
});

Deno.test("sshdBruteForce() stays silent at seven failures, and when failures are spread over more than 120 s", () => {
  const seven = lines(
    Array.from({ length: 7 }, (_, i) => attempt("198.51.100.4", "root", 1000 + i)).flat(),
  );
  assert.equal(alerts(sshdBruteForce(), seven).length, 0);
  // Eight failures, one every 20 s: never eight inside one 120 s window.
  const slow = Array.from(
    { length: 8 },
    (_, i) => lines([`Failed password for root from 198.51.100.5 port ${i} ssh2`], i * 20_000),
  ).flat();
  assert.equal(alerts(sshdBruteForce(), slow).length, 0);
});

Deno.test("sshdBruteForce() survives a restart in the middle of a window", () => {
  const all = lines(
    Array.from({ length: 8 }, (_, i) => `Failed password for root from 192.0.2.50 port ${i} ssh2`),
  );
  const before = sshdBruteForce();
  assert.equal(alerts(before, all.slice(0, 4)).length, 0);
  const after = restarted(() => sshdBruteForce(), before);
  const fired = alerts(after, all.slice(4));
  assert.deepEqual(fired.map(([i, a]) => [i, a.count]), [[3, 8]]);
});

Deno.test("sshdBruteForce() takes its thresholds from options", () => {
  const all = lines(
    Array.from({ length: 3 }, (_, i) => `Failed password for root from 192.0.2.51 port ${i} ssh2`),
  );
  assert.deepEqual(alerts(sshdBruteForce({ threshold: 3 }), all).map(([i]) => i), [2]);
});

Deno.test("invalidUserSweep() counts distinct invalid users and fires at the threshold, once", () => {
  const names = ["admin", "admin", "oracle", "test", "admin", "ubuntu", "postgres", "git", "ftp"];
  const all = lines(names.flatMap((u, i) => invalid("203.0.113.77", u, 50000 + i)));
  const fired = alerts(invalidUserSweep(), all);
  assert.equal(fired.length, 1);
  const [at, alert] = fired[0] as [number, CorrelateAlert];
  // The fifth distinct name is "postgres", the seventh attempt's "Invalid user" line.
  assert.equal(at, 12);
  assert.equal(alert.distinct, 5);
  assert.deepEqual([...alert.users as string[]].sort(), [
    "admin",
    "oracle",
    "postgres",
    "test",
    "ubuntu",
  ]);
  // A valid user failing does not count.
  const valid = lines(
    ["root", "alice", "bob", "carol", "dave"].flatMap((u, i) => attempt("203.0.113.78", u, i)),
  );
  assert.equal(alerts(invalidUserSweep(), valid).length, 0);
});

Deno.test("invalidUserSweep() stays silent at four names and survives a restart in the middle", () => {
  const all = lines(["a", "b", "c", "d", "e"].flatMap((u, i) => invalid("203.0.113.79", u, i)));
  const before = invalidUserSweep();
  assert.equal(alerts(before, all.slice(0, 8)).length, 0); // four names
  const after = restarted(() => invalidUserSweep(), before);
  assert.deepEqual(alerts(after, all.slice(8)).map(([i, a]) => [i, a.distinct]), [[0, 5]]);
});

Deno.test("sshdSuccessAfterFailures() fires on the accepted login after five failures, not after four", () => {
  const four = lines([
    ...Array.from(
      { length: 4 },
      (_, i) => `Failed password for root from 192.0.2.9 port ${i} ssh2`,
    ),
    "Accepted password for root from 192.0.2.9 port 99 ssh2",
  ]);
  assert.equal(alerts(sshdSuccessAfterFailures(), four).length, 0);
  const five = lines([
    ...Array.from(
      { length: 5 },
      (_, i) => `Failed password for admin from 192.0.2.10 port ${i} ssh2`,
    ),
    "Accepted password for deploy from 192.0.2.11 port 98 ssh2",
    "Accepted publickey for root from 192.0.2.10 port 99 ssh2: ED25519 SHA256:abc",
    "Accepted publickey for root from 192.0.2.10 port 100 ssh2: ED25519 SHA256:abc",
  ]);
  const fired = alerts(sshdSuccessAfterFailures(), five);
  assert.equal(fired.length, 1);
  const [at, alert] = fired[0] as [number, CorrelateAlert];
  assert.equal(at, 6);
  assert.equal(alert.severity, "critical");
  assert.equal(alert.user, "root");
  assert.equal(alert.count, 5);
  assert.deepEqual(alert.users, ["admin"]);
});

Deno.test("sshdSuccessAfterFailures() survives a restart between the failures and the success", () => {
  const all = lines([
    ...Array.from(
      { length: 5 },
      (_, i) => `Failed password for root from 192.0.2.12 port ${i} ssh2`,
    ),
    "Accepted password for root from 192.0.2.12 port 99 ssh2",
  ]);
  const before = sshdSuccessAfterFailures();
  assert.equal(alerts(before, all.slice(0, 5)).length, 0);
  const after = restarted(() => sshdSuccessAfterFailures(), before);
  assert.deepEqual(alerts(after, all.slice(5)).map(([i]) => i), [0]);
});

Deno.test("newDevice() fires the first time a MAC address appears, once, across a restart", () => {
  const arp = csvParser({
    columns: ["facility", "timestamp", "interface", "vlan", "mac", "ip", "type"],
    delimiters: " ",
    prefix: "arp",
  });
  const read = (texts: string[]) =>
    texts.map((text, i) => {
      const e = createEvent(text, { host: "home-gw", timestamp: i * 1000 });
      assert.ok(arp.parse(e));
      return e;
    });
  const first = newDevice();
  const fired = alerts(
    first,
    read([
      "daemon 1700000000 eth0 0 52:54:00:12:34:56 192.168.1.23 ARP_REQ",
      "daemon 1700000001 eth0 0 52:54:00:12:34:56 192.168.1.23 ARP_REQ",
      "daemon 1700000002 eth0 0 52:54:00:AB:CD:EF 192.168.1.40 ARP_ACT",
      "daemon 1700000003 eth0 0 52:54:00:ab:cd:ef 192.168.1.41 ARP_ACT",
    ]),
  );
  assert.deepEqual(fired.map(([i, a]) => [i, a.mac, a.ip, a.interface]), [
    [0, "52:54:00:12:34:56", "192.168.1.23", "eth0"],
    [2, "52:54:00:ab:cd:ef", "192.168.1.40", "eth0"],
  ]);
  const after = restarted(() => newDevice(), first);
  const again = alerts(
    after,
    read([
      "daemon 1700000100 eth0 0 52:54:00:12:34:56 192.168.1.23 ARP_REQ",
      "daemon 1700000101 eth0 0 de:ad:be:ef:00:01 192.168.1.99 ARP_REQ",
    ]),
  );
  assert.deepEqual(again.map(([i, a]) => [i, a.mac]), [[1, "de:ad:be:ef:00:01"]]);
});

Deno.test("criticalAlert() passes critical alerts through unchanged and nothing else", () => {
  const critical = criticalAlert();
  const yara = createEvent('{"rule":"CobaltStrike_Beacon","severity":"critical"}', {
    fields: { json: { rule: "CobaltStrike_Beacon", severity: "critical", host: "vm-2" } },
  });
  const before = structuredClone(yara);
  assert.equal(critical.test(yara), true);
  assert.deepEqual(yara, before);
  assert.equal(critical.test(createEvent("x", { fields: { json: { severity: "high" } } })), false);
  assert.equal(
    critical.test(createEvent("x", { fields: { alert: { severity: "critical" } } })),
    true,
  );
  assert.equal(critical.test(createEvent("x", { severity: 2 })), false);
});

rewriteConformance("sshdBruteForce", () => sshdBruteForce());
rewriteConformance("invalidUserSweep", () => invalidUserSweep());
rewriteConformance("sshdSuccessAfterFailures", () => sshdSuccessAfterFailures());
rewriteConformance("newDevice", () => newDevice());
filterConformance("criticalAlert", () => criticalAlert());
