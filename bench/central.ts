/**
 * The central end to end, beside syslog-ng and rsyslog on the same machine
 * in the same run (scenarios 1, 2, 4 and 7 of the benchmark suite):
 *
 * 1. `central-sqlite`: TCP JSON lines → json → SQLite `alerts` (sluice's
 *    SIEM schema and indexes) + JSONL `all_events`: sluice running
 *    `examples/pipeline.central.ts` beside syslog-ng with the reference
 *    design's configuration as written and syslog-ng tuned;
 * 2. `central-jsonl`: TCP → json → one JSONL file: sluice
 *    (`bench/pipelines/json_to_jsonl.ts`) beside syslog-ng `json-parser()` →
 *    `file()` and rsyslog `mmjsonparse` → `omfile` (rsyslog has no SQLite
 *    output, so it takes part here only);
 * 4. `burst-loss`: every run above already sends as fast as the sender can,
 *    so the events stored against those sent are reported per contender
 *    from the same runs, not measured twice;
 * 7. `ceilings`: `JSON.parse` over the same lines and raw `node:sqlite`
 *    prepared inserts into the same table with the same batch size (2000
 *    rows a transaction), in this process.
 *
 * Each contender runs `BENCH_RUNS` times (3; 1 with `--quick`), interleaved
 * (run 1 of every contender, then run 2 …), on `BENCH_EVENTS` alerts (1M;
 * 100k with `--quick`, which runs sluice and the ceilings only). A contender
 * whose program is missing is skipped with a note.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import {
  alertsTableSql,
  type Contender,
  type ContenderRun,
  rsyslogContender,
  runContender,
  sluiceContender,
  syslogNgContender,
} from "./contenders.ts";
import { type BenchRow, type MeasuredRow, type MeasuredScenario, spread } from "./lib.ts";
import { maxOf, medianPeak, memoryFields, type MemoryPeak, treeMemory } from "./_memory.ts";
import { workload } from "./workload.ts";
import { seedSyslogNgContender } from "./seed_central.ts";

/** Rows per transaction in the SQLite ceiling: the SQLite sink's default batch. */
const _BATCH = 2000;

function _fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

interface _Ceiling {
  parse: number;
  insert: number;
  both: number;
}

/**
 * Parses the lines in batches of 2000 and inserts each batch in one
 * transaction with a prepared statement; parse and insert time are
 * clocked apart. Same table, indexes and PRAGMAs as sluice's SQLite sink,
 * except that SQLite checkpoints at its default WAL size (16 MiB here),
 * which loads a little faster than the sink's 8 MiB without its
 * background WAL flush: the ceiling stays the best raw loop.
 */
function _ceiling(lines: readonly string[], path: string): _Ceiling {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA page_size = 16384");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA cache_size = -16384");
    db.exec(alertsTableSql());
    const stmt = db.prepare(
      `INSERT INTO "alerts" ("timestamp", "host", "severity", "rule", "file", "hash", "message", ` +
        `"source", "raw", "id") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT ("id") DO NOTHING`,
    );
    let parseMs = 0;
    let insertMs = 0;
    type Alert = Record<string, string>;
    const parsed: Alert[] = new Array(_BATCH);
    for (let i = 0; i < lines.length; i += _BATCH) {
      const n = Math.min(_BATCH, lines.length - i);
      const t0 = performance.now();
      for (let j = 0; j < n; j++) parsed[j] = JSON.parse(lines[i + j] as string) as Alert;
      const t1 = performance.now();
      db.exec("BEGIN");
      for (let j = 0; j < n; j++) {
        const a = parsed[j] as Alert;
        stmt.run(
          a.timestamp ?? null,
          a.host ?? null,
          a.severity ?? null,
          a.rule ?? null,
          a.file ?? null,
          a.hash ?? null,
          a.msg ?? null,
          null,
          lines[i + j] as string,
          null,
        );
      }
      db.exec("COMMIT");
      parseMs += t1 - t0;
      insertMs += performance.now() - t1;
    }
    const perSecond = (ms: number) => lines.length / (ms / 1000);
    return {
      parse: perSecond(parseMs),
      insert: perSecond(insertMs),
      both: perSecond(parseMs + insertMs),
    };
  } finally {
    db.close();
  }
}

