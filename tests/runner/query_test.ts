import assert from "node:assert/strict";
import { Command } from "commander";
import { DatabaseSync } from "node:sqlite";
import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type EventInit,
  generatorSource,
  type LogEvent,
} from "../../mod.ts";
import { jsonParser } from "../../parsers/json.ts";
import { sshdParser } from "../../parsers/sshd.ts";
import { type QueryIo, registerQueryCommands } from "../../runner/query.ts";
import { categorize } from "../../siem/categorize.ts";
import { asAlert, correlateStore, hasAlert } from "../../siem/correlate.ts";
import { sshdBruteForce } from "../../siem/rules/sshd_brute_force.ts";
import { sshdSuccessAfterFailures } from "../../siem/rules/success_after_failures.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { recordVmStatus, vmsSink } from "../../siem/vms.ts";
import { manualSource } from "../fixtures/components.ts";

const quiet = createLogger("silent");
const NOW = Date.now();
const MIN = 60_000;
const H1 = "a1".repeat(32);
const H2 = "b2".repeat(32);

/** An event received `ago` ms before the test started. */
function ev(message: string, ago: number, init: EventInit = {}): LogEvent {
  const e = createEvent(message, init);
  e.receivedAt = NOW - ago;
  return e;
}

function json(ago: number, body: Record<string, unknown>, host?: string): LogEvent {
  return ev(
    JSON.stringify({ timestamp: new Date(NOW - ago).toISOString(), ...body }),
    ago,
    host ? { host } : {},
  );
}

function sshd(ago: number, text: string, host = "vm-1"): LogEvent {
  return ev(text, ago, { host, program: "sshd", timestamp: NOW - ago, sourceIp: "10.0.0.11" });
}

let counter = 0;
function ids(events: LogEvent[], source: string): LogEvent[] {
  for (const e of events) e.id = `${source}:${counter++}`;
  return events;
}

/**
 * Fills a SIEM database as the central does: JSON from the VMs (alerts,
 * heartbeats), sshd lines through the rules, synced objects; through the
 * SIEM store and the VM registry.
 */
async function fill(database: string): Promise<void> {
  const vm = manualSource("vm");
  const auth = manualSource("auth");
  const objects = manualSource("objects");
  const store = siemSqliteSink({ database });
  const registry = vmsSink({ database });
  const rules = [sshdBruteForce(), sshdSuccessAfterFailures()];
  const engine = new Engine(
    definePipeline({
      paths: [
        { from: [vm], steps: [jsonParser(), categorize()], to: [store, registry] },
        {
          from: [auth],
          steps: [sshdParser(), categorize(), ...rules],
          to: [store, registry, correlateStore(rules)],
          paths: [{ steps: [hasAlert(), asAlert()], to: [store] }],
        },
        { from: [objects], steps: [categorize()], to: [store, registry] },
      ],
    }),
    { logger: quiet },
  );
  await engine.start();
  const send = (src: typeof vm, batch: LogEvent[]) =>
    new Promise<void>((resolve) => void src.emit(ids(batch, src.name as string), resolve));
  try {
    await send(vm, [
      json(60 * MIN, { type: "heartbeat", host: "vm-1", agent_version: "0.1.0", uptime: 10 }),
      json(10_000, { type: "heartbeat", host: "vm-1", agent_version: "0.1.0", uptime: 3600 }),
      json(150_000, { type: "heartbeat", host: "vm-2", agent_version: "0.1.0", uptime: 50 }),
      json(60 * MIN, { type: "heartbeat", host: "vm-3", agent_version: "0.0.9", uptime: 9 }),
      json(60 * MIN, {
        host: "vm-1",
        severity: "critical",
        rule: "CobaltStrike_Beacon",
        file: "/var/quarantine/a.bin",
        hash: H1,
        msg: "YARA rule CobaltStrike_Beacon matched",
      }),
      json(120 * MIN, {
        host: "vm-2",
        severity: "high",
        rule: "Webshell_PHP_Generic",
        file: "/var/www/x.php",
        hash: H2,
      }),
      json(3 * 24 * 60 * MIN, { host: "vm-1", severity: "critical", rule: "Mimikatz_Strings" }),
      json(120 * MIN, { host: "vm-3", severity: "medium", rule: "Suspicious_Cron_Entry" }),
    ]);
    const lines: LogEvent[] = [];
    const users = ["root", "admin", "root", "ubuntu", "root", "test", "root", "oracle"];
    users.forEach((u, i) => {
      const ago = 30 * MIN - i * 1000;
      lines.push(
        sshd(
          ago,
          `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=${u}`,
        ),
        sshd(ago, `Failed password for ${u} from 203.0.113.9 port ${40000 + i} ssh2`),
      );
    });
    for (let i = 0; i < 3; i++) {
      lines.push(sshd(20 * MIN - i, `Failed password for root from 198.51.100.7 port ${i} ssh2`));
    }
    for (let i = 0; i < 5; i++) {
      lines.push(
        sshd(15 * MIN - i * 1000, `Failed password for deploy from 192.0.2.44 port ${i} ssh2`),
      );
    }
    lines.push(sshd(14 * MIN, "Accepted password for deploy from 192.0.2.44 port 99 ssh2"));
    await send(auth, lines);
    await send(objects, [
      ev("quarantine/a.bin", 50 * MIN, {
        host: "vm-1",
        fields: {
          object: {
            host: "vm-1",
            kind: "quarantine",
            path: "quarantine/a.bin",
            size: 4096,
            sha256: H1,
            uploaded_at: new Date(NOW - 50 * MIN).toISOString(),
            remote: "samples/vm-1/quarantine/a.bin",
          },
        },
      }),
      ev("dumps/core.1", 40 * MIN, {
        host: "vm-2",
        fields: {
          object: {
            host: "vm-2",
            kind: "dumps",
            path: "dumps/core.1",
            size: 1 << 20,
            sha256: H2,
            uploaded_at: new Date(NOW - 40 * MIN).toISOString(),
          },
        },
      }),
    ]);
  } finally {
    await engine.stop();
  }
}

