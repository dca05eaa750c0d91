// issue 20 items 2 and 3, through the central example's rule path: two rules firing on one
// event store two alerts; a window saved by the timer survives kill -9 without later traffic.
import assert from "node:assert/strict";
import { openReadOnly } from "../../runner/tail.ts";
import { startRunner } from "../examples/_procs.ts";
import { waitFor } from "../_peers.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;

function central(dir: string) {
  return startRunner([
    "--state-dir",
    `${dir}/state`,
    CENTRAL,
    "--data",
    `${dir}/data`,
    "--json-port",
    "0",
    "--relp-port",
    "0",
    "--syslog-port",
    "0",
    // The dashboard's default port is fixed: tests running at the same time would collide.
    "--ui",
    "off",
  ]);
}

/** RFC 5424 sshd lines over the central's syslog TCP port. */
async function sendSshd(port: number, lines: string[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const text = lines.map((l, i) =>
      `<38>1 ${new Date(Date.now() + i).toISOString()} vm-2 sshd 4242 - - ${l}\n`
    ).join("");
    await conn.write(new TextEncoder().encode(text));
  } finally {
    conn.close();
  }
}

function rows(db: string, sql: string, ...args: string[]): Array<Record<string, unknown>> {
  try {
    const d = openReadOnly(db);
    try {
      return d.prepare(sql).all(...args) as Array<Record<string, unknown>>;
    } finally {
      d.close();
    }
  } catch {
    return []; // not created yet
  }
}

/** How many failures the saved brute-force window holds for `ip` (a group is `[key, fired, times, …]`). */
function _windowOf(state: unknown, ip: string): number {
  const find = (v: unknown): unknown => {
    if (!v || typeof v !== "object") return undefined;
    if ("rule.sshd_brute_force" in v) {
      return (v as Record<string, unknown>)["rule.sshd_brute_force"];
    }
    for (const x of Object.values(v)) {
      const r = find(x);
      if (r !== undefined) return r;
    }
    return undefined;
  };
  const groups = (find(state) as { groups?: unknown[] } | undefined)?.groups ?? [];
  for (const g of groups) {
    if (Array.isArray(g) && g[0] === ip && Array.isArray(g[2])) return g[2].length;
  }
  return -1;
}

async function syslogPort(r: ReturnType<typeof startRunner>): Promise<number> {
  return Number((await r.waitFor(/syslog UDP \+ TCP\s+127\.0\.0\.1:(\d+)/, 60_000))[1]);
}

Deno.test("central: one event that crosses the brute-force and the invalid-user thresholds stores two alerts", async () => {
  const dir = await Deno.makeTempDir();
  const r = central(dir);
  try {
    const port = await syslogPort(r);
    const ip = "203.0.113.50";
    // 3 failures for real users, then 5 for invalid ones: the 8th failure is the 5th invalid user.
    await sendSshd(port, [
      ...["root", "bob", "alice"].map((u) => `Failed password for ${u} from ${ip} port 4000 ssh2`),
      ...["u1", "u2", "u3", "u4", "u5"].map((u) =>
        `Failed password for invalid user ${u} from ${ip} port 4000 ssh2`
      ),
    ]);
    const db = `${dir}/data/siem.db`;
    const sql = "SELECT rule FROM alerts WHERE raw LIKE ? ORDER BY rule";
    const alerts = await waitFor(
      "two alerts in siem.db",
      () => {
        const got = rows(db, sql, `%${ip}%`);
        return got.length >= 2 ? got : undefined;
      },
      30_000,
    );
    assert.deepEqual(alerts.map((a) => a.rule), ["sshd_brute_force", "sshd_invalid_user_sweep"]);
    assert.equal(await r.stop(), 0);
    assert.equal(rows(db, sql, `%${ip}%`).length, 2);
  } finally {
    await r.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("central: half an attack, nothing after it, kill -9, restart, the other half: exactly one alert", async () => {
  const dir = await Deno.makeTempDir();
  const ip = "203.0.113.60";
  const failures = (n: number) =>
    Array.from({ length: n }, (_, i) => `Failed password for root${i} from ${ip} port 4000 ssh2`);
  const db = `${dir}/data/siem.db`;
  let r = central(dir);
  try {
    await sendSshd(await syslogPort(r), failures(4));
    // The window reaches the state directory with no later event (saved on the store's timer).
    await waitFor("the brute-force window of 4 failures in the state files", async () => {
      for await (const f of Deno.readDir(`${dir}/state`)) {
        if (!f.isFile || !f.name.endsWith(".json")) continue;
        const text = await Deno.readTextFile(`${dir}/state/${f.name}`).catch(() => "");
        if (!text.includes("rule.sshd_brute_force")) continue;
        let state: unknown;
        try {
          state = JSON.parse(text);
        } catch {
          continue; // written as we read
        }
        if (_windowOf(state, ip) === 4) return true;
      }
      return false;
    }, 30_000);
    await r.kill();
    r = central(dir);
    await sendSshd(await syslogPort(r), failures(4));
    const sql = "SELECT id FROM alerts WHERE rule = 'sshd_brute_force' AND raw LIKE ?";
    await waitFor("the brute-force alert", () => rows(db, sql, `%${ip}%`).length > 0, 30_000);
    await waitFor(
      "all 8 failures in auth_events",
      () => rows(db, "SELECT id FROM auth_events WHERE src_ip = ?", ip).length >= 8,
      30_000,
    );
    assert.equal(await r.stop(), 0);
    assert.equal(rows(db, sql, `%${ip}%`).length, 1);
  } finally {
    await r.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