/** The payload's lines, decoded a slice at a time (a string has at most ~512M characters). */
function _lines(payload: Uint8Array): string[] {
  const out: string[] = [];
  const decoder = new TextDecoder();
  for (let start = 0; start < payload.length;) {
    let end = Math.min(payload.length, start + (64 << 20));
    if (end < payload.length) end = payload.lastIndexOf(10, end - 1) + 1;
    const part = decoder.decode(payload.subarray(start, end)).split("\n");
    part.pop();
    for (const line of part) out.push(line);
    start = end;
  }
  return out;
}

interface _Entry {
  group: "central-sqlite" | "central-jsonl";
  contender: Contender;
  runs: ContenderRun[];
  error?: string;
  skipped?: string;
}

function _median(values: readonly number[]): number {
  return spread(values).median;
}

/** The run that lost the most (the first such). */
function _worst(runs: readonly ContenderRun[]): ContenderRun {
  return runs.reduce((w, r) => (r.loss > w.loss ? r : w), runs[0] as ContenderRun);
}

function _metrics(
  runs: readonly ContenderRun[],
): Partial<BenchRow> & { peakRssMb: number; peakPrivateMb: number; pssMb: number } {
  const worst = _worst(runs);
  return {
    ...(runs.length > 1 ? { runs: runs.map((r) => r.rate) } : {}),
    cpuSeconds: _median(runs.map((r) => r.cpuSeconds)),
    idleRssMb: _median(runs.map((r) => r.idleRssMb)),
    ...memoryFields(medianPeak(runs.map((r) => r.memory))),
    fileRssMb: _median(runs.map((r) => r.fileRssMb)),
    sent: worst.sent,
    stored: worst.stored,
  };
}

/**
 * Each round's ratio of one contender's run to another's: the two ran back
 * to back, so a slow phase of this machine slows both, and the spread shows
 * how far the median ratio can be trusted. Nothing when the rounds differ.
 */
function _perRound(runs: readonly number[], references: readonly number[]): string | undefined {
  if (runs.length < 2 || runs.length !== references.length) return undefined;
  return `per round ${
    runs.map((x, i) => `${(x / (references[i] as number)).toFixed(2)}×`).join(", ")
  }`;
}

function _note(entry: _Entry): string {
  const runs = entry.runs;
  const parts = [
    `${_median(runs.map((r) => r.mbPerSecond)).toFixed(1)} MB/s`,
    `CPU ${
      (_median(runs.map((r) => r.cpuSeconds / Math.max(r.seconds, 1e-9))) * 100).toFixed(0)
    }% of a core`,
  ];
  const worst = _worst(runs);
  if (Object.keys(worst.outputs).length > 1) {
    parts.push(
      Object.entries(worst.outputs).map(([name, n]) => `${_fmt(n)} ${name}`).join(", "),
    );
  }
  const ends = runs.map((r) => r.end).filter((e) => e !== "complete");
  if (ends.length) {
    parts.push(
      `${ends.length} of ${runs.length} runs ${ends[0]} (nothing landed for the stall timeout)`,
    );
  }
  return parts.join("; ");
}

/**
 * The row that counts (issue 26): the central example with its default
 * flags against syslog-ng running the seed's central configuration, tuned
 * (goal ≥ 1.5×, then 2×), and against the same run's ceiling (≥ 0.85×).
 */
function _seedRows(
  central: _Entry,
  seed: { subject: string; value: number; rates: number[] },
  ceiling: { subject: string; value: number; rates: number[] },
): MeasuredRow[] {
  const rates = central.runs.map((r) => r.rate);
  const memory = memoryFields(medianPeak(central.runs.map((r) => r.memory)));
  return [seed, ceiling].map(({ rates: refRates, ...reference }, i) => {
    const paired = _perRound(rates, refRates);
    return {
      scenario: "central-sqlite",
      subject: `central example, default flags (vs ${reference.subject})`,
      value: _median(rates),
      unit: "msg/s",
      reference,
      ...memory,
      note: `${i === 0 ? "the row that counts: goal ≥ 1.5×, then 2×" : "goal ≥ 0.85×"}${
        paired ? `; ${paired}` : ""
      }`,
    };
  });
}

/**
 * A contender started with more environment variables (the central
 * example reads `SLUICE_*` as its flags), under its name plus `suffix`.
 *
 * @param contender The contender.
 * @param suffix Added to its name.
 * @param env The variables, set only while it starts.
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sluiceContender } from "./contenders.ts";
 * import { withEnv } from "./central.ts";
 * const c = withEnv(sluiceContender("central"), ", SQLite worker", { SLUICE_SQLITE_WORKER: "on" });
 * assert.equal(c.name, "sluice central, SQLite worker");
 * ```
 */
