import assert from "node:assert/strict";
import { Command } from "commander";
import { definePipeline, Engine, type LogEvent } from "../../mod.ts";
import { jsonParser } from "../../parsers/json.ts";
import { registerQueryCommands } from "../../runner/query.ts";
import { categorize } from "../../siem/categorize.ts";
import { siemSqliteSink } from "../../siem/schema.ts";
import { manualSource } from "../fixtures/components.ts";
import { type Captured, cli, db, dir, ids, io, json, quiet, ready } from "./_query_fixture.ts";

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
  name: "tail cleanup",
  fn: async () => {
    await ready;
    await Deno.remove(dir, { recursive: true });
  },
});
