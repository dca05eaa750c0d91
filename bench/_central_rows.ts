/**
 * The rows of bench/central.ts: each contender's runs against its peers
 * and the ceilings (scenarios 1 and 2), the row that counts (the central
 * example against the seed's syslog-ng), burst loss from the same runs
 * (scenario 4) and the ceilings themselves (scenario 7).
 *
 * @module
 */

import type { Contender, ContenderRun } from "./contenders.ts";
import { type BenchRow, type MeasuredRow, spread } from "./lib.ts";
import { maxOf, medianPeak, memoryFields, type MemoryPeak } from "./_memory.ts";
import { type Ceiling, CEILING_BATCH } from "./_central_ceiling.ts";

function _fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/**
 * One contender of the central scenarios, its group and its runs so far,
 * or why it was skipped or failed.
 *
 * @example
 * ```ts
 * import { sluiceContender } from "./contenders.ts";
 * import type { CentralEntry } from "./_central_rows.ts";
 * const e: CentralEntry = { group: "central-jsonl", contender: sluiceContender("jsonl"), runs: [] };
 * console.assert(e.runs.length === 0);
 * ```
 */
export interface CentralEntry {
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

function _note(entry: CentralEntry): string {
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
  central: CentralEntry,
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
 * The report's rows from the measured runs: per group (`central-sqlite`,
 * `central-jsonl`) each contender, sluice against every other figure of the
 * same run, the row that counts and the skipped or failed; then burst loss
 * per contender and the ceilings.
 *
 * @param entries The contenders with their runs.
 * @param ceilings Each round's ceilings.
 * @param ceilingMemory The bench process's memory at the end of each round's ceilings.
 * @param n The events sent per run.
 * @returns The rows.
 *
 * @example
 * ```ts
 * import { centralRows } from "./_central_rows.ts";
 * const memory = { rssMb: 50, privateMb: 40, pssMb: 45 };
 * const rows = centralRows([], [{ parse: 2e6, insert: 5e5, both: 4e5 }], [memory], 1000);
 * console.assert(rows.length === 3 && rows.every((r) => r.scenario === "ceilings"));
 * ```
 */
export function centralRows(
  entries: readonly CentralEntry[],
  ceilings: readonly Ceiling[],
  ceilingMemory: readonly MemoryPeak[],
  n: number,
): MeasuredRow[] {
  const rows: MeasuredRow[] = [];
  const ceiling = (key: keyof Ceiling) => spread(ceilings.map((c) => c[key]));
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
    const refOf = (e: CentralEntry) => ({
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
  const c = (key: keyof Ceiling) => ({
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
      } lines, in batches of ${CEILING_BATCH}, in the bench process (memory: its, at the end of the ceilings)`,
    },
    {
      scenario: "ceilings",
      subject: "node:sqlite INSERTs (32 rows each) into the alerts table",
      ...c("insert"),
      unit: "rows/s",
      note:
        `sluice's alerts schema (STRICT, UNIQUE id + 4 indexes), WAL, synchronous=NORMAL, ${CEILING_BATCH} rows a transaction, values already parsed`,
    },
    {
      scenario: "ceilings",
      subject: "JSON.parse + node:sqlite INSERTs (32 rows each)",
      ...c("both"),
      unit: "rows/s",
      note: "the two above back to back: the floor of what scenario 1 must do per event",
    },
  );
  return rows;
}
