import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { definePipeline, Engine, generatorSource } from "../../mod.ts";
import { jsonParser } from "../../parsers/json.ts";
import { categorize } from "../../siem/categorize.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { recordVmStatus } from "../../siem/vms.ts";
import { cli, db, dir, H1, H2, NOW, q, quiet, ready } from "./_query_fixture.ts";

Deno.test("query critical --since 24h lists the critical alerts of the last day, newest first", async () => {
  const rows = await q("critical", "--since", "24h");
  assert.deepEqual(rows.map((r) => [r.host, r.rule]), [
    ["vm-1", "sshd_success_after_failures"],
    ["vm-1", "CobaltStrike_Beacon"],
  ]);
  assert.equal(rows[1]?.hash, H1);
  // A wider range reaches the three-day-old one too.
  assert.equal((await q("critical", "--since", "7d")).length, 3);
  assert.equal((await q("critical", "--since", "7d", "--until", "2d")).length, 1);
});

Deno.test("query rules counts hits per rule, the correlated ones included", async () => {
  const rows = await q("rules");
  const hits = Object.fromEntries(rows.map((r) => [r.rule, r.hits]));
  assert.deepEqual(hits, {
    CobaltStrike_Beacon: 1,
    Mimikatz_Strings: 1,
    Suspicious_Cron_Entry: 1,
    Webshell_PHP_Generic: 1,
    sshd_brute_force: 1,
    sshd_success_after_failures: 1,
  });
  const brute = await q("alerts", "--rule", "sshd_brute_force");
  assert.equal(brute.length, 1);
  assert.match(String(brute[0]?.message), /8 failed sshd logins from 203\.0\.113\.9/);
  assert.equal(brute[0]?.host, "vm-1");
  assert.equal(brute[0]?.severity, "high");
});

Deno.test("query host NAME shows its status, recent alerts and stored files with hashes", async () => {
  await ready;
  const out = JSON.parse(await cli(["query", "host", "vm-1", "--db", db, "--format", "json"]));
  assert.equal(out.host.host, "vm-1");
  assert.equal(out.host.status, "ok");
  assert.deepEqual(
    out.alerts.map((a: Record<string, unknown>) => a.rule),
    ["sshd_success_after_failures", "sshd_brute_force", "CobaltStrike_Beacon", "Mimikatz_Strings"],
  );
  assert.deepEqual(out.files.map((f: Record<string, unknown>) => [f.path, f.sha256]), [
    ["quarantine/a.bin", H1],
  ]);
  const table = await cli(["query", "host", "vm-1", "--db", db]);
  assert.match(table, /^host:\n/);
  assert.match(table, /\nalerts:\n/);
  assert.match(table, /\nfiles:\n/);
  assert.match(table, new RegExp(H1));
});

Deno.test("query auth --failed --top 10 ranks source addresses by failed logins", async () => {
  const rows = await q("auth", "--failed", "--top", "10");
  assert.deepEqual(rows.map((r) => [r.src_ip, r.failures, r.successes]), [
    ["203.0.113.9", 8, 0],
    ["192.0.2.44", 5, 1],
    ["198.51.100.7", 3, 0],
  ]);
  assert.equal(rows[0]?.users, 5);
  assert.equal((await q("auth", "--failed", "--top", "1")).length, 1);
});

Deno.test("query hosts tells ok, stale and silent hosts apart", async () => {
  const rows = await q("hosts");
  assert.deepEqual(rows.map((r) => [r.host, r.status]), [
    ["vm-1", "ok"],
    ["vm-2", "stale"],
    ["vm-3", "silent"],
  ]);
  assert.match(String(rows[0]?.seen), /^\d+s$/);
  const relaxed = await q("hosts", "--interval", "1h");
  assert.deepEqual(relaxed.map((r) => r.status), ["ok", "ok", "ok"]);
});