export function withEnv(
  contender: Contender,
  suffix: string,
  env: Readonly<Record<string, string>>,
): Contender {
  return {
    ...contender,
    name: contender.name + suffix,
    description: `${contender.description}; ${
      Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")
    }`,
    async start(dir) {
      const before = Object.keys(env).map((k) => [k, Deno.env.get(k)] as const);
      for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
      try {
        return await contender.start.call(this, dir);
      } finally {
        for (const [k, v] of before) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
      }
    },
  };
}

/**
 * The contenders `BENCH_CENTRAL_ONLY` names (keys separated by commas:
 * `sqlite`, `central`, `central-small`, `syslog-ng-reference`,
 * `syslog-ng-tuned`, `seed`, `jsonl`, `syslog-ng-jsonl`, `rsyslog`, and
 * `central-worker`, run only when named: the central example with
 * `SLUICE_SQLITE_WORKER=on`), in
 * their order; all of them when it is unset or empty. The ceilings always
 * run. `BENCH_CENTRAL_ONLY=seed,central` runs the row that counts alone.
 *
 * @param entries The contenders, each with its key.
 * @param only The variable's value.
 * @returns The contenders to run.
 * @throws {RangeError} On a key no contender has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { centralOnly } from "./central.ts";
 * const all = [{ key: "seed" }, { key: "central" }, { key: "jsonl" }];
 * assert.deepEqual(centralOnly(all, "central, seed").map((e) => e.key), ["seed", "central"]);
 * assert.equal(centralOnly(all, undefined).length, 3);
 * ```
 */
export function centralOnly<T extends { key: string }>(
  entries: readonly T[],
  only: string | undefined,
): T[] {
  const keys = (only ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "");
  if (keys.length === 0) return [...entries];
  for (const k of keys) {
    if (!entries.some((e) => e.key === k)) {
      throw new RangeError(
        `BENCH_CENTRAL_ONLY: no contender "${k}" (${entries.map((e) => e.key).join(", ")})`,
      );
    }
  }
  return entries.filter((e) => keys.includes(e.key));
}

