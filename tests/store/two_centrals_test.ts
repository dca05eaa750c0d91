// issue 25, "several centrals, one database": two central example processes with the same
// --db URL, and two VM processes tailing the same files (one VM configured with both centrals, as
// two forwarders), so every alert and every sshd line reaches both centrals with the same event id
// (RELP carries it). Every event is stored once, the brute-force rule's alert once (also when the
// centrals hear the attack in different orders: the alert's id is its incident); a kill -9 of
// one central mid-burst loses and doubles nothing. A brute force split between the centrals (half
// the failures at each, e.g. a router failing over its syslog target) alerts once: after each
// batch a central counts what every central stored on the server (siem/correlate_shared.ts).
import assert from "node:assert/strict";
import { syntheticAlert } from "../../mod.ts";
import { openStore } from "../../store/open.ts";
import { hashPassword } from "../../ui/password.ts";
import { startRunner } from "../examples/_procs.ts";
import { waitFor } from "../_peers.ts";
import { freePort, rowsAndIds, type SqlServer, testOnServers } from "../fixtures/sql_servers.ts";

const CENTRAL = new URL("../../examples/pipeline.central.ts", import.meta.url).pathname;
const VM = new URL("../../examples/pipeline.vm.ts", import.meta.url).pathname;

type Runner = ReturnType<typeof startRunner>;

/** One number from the server, 0 while the table does not exist. */
async function count(server: SqlServer, sql: string): Promise<number> {
  return Number((await server.sql(sql).catch(() => "0")).trim().split("\t")[0]);
}

/** Lines in a central's all_events JSONL files (today's and any renamed ones). */
async function jsonlLines(logs: string): Promise<number> {
  let n = 0;
  try {
    for await (const f of Deno.readDir(logs)) {
      if (!f.isFile || !/^all_events.*\.jsonl$/.test(f.name)) continue;
      const text = await Deno.readTextFile(`${logs}/${f.name}`).catch(() => "");
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
    }
  } catch {
    // not made yet
  }
  return n;
}

/** RFC 5424 sshd lines over a central's syslog TCP port, stamped now (or at `at(i)`). */
async function sendSshd(
  port: number,
  lines: string[],
  at = (i: number) => Date.now() + i,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const text = lines.map((l, i) =>
      `<38>1 ${new Date(at(i)).toISOString()} router sshd 4242 - - ${l}\n`
    ).join("");
    await conn.write(new TextEncoder().encode(text));
  } finally {
    conn.close();
  }
}

/** The central's dashboard through a real login; returns the alerts page's HTML. */
async function alertsPage(base: string, user: string, password: string): Promise<string> {
  const cookies = new Map<string, string>();
  const go = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(base + path, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0] as string;
      cookies.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
    }
    return res;
  };
  const page = await go("login");
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const res = await go("login", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, user, password, next: "/" }).toString(),
  });
  await res.body?.cancel();
  assert.equal(res.status, 303, "login to the central's dashboard");
  const alerts = await go("alerts?rule=sshd_brute_force");
  assert.equal(alerts.status, 200);
  return await alerts.text();
}

