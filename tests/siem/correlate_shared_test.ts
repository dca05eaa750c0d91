// issue 25, "several centrals, one database": sharedRules() over one real store (an SQLite file
// here; the server stores' reads are tests/store/rule_window_test.ts, the two central processes on
// Postgres and MariaDB tests/store/two_centrals_test.ts). Each "central" is its own set of rule
// steps and its own sink, as in two processes.
import assert from "node:assert/strict";
import {
  ComponentStats,
  createEvent,
  createLogger,
  type LogEvent,
  memoryState,
} from "../../mod.ts";
import type { Sink } from "../../core/types.ts";
import { asAlert, type Correlation } from "../../siem/correlate.ts";
import { sharedRules } from "../../siem/correlate_shared.ts";
import { sshdBruteForce } from "../../siem/rules/sshd_brute_force.ts";
import { invalidUserSweep } from "../../siem/rules/invalid_user_sweep.ts";
import { newDevice } from "../../siem/rules/new_device.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { openSqliteStore } from "../../store/sqlite.ts";

const T0 = Date.UTC(2026, 10, 23, 12, 3, 0); // 3 min into a 10-min suppression period

function failure(ip: string, t: number, n: number, user = "root", invalid = false): LogEvent {
  return createEvent(`Failed password for ${user} from ${ip} port ${40000 + n} ssh2`, {
    timestamp: t,
    receivedAt: t,
    host: "vm-1",
    program: "sshd",
    id: `vm-1:auth:${ip}:${t}:${n}`,
    fields: {
      category: "auth",
      sshd: { outcome: "failure", user, src_ip: ip, port: 40000 + n, method: "password", invalid },
    },
  });
}

/** One central: its own rule steps, and its sink to the shared file wrapped by sharedRules. */
class Central {
  readonly rules: Correlation[];
  readonly sink: Sink;
  reads = 0;
  constructor(database: string, rules: Correlation[] = [sshdBruteForce(), invalidUserSweep()]) {
    this.rules = rules;
    this.sink = sharedRules(siemSqliteSink({ database, name: "db" }), rules, {
      openStore: () => {
        this.reads++;
        return openSqliteStore({ database });
      },
    });
  }
  async open(): Promise<void> {
    await this.sink.open({
      name: "db",
      stats: new ComponentStats("sink", "db", "sqlite"),
      state: memoryState(),
      log: createLogger("error", undefined, "sink db"),
      signal: new AbortController().signal,
    });
  }
  /** Runs the rules over a batch, then writes it and its alerts as the central's paths do. */
  async receive(batch: LogEvent[]): Promise<void> {
    for (const e of batch) for (const r of this.rules) r.apply(e);
    const alerts: LogEvent[] = [];
    for (const e of batch) {
      for (const r of this.rules) {
        const marked = (e.fields.alerts as Record<string, unknown> | undefined)?.[r.rule];
        if (!marked) continue;
        const copy = structuredClone(e);
        asAlert({ rule: r.rule }).apply(copy);
        alerts.push(copy);
      }
    }
    await this.sink.write(batch);
    if (alerts.length) await this.sink.write(alerts);
  }
}

async function withCentrals(
  fn: (a: Central, b: Central, alerts: (rule?: string) => Promise<string[]>) => Promise<void>,
  rules?: () => Correlation[],
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-shared-rules-" });
  const database = `${dir}/siem.db`;
  const a = new Central(database, rules?.());
  const b = new Central(database, rules?.());
  await a.open();
  await b.open();
  const store = await openSqliteStore({ database }).catch(() => undefined);
  const alerts = async (rule = "sshd_brute_force") => {
    const s = store ?? await openSqliteStore({ database });
    const r = await s.sql(`SELECT id FROM alerts WHERE rule = '${rule}' ORDER BY id`);
    return r.rows.map((x) => String(x.id));
  };
  try {
    await fn(a, b, alerts);
  } finally {
    await a.sink.close();
    await b.sink.close();
    await store?.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sharedRules() alerts once for a brute force split between two centrals, in either order", async () => {
  for (const order of ["a first", "b first"]) {
    await withCentrals(async (a, b, alerts) => {
      const ip = "203.0.113.88";
      // 10 failures in a minute, alternating: 5 reach each central; the threshold is 8.
      const all = Array.from({ length: 10 }, (_, i) => failure(ip, T0 + i * 5000, i));
      const toA = all.filter((_, i) => i % 2 === 0);
      const toB = all.filter((_, i) => i % 2 === 1);
      if (order === "a first") {
        await a.receive(toA);
        assert.deepEqual(await alerts(), [], `${order}: 5 failures stored, no alert yet`);
        await b.receive(toB);
      } else {
        await b.receive(toB);
        await a.receive(toA);
      }
      const ids = await alerts();
      assert.equal(ids.length, 1, `${order}: one alert, got ${ids.join(", ")}`);
      assert.match(ids[0] as string, /^incident:sshd_brute_force:[0-9a-f]{32}$/);
    });
  }
});

