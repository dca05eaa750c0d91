import assert from "node:assert/strict";
import { createEvent, createLogger, definePipeline, Engine, type LogEvent } from "../../mod.ts";
import {
  alertPaths,
  asAlert,
  correlate,
  type CorrelateAlert,
  type CorrelateOptions,
  correlateStore,
  hasAlert,
} from "../../siem/correlate.ts";
import { filterConformance, rewriteConformance } from "../conformance/suites.ts";
import { collectSink, manualSource } from "../fixtures/components.ts";
import { waitFor } from "../_peers.ts";

const quiet = createLogger("silent");

function failure(ip: string, t: number, user = "root"): LogEvent {
  return createEvent(`Failed password for ${user} from ${ip}`, {
    timestamp: t,
    fields: { ip, user, outcome: "failure" },
  });
}

function rule(extra: Partial<CorrelateOptions> = {}) {
  return correlate({
    rule: "failures",
    key: "${ip}",
    collect: "${user}",
    window: 120_000,
    threshold: 8,
    suppress: 600_000,
    filter: (e) => e.fields.outcome === "failure",
    ...extra,
  });
}

/** Runs events through a step and returns the alerts, by event index. */
function run(step: { apply(e: LogEvent): void }, events: LogEvent[]): Map<number, CorrelateAlert> {
  const out = new Map<number, CorrelateAlert>();
  events.forEach((e, i) => {
    step.apply(e);
    if (e.fields.alert) out.set(i, e.fields.alert as CorrelateAlert);
  });
  return out;
}

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