async function twoCentrals(server: SqlServer): Promise<void> {
  const url = server.url;
  const dir = await Deno.makeTempDir({ prefix: "sluice-2central-" });
  const first = 3000;
  const second = 6000;
  const attacker = "203.0.113.77";
  const failures = 12; // the brute-force rule fires at 8 in 120 s
  // The dashboard's admin, made on the server before either central starts.
  const setup = await openStore(url);
  await setup.ui.addUser({
    name: "root",
    role: "admin",
    passwordHash: await hashPassword("root-password-1"),
  });
  await setup.close();

  const relp = { a: freePort(), b: freePort() };
  const uiPort = { a: freePort(), b: freePort() };
  const centralArgs = (k: "a" | "b") => [
    "--state-dir",
    `${dir}/${k}-state`,
    "--log-level",
    "warn",
    CENTRAL,
    "--data",
    `${dir}/${k}`,
    "--json-port",
    "0",
    "--relp-port",
    String(relp[k]),
    "--syslog-port",
    "0",
    "--ui",
    `127.0.0.1:${uiPort[k]}`,
    "--db",
    url,
  ];
  const vmArgs = (
    k: "a" | "b",
    as = "",
    files = { alerts: `${dir}/vm/alerts.jsonl`, yara: `${dir}/vm/auth.log` },
    host = "twin-vm",
  ) => [
    "--state-dir",
    `${dir}/vm-${k}${as}-state`,
    "--log-level",
    "warn",
    VM,
    "--central",
    "127.0.0.1",
    "--relp-port",
    String(relp[k]),
    "--alerts",
    files.alerts,
    "--yara",
    files.yara,
    "--data",
    `${dir}/vm-${k}${as}`,
    "--host",
    host,
  ];
  const syslogPort = async (r: Runner) =>
    Number((await r.waitFor(/syslog UDP \+ TCP\s+127\.0\.0\.1:(\d+)/, 90_000))[1]);
  const procs: Record<string, Runner | undefined> = {};
  const expectAlerts = async (n: number, what: string) => {
    await waitFor(
      `${n} alerts in the server (${what})`,
      async () => (await rowsAndIds(server, "alerts"))[0] >= n,
      240_000,
    ).catch((err) => {
      // What the processes said is the only clue to why the rows never came.
      const said = Object.entries(procs).map(([k, r]) => `--- ${k}:\n${r?.stderr().slice(-4000)}`);
      throw new Error(`${err instanceof Error ? err.message : err}\n${said.join("\n")}`);
    });
  };
  try {
    await Deno.mkdir(`${dir}/vm`, { recursive: true });
    const alertLines = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => syntheticAlert(from + i) + "\n").join("");
    await Deno.writeTextFile(`${dir}/vm/alerts.jsonl`, alertLines(0, first));
    await Deno.writeTextFile(
      `${dir}/vm/auth.log`,
      Array.from(
        { length: failures },
        (_, i) => `Failed password for root from ${attacker} port ${40000 + i} ssh2\n`,
      ).join(""),
    );
    procs.a = startRunner(centralArgs("a"));
    procs.b = startRunner(centralArgs("b"));
    const syslogA = await syslogPort(procs.a);
    const syslogB = await syslogPort(procs.b);
    procs.vmA = startRunner(vmArgs("a"));
    procs.vmB = startRunner(vmArgs("b"));

    // 1. Both centrals get everything; the server holds it once, and one brute-force alert.
    const expected = first + 1;
    await expectAlerts(expected, "first burst");
    for (const k of ["a", "b"]) {
      await waitFor(
        `central ${k} saw all ${first + failures} events (its JSONL)`,
        async () => (await jsonlLines(`${dir}/${k}/logs`)) >= first + failures,
        120_000,
      );
    }
    await waitFor(
      `${failures} sshd failures in auth_events`,
      async () => (await rowsAndIds(server, "auth_events"))[0] >= failures,
      60_000,
    );
    assert.deepEqual(await rowsAndIds(server, "alerts"), [expected, expected]);
    assert.deepEqual(await rowsAndIds(server, "auth_events"), [failures, failures]);
    const bruteForce =
      `SELECT count(*) FROM alerts WHERE rule = 'sshd_brute_force' AND raw LIKE '%${attacker}%'`;
    assert.equal(await count(server, bruteForce), 1, "one brute-force alert, not one per central");

    // The dashboard of central A reads the server (users, sessions and the alert are there).
    const html = await alertsPage(`http://127.0.0.1:${uiPort.a}/`, "root", "root-password-1");
    assert.match(html, /sshd_brute_force/);
    assert.match(html, new RegExp(attacker.replaceAll(".", "\\.")));
    assert.equal(await count(server, "SELECT count(*) FROM ui_sessions"), 1);
    // …and no SIEM row went to siem.db beside it (the vms sink makes the schema's tables there).
    for (const k of ["a", "b"]) {
      const local = await openStore(`${dir}/${k}/siem.db`);
      try {
        const n = await local.sql("SELECT count(*) AS n FROM alerts");
        assert.deepEqual(n.rows, [{ n: 0 }], `central ${k}'s siem.db holds no alerts`);
      } finally {
        await local.close();
      }
    }

    // 2. A split attack: 5 failures at each central (10 in a minute from one address). Each
    // central's own window holds 5, under the threshold of 8; the one that commits last counts 10
    // on the server and raises the alert (both may; one id). Syslog carries no event id, so each
    // line is sent to one central only here (a line sent to both would be stored twice).
    const splitter = "203.0.113.88";
    const half = (from: number) =>
      Array.from(
        { length: 5 },
        (_, i) => `Failed password for admin from ${splitter} port ${from + i} ssh2`,
      );
    await sendSshd(syslogA, half(50000));
    await sendSshd(syslogB, half(50100));
    const splitRows = `SELECT count(*) FROM auth_events WHERE src_ip = '${splitter}'`;
    await waitFor(
      "the split attack's 10 failures stored",
      async () => (await count(server, splitRows)) >= 10,
      60_000,
    );
    const splitAlerts =
      `SELECT count(*) FROM alerts WHERE rule = 'sshd_brute_force' AND raw LIKE '%${splitter}%'`;
    await waitFor(
      "the split attack's brute-force alert",
      async () => (await count(server, splitAlerts)) >= 1,
      30_000,
    );
    // Both centrals have committed and checked by now (each checks right after its commit).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count(server, splitRows), 10);
    assert.equal(await count(server, splitAlerts), 1, "a split brute force alerts once");
    console.log(`  split attack: 10 failures, 5 at each central: 1 alert`);

    // 2b. One attack across a suppression period's edge (10 min): A hears 8 failures ending 2 s
    // before it and alerts; B hears 8 others ending 3 s after it, so its own incident differs.
    // B finds A's alert (same rule and address, less than 10 min away) and stores its alert
    // under that id: one row.
    const edgy = "203.0.113.66";
    const edge = Math.floor(Date.now() / 600_000) * 600_000;
    const eight = (from: number) =>
      Array.from(
        { length: 8 },
        (_, i) => `Failed password for admin from ${edgy} port ${from + i} ssh2`,
      );
    const edgeAlerts =
      `SELECT count(*) FROM alerts WHERE rule = 'sshd_brute_force' AND raw LIKE '%${edgy}%'`;
    await sendSshd(syslogA, eight(52000), (i) => edge - 9_000 + i * 1000);
    await waitFor(
      "A's alert before the edge",
      async () => (await count(server, edgeAlerts)) >= 1,
      30_000,
    );
    await sendSshd(syslogB, eight(52100), (i) => edge - 4_000 + i * 1000);
    const edgeRows = `SELECT count(*) FROM auth_events WHERE src_ip = '${edgy}'`;
    await waitFor(
      "B's 8 failures stored",
      async () => (await count(server, edgeRows)) >= 16,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count(server, edgeAlerts), 1, "one alert across a period's edge");
    console.log(`  one attack across a suppression period's edge, heard by both: 1 alert`);

    // 3. One attacker, two attacked VMs (h1, h2), each VM sending to both centrals, but A hears
    // from h1 first and B from h2 first: each window crosses the threshold on a different event,
    // yet both name the alert by its incident (rule, address, suppression period), so the shared
    // table keeps one.
    const both = "203.0.113.99";
    const lines = (port: number) =>
      Array.from(
        { length: 8 },
        (_, i) => `Failed password for root from ${both} port ${port + i} ssh2\n`,
      )
        .join("");
    await Deno.writeTextFile(`${dir}/vm/h1.log`, lines(60000));
    await Deno.writeTextFile(`${dir}/vm/h2.log`, lines(61000));
    const hostFiles = (h: string) => ({
      alerts: `${dir}/vm/${h}.log`,
      yara: `${dir}/vm/${h}.none`,
    });
    const ofBoth = `SELECT count(*) FROM auth_events WHERE src_ip = '${both}'`;
    procs.h1a = startRunner(vmArgs("a", "h1", hostFiles("h1"), "h1"));
    procs.h2b = startRunner(vmArgs("b", "h2", hostFiles("h2"), "h2"));
    await waitFor(
      "both VMs' 16 failures stored",
      async () => (await count(server, ofBoth)) >= 16,
      90_000,
    );
    procs.h2a = startRunner(vmArgs("a", "h2", hostFiles("h2"), "h2"));
    procs.h1b = startRunner(vmArgs("b", "h1", hostFiles("h1"), "h1"));
    const once =
      `SELECT count(*) FROM alerts WHERE rule = 'sshd_brute_force' AND raw LIKE '%${both}%'`;
    await waitFor(
      "the brute-force alert of the attack on h1 and h2",
      async () => (await count(server, once)) >= 1,
      60_000,
    );
    // Each central has the other VM's lines too now (its JSONL: 8 + 8 more lines each).
    for (const k of ["a", "b"]) {
      await waitFor(
        `central ${k} saw both VMs' failures`,
        async () => (await jsonlLines(`${dir}/${k}/logs`)) >= first + failures + 5 + 8 + 16,
        60_000,
      );
    }
    assert.equal(await count(server, once), 1, "one attack seen in two orders: one alert");
    assert.deepEqual(
      (await rowsAndIds(server, "auth_events"))[0],
      failures + 10 + 16 + 16,
      "the 16 failures stored once",
    );
    console.log(`  one attack on two VMs, heard in opposite orders: 1 alert`);
    for (const k of ["h1a", "h2a", "h1b", "h2b"]) {
      assert.equal(await procs[k]!.stop(), 0, `${k} exit code`);
      procs[k] = undefined;
    }

    // 4. A second burst, and a kill -9 of central A in the middle of it.
    await Deno.writeTextFile(`${dir}/vm/alerts.jsonl`, alertLines(first, second), {
      append: true,
    });
    await expectAlerts(expected + 3 + 1500, "second burst, before the kill");
    await procs.a.kill();
    console.log(
      `  central A killed with ${(await rowsAndIds(server, "alerts"))[0] - 4} of ${
        first + second
      } alerts stored`,
    );
    procs.a = startRunner(centralArgs("a"));
    await procs.a.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 90_000);
    const total = first + second + 4; // and the four attacks' alerts
    await expectAlerts(total, "second burst");
    await waitFor(
      `central B saw all ${first + second + failures + 5 + 8} events`,
      async () => (await jsonlLines(`${dir}/b/logs`)) >= first + second + failures + 5 + 8,
      120_000,
    );
    // A restarted: VM-A resends what A had not acknowledged; wait until A has it all too.
    await waitFor(
      `central A saw all ${first + second + failures + 5 + 8} events`,
      async () => (await jsonlLines(`${dir}/a/logs`)) >= first + second + failures + 5 + 8,
      120_000,
    );
    for (const k of ["vmA", "vmB", "a", "b"]) {
      const code = await procs[k]!.stop();
      procs[k] = undefined;
      assert.equal(code, 0, `${k} exit code`);
    }
    assert.deepEqual(await rowsAndIds(server, "alerts"), [total, total], "0 lost, 0 doubled");
    // The split and edge attacks' syslog lines have no event id (NULL, not counted as distinct).
    assert.deepEqual(await rowsAndIds(server, "auth_events"), [
      failures + 10 + 16 + 16,
      failures + 16,
    ]);
    assert.equal(await count(server, bruteForce), 1);
  } finally {
    for (const p of Object.values(procs)) await p?.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

testOnServers(
  (db) =>
    `two centrals, one ${
      db === "PostgreSQL" ? "Postgres" : db
    }: every event once, one brute-force alert, a split attack and one across a period edge alerted once, a kill -9 of one mid-burst loses nothing`,
  twoCentrals,
);

Deno.test("the central refuses --retain-db with a server --db (retention would touch siem.db only)", async () => {
  const { default: central } = await import("../../examples/pipeline.central.ts");
  const dir = await Deno.makeTempDir({ prefix: "sluice-retain-" });
  try {
    const args = ["--data", dir, "--ui", "off", "--db", "postgres://siem:pw@db.lan/siem"];
    assert.throws(
      () => central({ args: [...args, "--retain-db", "30d"], env: {} }),
      (err: Error) =>
        err instanceof RangeError && /--retain-db/.test(err.message) &&
        err.message.includes("siem:***@db.lan") && !err.message.includes(":pw@"),
    );
    assert.ok(central({ args, env: {} }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