Deno.test("query objects --hash says whether a sample is on the central", async () => {
  const found = await q("objects", "--hash", H1);
  assert.deepEqual(found.map((r) => [r.host, r.remote]), [[
    "vm-1",
    "samples/vm-1/quarantine/a.bin",
  ]]);
  assert.equal((await q("objects", "--hash", H2.slice(0, 12))).length, 1);
  assert.deepEqual(await q("objects", "--hash", "c3".repeat(32)), []);
  await assert.rejects(q("objects", "--hash", "xyz"), /--hash: expected a SHA-256/);
});

Deno.test("query objects shows how many alerts name each object's hash", async () => {
  const rows = await q("objects");
  assert.deepEqual(rows.map((r) => [r.sha256, r.alerts]), [[H2, 1], [H1, 1]]);
  await ready;
  // A second alert naming H1 in upper case counts too; in a copy, so the other tests see theirs.
  const copy = `${dir}/objects-alerts.db`;
  const w = new DatabaseSync(db);
  w.exec(`VACUUM INTO '${copy}'`);
  w.prepare(`ATTACH DATABASE ? AS c`).run(copy);
  w.prepare(
    `INSERT INTO c.alerts (id, timestamp, host, severity, rule, hash, raw)
     VALUES ('t:1', ?, 'vm-3', 'high', 'Same_Sample', ?, '{}')`,
  ).run(new Date(NOW).toISOString(), H1.toUpperCase());
  w.close();
  const out = JSON.parse(await cli(["query", "objects", "--db", copy, "--format", "json"]));
  assert.deepEqual(out.map((r: Record<string, unknown>) => [r.sha256, r.alerts]), [[H2, 1], [
    H1,
    2,
  ]]);
  assert.match(await cli(["query", "objects", "--db", copy, "--format", "csv"]), /,alerts,/);
});

Deno.test("query hosts shows the agentless collector's status and why a host is unreachable", async () => {
  await ready;
  const copy = `${dir}/reach.db`;
  const w = new DatabaseSync(db);
  w.exec(`VACUUM INTO '${copy}'`);
  w.close();
  assert.ok(recordVmStatus(copy, "vm-2", "unreachable", "host key changed"));
  assert.ok(recordVmStatus(copy, "vm-1", "ok", null));
  const rows = JSON.parse(await cli(["query", "hosts", "--db", copy, "--format", "json"]));
  assert.deepEqual(rows.map((r: Record<string, unknown>) => [r.host, r.reach, r.reach_reason]), [
    ["vm-1", "ok", null],
    ["vm-2", "unreachable", "host key changed"],
    ["vm-3", null, null],
  ]);
  const table = await cli(["query", "hosts", "--db", copy], { columns: 200 });
  assert.match(table, /vm-2.*unreachable.*host key changed/);
  const one = JSON.parse(await cli(["query", "host", "vm-2", "--db", copy, "--format", "json"]));
  assert.equal(one.host.reach_reason, "host key changed");
});

Deno.test("query sql runs one read-only statement and refuses writes", async () => {
  const rows = await q("sql", "SELECT count(*) AS n FROM alerts");
  assert.deepEqual(rows, [{ n: 6 }]);
  await assert.rejects(
    q("sql", "DELETE FROM alerts"),
    /query sql: refused, the database is opened read-only/,
  );
  await assert.rejects(q("sql", "DROP TABLE alerts"), /read-only/);
  await assert.rejects(q("sql", "CREATE TABLE t (a)"), /read-only/);
  await assert.rejects(q("sql", "SELECT 1; DELETE FROM alerts"), /one statement at a time/);
  await assert.rejects(q("sql", "SELECT * FROM nope"), /^Error: query sql: no such table: nope$/);
  assert.deepEqual(await q("sql", "SELECT count(*) AS n FROM alerts -- still here;"), [{ n: 6 }]);
  // A semicolon inside a string is not a second statement.
  assert.deepEqual(await q("sql", "SELECT ';' AS x;"), [{ x: ";" }]);
});

