import assert from "node:assert/strict";
import { createEvent } from "../../mod.ts";
import { correlate, type CorrelateAlert } from "../../siem/correlate.ts";
import { failure, rule, run } from "./_correlate_helpers.ts";

Deno.test("correlate() fires once, on the event that reaches the threshold, not below it", () => {
  const step = rule();
  const events = Array.from({ length: 12 }, (_, i) => failure("203.0.113.9", i * 1000, `u${i}`));
  const alerts = run(step, events);
  assert.deepEqual([...alerts.keys()], [7]);
  const alert = alerts.get(7) as CorrelateAlert;
  assert.equal(alert.rule, "failures");
  assert.equal(alert.severity, "high");
  assert.equal(alert.key, "203.0.113.9");
  assert.equal(alert.count, 8);
  assert.deepEqual(alert.values, ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"]);
  assert.equal(alert.first_seen, new Date(0).toISOString());
  assert.equal(alert.last_seen, new Date(7000).toISOString());
  assert.equal(alert.window_s, 120);
});

Deno.test("correlate() with seven events in the window stays silent", () => {
  const alerts = run(rule(), Array.from({ length: 7 }, (_, i) => failure("198.51.100.1", i)));
  assert.equal(alerts.size, 0);
});

Deno.test("correlate() forgets events that slid out of the window", () => {
  const step = rule();
  // 7 failures, then 7 more each more than 120 s after the first batch.
  const events = [
    ...Array.from({ length: 7 }, (_, i) => failure("192.0.2.7", i * 1000)),
    ...Array.from({ length: 7 }, (_, i) => failure("192.0.2.7", 130_000 + i * 1000)),
  ];
  assert.equal(run(step, events).size, 0);
  // One more inside the second burst's window is the eighth of that window only.
  const eighth = failure("192.0.2.7", 137_000);
  step.apply(eighth);
  const alert = eighth.fields.alert as CorrelateAlert;
  assert.equal(alert.count, 8);
  assert.equal(alert.first_seen, new Date(130_000).toISOString());
});

Deno.test("correlate() keeps each key apart and ignores events the filter refuses or with an empty key", () => {
  const step = rule({ threshold: 3 });
  const events = [
    failure("10.0.0.1", 1),
    failure("10.0.0.2", 2),
    createEvent("ok", { timestamp: 3, fields: { ip: "10.0.0.1", outcome: "success" } }),
    failure("", 4),
    failure("10.0.0.1", 5),
    failure("10.0.0.2", 6),
    failure("10.0.0.1", 7),
  ];
  const alerts = run(step, events);
  assert.deepEqual([...alerts.keys()], [6]);
  assert.equal(alerts.get(6)?.key, "10.0.0.1");
});

Deno.test("correlate() stays quiet for the suppression period, then fires again at the threshold", () => {
  const step = rule({ threshold: 3, window: 10_000, suppress: 60_000 });
  const at = (t: number) => failure("10.1.1.1", t);
  const alerts = run(step, [
    at(0),
    at(1000),
    at(2000), // fires
    at(3000),
    at(4000),
    at(5000), // threshold again, but quiet
    at(61_000),
    at(62_000),
    at(63_000), // quiet period over: fires
  ]);
  assert.deepEqual([...alerts.keys()], [2, 8]);
});

Deno.test("correlate() with distinct counts different values, not events", () => {
  const step = correlate({
    rule: "sweep",
    key: "${ip}",
    distinct: "${user}",
    window: 60_000,
    threshold: 3,
  });
  const alerts = run(step, [
    failure("10.2.2.2", 1, "admin"),
    failure("10.2.2.2", 2, "admin"),
    failure("10.2.2.2", 3, "admin"),
    failure("10.2.2.2", 4, "oracle"),
    failure("10.2.2.2", 5, "admin"),
    failure("10.2.2.2", 6, "test"),
  ]);
  assert.deepEqual([...alerts.keys()], [5]);
  assert.equal(alerts.get(5)?.distinct, 3);
  assert.deepEqual([...(alerts.get(5)?.values ?? [])].sort(), ["admin", "oracle", "test"]);
});

Deno.test("correlate() with a trigger fires on the trigger event only when the group is full", () => {
  const step = correlate({
    rule: "success_after",
    key: "${ip}",
    window: 60_000,
    threshold: 3,
    filter: (e) => e.fields.outcome === "failure",
    trigger: (e) => e.fields.outcome === "success",
    emit: (g, e) => ({ user: e.fields.user, failures: g.count }),
  });
  const ok = (ip: string, t: number) =>
    createEvent("Accepted", { timestamp: t, fields: { ip, user: "alice", outcome: "success" } });
  const alerts = run(step, [
    failure("10.3.3.3", 1),
    failure("10.3.3.3", 2),
    ok("10.3.3.3", 3), // two failures only
    failure("10.3.3.3", 4),
    failure("10.3.3.4", 5),
    ok("10.3.3.3", 6), // three failures: fires
    ok("10.3.3.3", 7), // the group was emptied
  ]);
  assert.deepEqual([...alerts.keys()], [5]);
  assert.equal(alerts.get(5)?.user, "alice");
  assert.equal(alerts.get(5)?.failures, 3);
});

Deno.test("correlate() leaves events otherwise unchanged and writes the alert where told", () => {
  const step = rule({ threshold: 1, field: "detect.hit" });
  const e = failure("10.4.4.4", 1);
  const before = structuredClone(e);
  step.apply(e);
  const hit = (e.fields.detect as { hit: CorrelateAlert }).hit;
  assert.equal(hit.rule, "failures");
  assert.equal((e.fields.alerts as Record<string, CorrelateAlert>).failures, hit);
  delete e.fields.detect;
  delete e.fields.alerts;
  assert.deepEqual(e, before);
});

Deno.test("correlate() survives a restart in the middle of a window through snapshot() and restore()", () => {
  const first = rule();
  assert.equal(
    run(first, Array.from({ length: 5 }, (_, i) => failure("10.5.5.5", i * 1000))).size,
    0,
  );
  const saved = JSON.parse(JSON.stringify(first.snapshot()));
  const second = rule();
  assert.equal(second.restore(saved), true);
  assert.equal(second.size, 1);
  const alerts = run(second, [6, 7, 8].map((s) => failure("10.5.5.5", s * 1000, `x${s}`)));
  assert.deepEqual([...alerts.keys()], [2]);
  assert.equal(alerts.get(2)?.count, 8);
  assert.deepEqual(alerts.get(2)?.values, ["root", "x6", "x7", "x8"]);
  // The quiet period is restored too.
  const third = rule();
  third.restore(JSON.parse(JSON.stringify(second.snapshot())));
  assert.equal(
    run(third, Array.from({ length: 8 }, (_, i) => failure("10.5.5.5", 10_000 + i))).size,
    0,
  );
});

Deno.test("correlate() restore() ignores foreign or broken snapshots", () => {
  const step = rule();
  step.apply(failure("10.6.6.6", 1));
  assert.equal(step.restore(undefined), false);
  assert.equal(step.restore({ v: 1, rule: "other", groups: [] }), false);
  assert.equal(step.restore("garbage"), false);
  assert.equal(step.size, 1);
  assert.equal(
    step.restore({ v: 1, rule: "failures", groups: [[1, 2, 3], ["ok", null, ["x"]]] }),
    true,
  );
  assert.equal(step.size, 0);
});

Deno.test("correlate() keeps at most maxKeys groups, forgetting the least recently seen", () => {
  const step = rule({ threshold: 2, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) step.apply(failure(`10.7.${i >> 8}.${i & 255}`, i));
  assert.ok(step.size <= 100 && step.size >= 90, `size ${step.size}`);
  // The first address was forgotten: one more failure does not fire.
  const e = failure("10.7.0.0", 2000);
  step.apply(e);
  assert.equal(e.fields.alert, undefined);
});

Deno.test("correlate() names the option in errors", () => {
  assert.throws(
    () => rule({ threshold: 0 }),
    /correlate\(failures\): "threshold" must be at least 1, got 0/,
  );
  assert.throws(() => rule({ window: -1 }), /"window" must be at least 1/);
  assert.throws(() => rule({ threshold: 2.5 }), /"threshold" must be an integer/);
  assert.throws(() => correlate({ ...{ key: "x", window: 1, threshold: 1 }, rule: "" }), /"rule"/);
  assert.throws(() => rule({ threshold: 10, maxEntries: 5 }), /"maxEntries" must be at least/);
});