Deno.test("sharedRules() raises nothing while the centrals' failures together stay under the threshold", async () => {
  await withCentrals(async (a, b, alerts) => {
    const ip = "198.51.100.4";
    await a.receive(Array.from({ length: 4 }, (_, i) => failure(ip, T0 + i * 1000, i)));
    await b.receive(Array.from({ length: 3 }, (_, i) => failure(ip, T0 + 10_000 + i, 10 + i)));
    // Failures of another address and outside the window do not count either.
    await b.receive([failure("198.51.100.5", T0 + 20_000, 20)]);
    await a.receive([failure(ip, T0 + 200_000, 30)]);
    assert.deepEqual(await alerts(), []);
  });
});

Deno.test("sharedRules() counts distinct invalid users across centrals (the sweep rule)", async () => {
  await withCentrals(async (a, b, alerts) => {
    const ip = "192.0.2.50";
    const users = ["a", "b", "c", "d", "e", "f"];
    await a.receive(users.slice(0, 3).map((u, i) => failure(ip, T0 + i * 1000, i, u, true)));
    // "a" again at B: not a new user; then "d", "e": 5 distinct with A's.
    await b.receive(
      ["a", "d", "e"].map((u, i) => failure(ip, T0 + 10_000 + i * 1000, 10 + i, u, true)),
    );
    assert.equal((await alerts("sshd_invalid_user_sweep")).length, 1);
  });
});

Deno.test("sharedRules() stores one alert when two centrals fire on both sides of a period's edge", async () => {
  await withCentrals(async (a, b, alerts) => {
    const ip = "203.0.113.99";
    const edge = Date.UTC(2026, 10, 23, 12, 10, 0); // a 10-min suppression period ends here
    // Each central hears 8 failures of one attack, A's ending 2 s before the edge, B's 3 s after.
    await a.receive(Array.from({ length: 8 }, (_, i) => failure(ip, edge - 9_000 + i * 1000, i)));
    await b.receive(
      Array.from({ length: 8 }, (_, i) => failure(ip, edge - 4_000 + i * 1000, 100 + i)),
    );
    const ids = await alerts();
    assert.equal(ids.length, 1, `one alert across the edge, got ${ids.join(", ")}`);
    // The same attack 11 minutes later is a new incident.
    await b.receive(
      Array.from({ length: 8 }, (_, i) => failure(ip, edge + 660_000 + i * 1000, 200 + i)),
    );
    assert.equal((await alerts()).length, 2);
  });
});

Deno.test("sharedRules() reads nothing for rules without a shared table or batches without their events", async () => {
  await withCentrals(async (a, b, alerts) => {
    await a.receive([
      createEvent("arp", {
        timestamp: T0,
        receivedAt: T0,
        fields: { category: "addrwatch", arp: { mac: "52:54:00:aa:bb:cc", ip: "10.0.0.7" } },
      }),
    ]);
    await b.receive([createEvent("hello", { timestamp: T0, receivedAt: T0 })]);
    assert.equal(a.reads + b.reads, 0, "the store was never opened");
    assert.equal((await alerts("new_device")).length, 1, "the local rule still alerts");
  }, () => [newDevice({ mac: "arp.mac", ip: "arp.ip" })]);
});

Deno.test("sharedRules() stores both alerts when one stored event tips two rules", async () => {
  await withCentrals(async (a, b, alerts) => {
    const ip = "192.0.2.77";
    // Five failures for five invalid users, 2 at A and 3 at B: the fifth tips both rules.
    const all = ["u1", "u2", "u3", "u4", "u5"].map((u, i) =>
      failure(ip, T0 + i * 1000, i, u, true)
    );
    await a.receive(all.slice(0, 2));
    await b.receive(all.slice(2));
    assert.equal((await alerts()).length, 1, "the brute-force alert");
    assert.equal((await alerts("sshd_invalid_user_sweep")).length, 1, "the sweep alert");
  }, () => [sshdBruteForce({ threshold: 5 }), invalidUserSweep()]);
});