Deno.test("correlateStore() keeps the windows across an engine restart in the middle of a window", async () => {
  const stateDir = await Deno.makeTempDir();
  try {
    const runEngine = async (from: number, to: number) => {
      const step = rule();
      const src = manualSource("auth");
      const out = collectSink();
      const engine = new Engine(
        definePipeline({
          paths: [{ from: [src], steps: [step], to: [out, correlateStore([step])] }],
        }),
        { logger: quiet, stateDir },
      );
      await engine.start();
      try {
        const batch: LogEvent[] = [];
        for (let i = from; i < to; i++) batch.push(failure("10.8.8.8", i * 1000));
        await new Promise<void>((resolve) => void src.emit(batch, resolve));
      } finally {
        await engine.stop();
      }
      return out.events.filter((e) => e.fields.alert).map((e) => e.timestamp);
    };
    assert.deepEqual(await runEngine(0, 5), []);
    assert.deepEqual(await runEngine(5, 8), [7000]);
    // The quiet period came back too: eight more failures stay silent.
    assert.deepEqual(await runEngine(8, 16), []);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("correlateStore() refuses two rules with one name", () => {
  assert.throws(() => correlateStore([rule(), rule()]), /two rules are named "failures"/);
});

Deno.test("hasAlert() and asAlert() turn a marked event into the row the alerts table reads", () => {
  const step = rule({
    threshold: 2,
    emit: (g) => ({ ip: g.key, summary: `${g.count} failures from ${g.key}` }),
  });
  const first = failure("10.9.9.9", 1000);
  const second = failure("10.9.9.9", 2000, "admin");
  second.host = "vm-4";
  second.id = "auth:42";
  step.apply(first);
  step.apply(second);
  assert.equal(hasAlert().test(first), false);
  assert.equal(hasAlert().test(second), true);
  const original = second.message;
  asAlert().apply(second);
  const json = second.fields.json as Record<string, unknown>;
  assert.equal(json.rule, "failures");
  assert.equal(json.severity, "high");
  assert.equal(json.host, "vm-4");
  assert.equal(json.timestamp, new Date(2000).toISOString());
  assert.equal(json.msg, "2 failures from 10.9.9.9");
  assert.equal(json.ip, "10.9.9.9");
  assert.deepEqual(json.values, ["root", "admin"]);
  assert.equal(json.event, original);
  assert.deepEqual(JSON.parse(second.message), json);
  assert.equal(second.fields.category, "alerts");
  // A correlation's alert is named by its incident (rule, suppression period, key), not by the
  // event that tipped it over; without suppression, by that event's id and the rule.
  assert.equal(json.incident, "failures:0:10.9.9.9");
  assert.match(second.id ?? "", /^incident:failures:[0-9a-f]{32}$/);
  const noSuppress = rule({ threshold: 1, suppress: 0 });
  const lone = failure("10.9.9.7", 5000);
  lone.id = "auth:43";
  noSuppress.apply(lone);
  asAlert().apply(lone);
  assert.equal(lone.id, "auth:43:failures");
  // An event without a mark is left alone.
  const plain = failure("10.9.9.8", 1);
  const before = structuredClone(plain);
  asAlert().apply(plain);
  assert.deepEqual(plain, before);
});

Deno.test("two centrals that see one attack's events in different orders give its alert one id", () => {
  // The same 16 failures from one address, heard by two centrals in opposite orders (two VMs
  // forwarding to both): each central's eighth failure is another event, at another time.
  const attack = Array.from({ length: 16 }, (_, i) => {
    const e = failure("203.0.113.7", 1_000_000 + i * 1000, `user${i}`);
    e.id = `auth:${i}`;
    return e;
  });
  const idsOf = (events: LogEvent[]) => {
    const step = rule();
    const out: string[] = [];
    for (const e of events.map((x) => structuredClone(x))) {
      step.apply(e);
      if (!hasAlert().test(e)) continue;
      asAlert().apply(e);
      out.push(e.id ?? "");
    }
    return out;
  };
  const a = idsOf(attack);
  const b = idsOf([...attack].reverse());
  assert.equal(a.length, 1);
  assert.equal(b.length, 1);
  assert.equal(a[0], b[0]);
  // Another address, or the next suppression period, is another incident.
  const other = idsOf(attack.map((e) => {
    const c = structuredClone(e);
    c.fields.ip = "203.0.113.8";
    return c;
  }));
  assert.notEqual(other[0], a[0]);
  const later = idsOf(attack.map((e) => {
    const c = structuredClone(e);
    c.timestamp = (c.timestamp as number) + 600_000;
    return c;
  }));
  assert.notEqual(later[0], a[0]);
});

Deno.test("correlate(): two rules firing on one event keep one alert each, and alertPaths() stores both with their own ids", async () => {
  const many = rule({ rule: "many_failures", threshold: 3 });
  const users = rule({ rule: "many_users", threshold: 2, distinct: "${user}" });
  const src = manualSource("auth");
  const events = collectSink();
  const alerts = collectSink();
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [src],
        steps: [many, users],
        to: [events],
        paths: [{ steps: [hasAlert()], paths: alertPaths([many, users], { to: [alerts] }) }],
      }],
    }),
    { logger: quiet },
  );
  await engine.start();
  try {
    const batch = [
      failure("10.1.2.3", 1000),
      failure("10.1.2.3", 2000),
      failure("10.1.2.3", 3000, "admin"),
    ];
    batch.forEach((e, i) => (e.id = `auth:${i}`));
    await new Promise<void>((resolve) => void src.emit(batch, resolve));
  } finally {
    await engine.stop();
  }
  // Both crossed their threshold on the third event: two alerts, each with its rule's evidence.
  const ids = alerts.events.map((e) => [e.id, (e.fields.json as { rule: string }).rule]).sort();
  assert.deepEqual(ids.map(([, r]) => r), ["many_failures", "many_users"]);
  assert.match(ids[0]?.[0] ?? "", /^incident:many_failures:[0-9a-f]{32}$/);
  assert.match(ids[1]?.[0] ?? "", /^incident:many_users:[0-9a-f]{32}$/);
  assert.deepEqual(
    Object.keys(events.events[2]?.fields.alerts as object).sort(),
    ["many_failures", "many_users"],
  );
  // The event itself is stored unchanged, once.
  assert.equal(events.events.length, 3);
  assert.equal(events.events[2]?.id, "auth:2");
  // Each rule's own quiet period started: more failures stay silent for both.
  const later = failure("10.1.2.3", 4000, "guest");
  many.apply(later);
  users.apply(later);
  assert.equal(later.fields.alerts, undefined);
});

Deno.test("correlateStore() saves the windows a batch changed on a timer, with no later batch", async () => {
  const stateDir = await Deno.makeTempDir();
  const step = rule();
  const src = manualSource("auth");
  const engine = new Engine(
    definePipeline({
      paths: [{ from: [src], steps: [step], to: [correlateStore([step], { saveMs: 300 })] }],
    }),
    { logger: quiet, stateDir },
  );
  await engine.start();
  try {
    // Two batches back to back: the second comes before saveMs, and nothing follows it.
    await new Promise<void>((resolve) => void src.emit([failure("10.7.7.7", 1000)], resolve));
    await new Promise<void>((resolve) => void src.emit([failure("10.7.7.7", 2000)], resolve));
    await waitFor("the window of both batches in the state directory", async () => {
      for await (const f of Deno.readDir(stateDir)) {
        if (!f.isFile) continue;
        const text = await Deno.readTextFile(`${stateDir}/${f.name}`).catch(() => "");
        if (text.includes("[1000,2000]")) return true;
      }
      return false;
    }, 10_000);
  } finally {
    await engine.stop();
    await Deno.remove(stateDir, { recursive: true });
  }
});

rewriteConformance("correlate", () => rule({ threshold: 1, filter: () => true }));
rewriteConformance("asAlert", () => asAlert());
filterConformance("hasAlert", () => hasAlert());