interface Captured {
  out: string;
  info: string[];
}

function io(
  captured: Captured,
  options: { columns?: number; tty?: boolean; env?: Record<string, string>; signal?: AbortSignal } =
    {},
): QueryIo {
  return {
    write: (text) => void (captured.out += text),
    info: (text) => void captured.info.push(text),
    isTerminal: options.tty ?? false,
    columns: options.columns,
    env: (name) => options.env?.[name],
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

async function cli(
  args: string[],
  options: Parameters<typeof io>[1] = {},
): Promise<string> {
  const captured: Captured = { out: "", info: [] };
  const program = new Command("sluice").exitOverride().configureOutput({
    writeOut: (s) => void (captured.out += s),
    writeErr: () => {},
  });
  registerQueryCommands(program, io(captured, options));
  await program.parseAsync(args, { from: "user" });
  return captured.out;
}

let dir: string;
let db: string;
const ready = (async () => {
  dir = await Deno.makeTempDir();
  db = `${dir}/siem.db`;
  await fill(db);
})();

async function q(...args: string[]): Promise<Array<Record<string, unknown>>> {
  await ready;
  return JSON.parse(await cli(["query", ...args, "--db", db, "--format", "json"]));
}

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

Deno.test("tail prints an event stored after it started, filtered and coloured by severity", async () => {
  await ready;
  const live = `${dir}/tail.db`;
  const sink = siemSqliteSink({ database: live });
  const src = manualSource("vm");
  const engine = new Engine(
    definePipeline({ paths: [{ from: [src], steps: [jsonParser(), categorize()], to: [sink] }] }),
    { logger: quiet },
  );
  await engine.start();
  const emit = (batch: LogEvent[]) =>
    new Promise<void>((resolve) => void src.emit(ids(batch, "tail"), resolve));
  const stop = new AbortController();
  const captured: Captured = { out: "", info: [] };
  try {
    await emit([json(1000, { host: "vm-1", severity: "critical", rule: "Stored_Before" })]);
    const program = new Command("sluice").exitOverride();
    registerQueryCommands(program, io(captured, { tty: true, signal: stop.signal }));
    const running = program.parseAsync(
      ["tail", "--db", live, "--severity", "critical", "--poll", "20ms"],
      { from: "user" },
    );
    const wait = async (what: RegExp) => {
      const end = Date.now() + 10_000;
      while (!what.test(captured.out + captured.info.join("\n"))) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await wait(/following/);
    await emit([
      json(0, { host: "vm-2", severity: "high", rule: "Not_Critical" }),
      json(0, {
        host: "vm-2",
        severity: "critical",
        rule: "Reverse_Shell_Bash",
        msg: "reverse shell",
      }),
    ]);
    await wait(/Reverse_Shell_Bash/);
    stop.abort();
    await running;
  } finally {
    stop.abort();
    await engine.stop();
  }
  const lines = captured.out.trimEnd().split("\n");
  assert.equal(lines.length, 1, captured.out);
  const line = lines[0] as string;
  assert.ok(line.startsWith("\x1b[1;31m") && line.endsWith("\x1b[0m"), JSON.stringify(line));
  assert.match(line, / vm-2 CRITICAL Reverse_Shell_Bash reverse shell/);
  assert.doesNotMatch(captured.out, /Stored_Before|Not_Critical/);
});

Deno.test("tail --since prints what was stored since then, as JSON lines, filtered by host and category", async () => {
  await ready;
  const stop = new AbortController();
  const captured: Captured = { out: "", info: [] };
  const program = new Command("sluice").exitOverride();
  registerQueryCommands(program, io(captured, { signal: stop.signal }));
  const running = program.parseAsync(
    [
      "tail",
      "--db",
      db,
      "--since",
      "45m",
      "--category",
      "auth,alerts",
      "--host",
      "vm-1",
      "--format",
      "json",
      "--poll",
      "20ms",
    ],
    { from: "user" },
  );
  const end = Date.now() + 10_000;
  while (captured.info.length === 0 || captured.out === "") {
    if (Date.now() > end) throw new Error("timed out waiting for tail");
    await new Promise((r) => setTimeout(r, 10));
  }
  stop.abort();
  await running;
  const rows = captured.out.trimEnd().split("\n").map((l) => JSON.parse(l));
  const tables = new Set(rows.map((r) => r.table));
  assert.deepEqual([...tables].sort(), ["alerts", "auth_events"]);
  assert.ok(rows.every((r) => r.host === "vm-1"));
  // 8 × 2 brute-force lines, 3 + 5 failures and a login, and the two correlated alerts.
  assert.equal(rows.filter((r) => r.table === "auth_events").length, 25);
  assert.deepEqual(
    rows.filter((r) => r.table === "alerts").map((r) => r.rule),
    ["sshd_brute_force", "sshd_success_after_failures"],
  );
  // Time order across tables.
  const times = rows.map((r) => r.timestamp as string);
  assert.deepEqual(times, [...times].sort());
});

Deno.test("tail prints a heartbeat's uptime from its stored column", async () => {
  await ready;
  const stop = new AbortController();
  const captured: Captured = { out: "", info: [] };
  const program = new Command("sluice").exitOverride();
  registerQueryCommands(program, io(captured, { signal: stop.signal }));
  const running = program.parseAsync(
    [
      "tail",
      "--db",
      db,
      "--since",
      "2h",
      "--category",
      "heartbeat",
      "--host",
      "vm-1",
      "--poll",
      "20ms",
    ],
    { from: "user" },
  );
  const end = Date.now() + 10_000;
  while (captured.out.split("\n").length < 3) {
    if (Date.now() > end) {
      stop.abort();
      throw new Error(`timed out waiting for tail: ${JSON.stringify(captured.out)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  stop.abort();
  await running;
  const lines = captured.out.trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, / vm-1 heartbeat version=0\.1\.0 uptime=10s$/);
  assert.match(lines[1] as string, / vm-1 heartbeat version=0\.1\.0 uptime=3600s$/);
});

Deno.test("tail refuses an unknown category before opening anything", async () => {
  await assert.rejects(
    cli(["tail", "--db", "/nonexistent.db", "--category", "bogus"]),
    /--category: expected one of alerts, auth/,
  );
});

Deno.test({
  name: "query cleanup",
  fn: async () => {
    await ready;
    await Deno.remove(dir, { recursive: true });
  },
});
