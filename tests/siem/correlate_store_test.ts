import assert from "node:assert/strict";
import { definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { alertPaths, asAlert, correlateStore, hasAlert } from "../../siem/correlate.ts";
import { filterConformance, rewriteConformance } from "../conformance/suites.ts";
import { collectSink, manualSource } from "../fixtures/components.ts";
import { waitFor } from "../_peers.ts";
import { failure, quiet, rule } from "./_correlate_helpers.ts";

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