Deno.test("query prints tables that fit the terminal, CSV, and no rows as a normal answer", async () => {
  await ready;
  const table = await cli(["query", "rules", "--db", db], { columns: 60 });
  const lines = table.trimEnd().split("\n");
  assert.equal(lines.length, 2 + 6);
  assert.match(lines[0] as string, /^rule\s+hits\s+hosts/);
  for (const line of lines) assert.ok(line.length <= 60, `too wide: ${line}`);
  assert.match(table, /…/);
  const wide = await cli(["query", "rules", "--db", db], { columns: 400 });
  assert.doesNotMatch(wide, /…/);

  const csv = await cli(["query", "critical", "--db", db, "--format", "csv"]);
  const [header, ...rest] = csv.trimEnd().split("\n");
  assert.equal(header, "timestamp,host,severity,rule,file,hash,message");
  assert.equal(rest.length, 2);

  assert.equal(await cli(["query", "critical", "--db", db, "--since", "1s"]), "(no rows)\n");
  assert.equal(
    await cli(["query", "critical", "--db", db, "--since", "1s", "--format", "csv"]),
    "timestamp,host,severity,rule,file,hash,message\n",
  );
  assert.deepEqual(await q("critical", "--since", "1s"), []);
});

Deno.test("query colours severities only on a terminal without NO_COLOR", async () => {
  await ready;
  const esc = "\x1b[";
  assert.ok((await cli(["query", "critical", "--db", db], { tty: true })).includes(esc));
  assert.ok(!(await cli(["query", "critical", "--db", db], { tty: false })).includes(esc));
  assert.ok(
    !(await cli(["query", "critical", "--db", db], { tty: true, env: { NO_COLOR: "1" } }))
      .includes(esc),
  );
  assert.ok(
    !(await cli(["query", "critical", "--db", db, "--format", "json"], { tty: true }))
      .includes(esc),
  );
});

Deno.test("query names a bad option value and a missing database", async () => {
  await ready;
  await assert.rejects(
    cli(["query", "critical", "--db", db, "--since", "yesterday"]),
    (err: Error) => err instanceof RangeError && /^--since: expected a duration/.test(err.message),
  );
  await assert.rejects(
    cli(["query", "hosts", "--db", db, "--interval", "x"]),
    /^RangeError: --interval/,
  );
  await assert.rejects(cli(["query", "rules", "--db", `${dir}/missing.db`]), /no database at/);
  await assert.rejects(
    cli(["query", "rules", "--db", db, "--format", "xml"]),
    /argument 'xml' is invalid/,
  );
  assert.equal(await cli(["query", "rules"], { env: { SLUICE_DB: db } }) !== "", true);
});

Deno.test("query reads while the central writes", async () => {
  await ready;
  const live = `${dir}/live.db`;
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [generatorSource({ count: 4000, rate: 4000 })],
        steps: [jsonParser(), categorize()],
        to: [siemSqliteSink({ database: live, maxBatch: 500 })],
      }],
    }),
    { logger: quiet },
  );
  await engine.start();
  let done = false;
  engine.done.then(() => (done = true));
  const counts: number[] = [];
  try {
    while (!done || counts.length < 3) {
      const [row] = JSON.parse(
        await cli([
          "query",
          "sql",
          "SELECT count(*) AS n FROM alerts",
          "--db",
          live,
          "--format",
          "json",
        ]),
      );
      counts.push(row.n);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    await engine.stop();
  }
  const [last] = JSON.parse(
    await cli([
      "query",
      "sql",
      "SELECT count(*) AS n FROM alerts",
      "--db",
      live,
      "--format",
      "json",
    ]),
  );
  counts.push(last.n);
  for (let i = 1; i < counts.length; i++) {
    assert.ok((counts[i] as number) >= (counts[i - 1] as number));
  }
  // Queries ran while rows were being written, and all rows arrived.
  assert.ok(counts.some((n) => n > 0 && n < 4000), `no query saw a partial table: ${counts}`);
  assert.equal(counts.at(-1), 4000);
});

Deno.test({
  name: "query cleanup",
  fn: async () => {
    await ready;
    await Deno.remove(dir, { recursive: true });
  },
});
