/**
 * SIEM layer costs: the sshd detection rules over parsed events, beside the
 * sshd parser over the same lines; and the daily queries over a database of
 * auth events, beside a plain `count(*)` of the same table.
 *
 * @module
 */

import { Command } from "commander";
import { DatabaseSync } from "node:sqlite";
import { createEvent, createLogger, definePipeline, Engine, type LogEvent } from "../mod.ts";
import { sshdParser } from "../parsers/sshd.ts";
import { registerQueryCommands } from "../runner/query.ts";
import { categorize } from "../siem/categorize.ts";
import { invalidUserSweep } from "../siem/rules/invalid_user_sweep.ts";
import { sshdBruteForce } from "../siem/rules/sshd_brute_force.ts";
import { sshdSuccessAfterFailures } from "../siem/rules/success_after_failures.ts";
import { siemSqliteSink } from "../siem/schema.ts";
import { seededRandom } from "../sources/generator.ts";
import { type MeasuredRow, type MeasuredScenario, median } from "./lib.ts";
import { memoryFields, withMemory } from "./_memory.ts";

/** sshd lines from 2,000 addresses: mostly failures, some invalid users, a few logins. */
function authLines(n: number): string[] {
  const rand = seededRandom(7);
  const users = ["root", "admin", "ubuntu", "test", "oracle", "git", "deploy", "pi"];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `203.0.${Math.floor(rand() * 8)}.${Math.floor(rand() * 250)}`;
    const user = users[Math.floor(rand() * users.length)] as string;
    const r = rand();
    out.push(
      r < 0.7
        ? `Failed password for ${user} from ${ip} port ${i % 65535} ssh2`
        : r < 0.9
        ? `Invalid user ${user}${i % 50} from ${ip} port ${i % 65535}`
        : `Accepted publickey for ${user} from ${ip} port ${i % 65535} ssh2: ED25519 SHA256:x`,
    );
  }
  return out;
}

function parsed(lines: string[]): LogEvent[] {
  const parser = sshdParser();
  return lines.map((text, i) => {
    const e = createEvent(text, { host: `vm-${i % 5}`, timestamp: 1_700_000_000_000 + i * 10 });
    parser.parse(e);
    return e;
  });
}

async function fillDatabase(database: string, lines: string[]): Promise<void> {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const source = {
    kind: "replay",
    done,
    start(ctx: { emit(batch: LogEvent[]): Promise<void> }) {
      (async () => {
        for (let i = 0; i < lines.length; i += 5000) {
          const batch = lines.slice(i, i + 5000).map((text, j) =>
            createEvent(text, {
              host: `vm-${(i + j) % 5}`,
              timestamp: Date.now() - (lines.length - i - j) * 10,
              id: `bench:${i + j}`,
            })
          );
          await ctx.emit(batch);
        }
        resolveDone();
      })();
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
  const engine = new Engine(
    definePipeline({
      paths: [{
        from: [source],
        steps: [sshdParser(), categorize()],
        to: [siemSqliteSink({ database })],
      }],
    }),
    { logger: createLogger("warn") },
  );
  await engine.start();
  await engine.done;
  await engine.stop();
}

async function queryMs(database: string, args: string[]): Promise<number> {
  const program = new Command("sluice").exitOverride();
  registerQueryCommands(program, {
    write: () => {},
    info: () => {},
    isTerminal: false,
    columns: 120,
    env: () => undefined,
  });
  const t0 = performance.now();
  await program.parseAsync(["query", ...args, "--db", database], { from: "user" });
  return performance.now() - t0;
}

/** The SIEM scenario. */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const n = quick ? 50_000 : 500_000;
  const runs = quick ? 1 : 3;
  const lines = authLines(n);
  // Warm the JIT on a slice, so a quick run does not measure compilation.
  {
    const rules = [sshdBruteForce(), invalidUserSweep(), sshdSuccessAfterFailures()];
    for (const e of parsed(lines.slice(0, 20_000))) for (const r of rules) r.apply(e);
  }

  const parseRate = await median(runs, () => {
    const parser = sshdParser();
    const events = lines.map((l) => createEvent(l));
    const t0 = performance.now();
    for (const e of events) parser.parse(e);
    return Promise.resolve(n / ((performance.now() - t0) / 1000));
  });
  const { value: rulesRate, memory: rulesMemory } = await withMemory(() =>
    median(runs, () => {
      const events = parsed(lines);
      const rules = [sshdBruteForce(), invalidUserSweep(), sshdSuccessAfterFailures()];
      const t0 = performance.now();
      for (const e of events) for (const r of rules) r.apply(e);
      return Promise.resolve(n / ((performance.now() - t0) / 1000));
    })
  );
  const rows: MeasuredRow[] = [{
    scenario: "siem",
    subject: "3 sshd rules (brute force, sweep, success after failures) on parsed events",
    value: rulesRate,
    unit: "events/s",
    ...memoryFields(rulesMemory),
    reference: { subject: "sshdParser on the same lines", value: parseRate },
  }];

  const database = `${dir}/siem-bench.db`;
  const rowsN = quick ? 20_000 : 200_000;
  await fillDatabase(database, lines.slice(0, rowsN));
  const countMs = await median(runs, () => {
    const db = new DatabaseSync(database, { readOnly: true });
    const t0 = performance.now();
    db.prepare("SELECT count(*) FROM auth_events").get();
    const ms = performance.now() - t0;
    db.close();
    return Promise.resolve(ms);
  });
  for (
    const [subject, args] of [
      ["query auth --failed --top 10", ["auth", "--failed", "--top", "10"]],
      ["query critical --since 24h", ["critical", "--since", "24h"]],
      ["query hosts", ["hosts"]],
    ] as const
  ) {
    const q = await withMemory(() => median(runs, () => queryMs(database, [...args])));
    rows.push({
      scenario: "siem",
      subject: `${subject} (${rowsN.toLocaleString("en-US")} auth rows)`,
      value: q.value,
      unit: "ms",
      ...memoryFields(q.memory),
      reference: { subject: "SELECT count(*) FROM auth_events", value: countMs },
      note: "includes opening the database read-only and parsing the command line",
    });
  }
  return rows;
};