/**
 * The central scenarios: contenders end to end (1, 2), burst loss (4) and
 * ceilings (7), as rows of the report.
 *
 * @example Run the quick version (sluice and the ceilings, 100k alerts)
 * ```ts ignore
 * import { scenario } from "./central.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * console.log(rows.map((r) => `${r.subject}: ${r.value} ${r.unit}`).join("\n"));
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const n = Number(Deno.env.get("BENCH_EVENTS") ?? (quick ? 100_000 : 1_000_000));
  const rounds = Number(Deno.env.get("BENCH_RUNS") ?? (quick ? 1 : 3));
  const stallMs = Number(Deno.env.get("BENCH_STALL_MS") ?? 10_000);
  const w = await workload(n);
  const payload = await Deno.readFile(w.path);
  const lines = _lines(payload);
  const mb = w.bytes / 1e6;
  const log = (text: string) => console.error(`bench central: ${text}`);
  log(`${_fmt(n)} alerts, ${mb.toFixed(0)} MB (${w.path}), ${rounds} run(s) each`);

  const all: Array<_Entry & { key: string }> = [
    { key: "sqlite", group: "central-sqlite", contender: sluiceContender("sqlite"), runs: [] },
    { key: "central", group: "central-sqlite", contender: sluiceContender("central"), runs: [] },
    // The same on a machine short of memory: what the memory targets cost in speed.
    {
      key: "central-small",
      group: "central-sqlite",
      contender: sluiceContender("central", { smallHeap: true }),
      runs: [],
    },
    ...(quick ? [] : [
      {
        key: "syslog-ng-reference",
        group: "central-sqlite" as const,
        contender: syslogNgContender("reference"),
        runs: [],
      },
      {
        key: "syslog-ng-tuned",
        group: "central-sqlite" as const,
        contender: syslogNgContender("tuned"),
        runs: [],
      },
      // The row that counts (issue 26): the seed's own central, tuned, beside the central example.
      {
        key: "seed",
        group: "central-sqlite" as const,
        contender: seedSyslogNgContender(),
        runs: [],
      },
    ]),
    { key: "jsonl", group: "central-jsonl", contender: sluiceContender("jsonl"), runs: [] },
    ...(quick ? [] : [
      {
        key: "syslog-ng-jsonl",
        group: "central-jsonl" as const,
        contender: syslogNgContender("jsonl"),
        runs: [],
      },
      {
        key: "rsyslog",
        group: "central-jsonl" as const,
        contender: rsyslogContender(),
        runs: [],
      },
    ]),
  ];
  // Only when BENCH_CENTRAL_ONLY names it: the central example with SQLite on a worker thread,
  // beside the default, to check what the 2-core default profile chooses (issue 26).
  const only = Deno.env.get("BENCH_CENTRAL_ONLY");
  if (only?.split(",").some((k) => k.trim() === "central-worker")) {
    all.push({
      key: "central-worker",
      group: "central-sqlite",
      contender: withEnv(sluiceContender("central"), ", SQLite worker", {
        SLUICE_SQLITE_WORKER: "on",
      }),
      runs: [],
    });
  }
  // BENCH_CENTRAL_ENV="K=V …": one more contender, the central example started with those
  // variables (an A/B of a setting in the same run); run when BENCH_CENTRAL_ONLY names
  // `central-env` or is unset.
  const extra = Deno.env.get("BENCH_CENTRAL_ENV")?.trim();
  if (extra) {
    const env = Object.fromEntries(
      extra.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    all.push({
      key: "central-env",
      group: "central-sqlite",
      contender: withEnv(sluiceContender("central"), `, ${extra}`, env),
      runs: [],
    });
  }
  const entries: _Entry[] = centralOnly(all, only);
  if (entries.length < all.length) {
    log(
      `BENCH_CENTRAL_ONLY: ${entries.map((e) => e.contender.name).join(", ")} (and the ceilings)`,
    );
  }
  for (const e of entries) {
    const why = e.contender.unavailable();
    if (why) {
      e.skipped = why;
      log(`${e.contender.name} skipped: ${why}`);
    }
  }
  const ceilings: _Ceiling[] = [];
  // The ceilings run in the bench process, synchronously: its memory at the end of each.
  const ceilingMemory: MemoryPeak[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const [i, e] of entries.entries()) {
      if (e.skipped || e.error) continue;
      const runDir = `${dir}/${i}-${round}`;
      await Deno.mkdir(runDir, { recursive: true });
      try {
        const r = await runContender(e.contender, payload, n, runDir, { stallMs });
        e.runs.push(r);
        log(
          `run ${round}/${rounds} ${e.group} ${e.contender.name}: ${_fmt(r.rate)} msg/s, ` +
            `stored ${r.stored}/${r.sent} (${r.end}), peak RSS ${r.peakRssMb.toFixed(0)} MB`,
        );
      } catch (err) {
        // sluice failing is a failure of the suite; a peer failing is a note.
        if (e.contender.name.startsWith("sluice")) throw err;
        e.error = err instanceof Error ? err.message : String(err);
        log(`${e.contender.name} failed: ${e.error}`);
      } finally {
        await Deno.remove(runDir, { recursive: true }).catch(() => {});
      }
    }
    const db = `${dir}/ceiling-${round}.db`;
    const c = _ceiling(lines, db);
    ceilingMemory.push(treeMemory("self", false));
    ceilings.push(c);
    log(
      `run ${round}/${rounds} ceilings: JSON.parse ${_fmt(c.parse)} lines/s, ` +
        `inserts ${_fmt(c.insert)} rows/s, both ${_fmt(c.both)} rows/s`,
    );
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(db + suffix).catch(() => {});
  }

  const rows: MeasuredRow[] = [];
  const ceiling = (key: keyof _Ceiling) => spread(ceilings.map((c) => c[key]));
  // A reference with its per-round figures, so a row can show each round's ratio too.
  const ceilingRefs = {
    both: {
      subject: "ceiling: JSON.parse + node:sqlite inserts",
      value: ceiling("both").median,
      rates: ceilings.map((c) => c.both),
    },
    parse: {
      subject: "ceiling: JSON.parse",
      value: ceiling("parse").median,
      rates: ceilings.map((c) => c.parse),
    },
  };
  const measured = (name: string) =>
    entries.find((e) => e.contender.name === name && e.runs.length);
  for (const group of ["central-sqlite", "central-jsonl"] as const) {
    const inGroup = entries.filter((e) => e.group === group);
    // The first sluice entry does the contenders' work; a second (the central example) more.
    const sluices = inGroup.filter((e) => e.contender.name.startsWith("sluice"));
    const sluice = sluices.find((e) => e.runs.length);
    // References for sluice's rows: the issue's targets (≥ 2× tuned syslog-ng; ≥ rsyslog).
    const peers = inGroup.filter((e) => !sluices.includes(e) && e.runs.length);
    const primary = group === "central-sqlite"
      ? measured("syslog-ng tuned")
      : measured("rsyslog") ?? measured("syslog-ng");
    const refOf = (e: _Entry) => ({
      subject: e.contender.name,
      value: _median(e.runs.map((r) => r.rate)),
      rates: e.runs.map((r) => r.rate),
    });
    for (const e of [...peers, ...sluices.filter((e) => e.runs.length)]) {
      const reference = sluices.includes(e)
        ? primary
          ? refOf(primary)
          : group === "central-sqlite"
          ? ceilingRefs.both
          : ceilingRefs.parse
        : undefined;
      const paired = reference && _perRound(e.runs.map((r) => r.rate), reference.rates);
      rows.push({
        scenario: group,
        subject: e.contender.name,
        value: _median(e.runs.map((r) => r.rate)),
        unit: "msg/s",
        ...(reference ? { reference: { subject: reference.subject, value: reference.value } } : {}),
        ..._metrics(e.runs),
        note: `${_note(e)}${paired ? `; ${paired}` : ""}. ${e.contender.description}`,
      });
    }
    // sluice against every other figure of the same run.
    const others = !sluice ? [] : [
      ...peers.filter((p) => p !== primary).map(refOf),
      ...(primary ? [group === "central-sqlite" ? ceilingRefs.both : ceilingRefs.parse] : []),
    ];
    for (const { rates, ...reference } of others) {
      if (!sluice) break;
      const paired = _perRound(sluice.runs.map((r) => r.rate), rates);
      rows.push({
        scenario: group,
        subject: `${sluice.contender.name} (vs ${reference.subject})`,
        value: _median(sluice.runs.map((r) => r.rate)),
        unit: "msg/s",
        reference,
        ...memoryFields(medianPeak(sluice.runs.map((r) => r.memory))),
        ...(paired ? { note: paired } : {}),
      });
    }
    const seed = group === "central-sqlite" ? measured("syslog-ng seed, tuned") : undefined;
    const central = measured("sluice central");
    if (seed && central) rows.push(..._seedRows(central, refOf(seed), ceilingRefs.both));
    for (const e of inGroup.filter((e) => e.skipped || e.error)) {
      rows.push({
        scenario: group,
        subject: e.contender.name,
        value: 0,
        unit: "msg/s",
        // A peer that failed is a note, not a failure of the suite.
        skipped: e.skipped ?? `failed: ${e.error?.slice(0, 300)}`,
      });
    }
  }
  // Scenario 4 from the same runs: each was sent as fast as the contender read it.
  for (const e of entries.filter((e) => e.runs.length)) {
    const worst = _worst(e.runs);
    const losses = e.runs.map((r) => r.loss);
    rows.push({
      scenario: "burst-loss",
      subject: `${e.contender.name} (${e.group})`,
      value: worst.stored,
      unit: "events",
      reference: { subject: "sent", value: worst.sent },
      sent: worst.sent,
      stored: worst.stored,
      ...memoryFields(medianPeak(e.runs.map((r) => r.memory))),
      note: `${_fmt(n)} events sent as fast as taken; worst of ${e.runs.length} run(s)${
        e.runs.length > 1 ? `, loss per run ${losses.map(_fmt).join(", ")}` : ""
      }; ${Object.entries(worst.outputs).map(([k, v]) => `${_fmt(v)} ${k}`).join(", ")}`,
    });
  }
  const many = ceilings.length > 1;
  const c = (key: keyof _Ceiling) => ({
    value: ceiling(key).median,
    ...memoryFields(maxOf(ceilingMemory)),
    ...(many ? { runs: ceilings.map((x) => x[key]) } : {}),
  });
  rows.push(
    {
      scenario: "ceilings",
      subject: "JSON.parse over the same lines",
      ...c("parse"),
      unit: "lines/s",
      note: `${
        _fmt(n)
      } lines, in batches of ${_BATCH}, in the bench process (memory: its, at the end of the ceilings)`,
    },
    {
      scenario: "ceilings",
      subject: "node:sqlite prepared INSERT into the alerts table",
      ...c("insert"),
      unit: "rows/s",
      note:
        `sluice's alerts schema (STRICT, UNIQUE id + 4 indexes), WAL, synchronous=NORMAL, ${_BATCH} rows a transaction, values already parsed`,
    },
    {
      scenario: "ceilings",
      subject: "JSON.parse + node:sqlite prepared INSERT",
      ...c("both"),
      unit: "rows/s",
      note: "the two above back to back: the floor of what scenario 1 must do per event",
    },
  );
  return rows;
};
