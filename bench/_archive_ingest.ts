/**
 * The central's ingest rate while its archive service moves old alerts out
 * of `siem.db` (part of the `archive` scenario): `examples/pipeline.central.ts`
 * on a copy of a database seeded with alerts older than 30 days takes
 * alerts over TCP as fast as it reads them, once with `--retain-db 30d`
 * (its archive service's first pass starts 5 s in and moves every seeded
 * row) and once without; runs alternate. The rate is the rise of the
 * `alerts` table's largest row id over time (new rows only: the archiver
 * deletes old ones), taken over the pass (first to last part recorded in
 * `archive_log`) and over the same span of the run without it. A third run
 * each round sends at a fixed rate (`offered`, msg/s) with the pass: the
 * central's delivered rate against the offered one, the pass's wall time,
 * and every line sent stored once the sending stops (stored/sent).
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { centralArgs, LoggedProcess, sleep, sluiceRunArgs, waitFor } from "./lib.ts";
import { type MemoryPeak, sampleTree } from "./_memory.ts";

const _CENTRAL = new URL("../examples/pipeline.central.ts", import.meta.url).pathname;

/** One run of the central. */
export interface IngestRun {
  /** Whether the archive service ran a pass. */
  archiving: boolean;
  /** The round (0, 1, …). */
  round: number;
  /** Alerts stored per second over the window. */
  rate: number;
  /**
   * The window, seconds after the first line was sent: the pass (at a fixed
   * rate its wall time on the central; else first to last part in
   * `archive_log`), or the same span of the run without it.
   */
  from: number;
  /** Its length, seconds. */
  seconds: number;
  /** Alerts the pass moved (0 without it). */
  archived: number;
  /** Lines sent in the run. */
  sent: number;
  /** The fixed rate the lines were sent at, msg/s (undefined: as fast as the central reads). */
  offered?: number;
  /** With the pass: the new alerts stored once the sending stopped (lost ones: `sent - stored`). */
  stored?: number;
  /** The pass's wall time on the central, seconds (its log line), worker start to last commit. */
  passSeconds?: number;
  /** The pass's rests, from its log line: after how many of how many parts, how long (s). */
  rests?: { rested: number; parts: number; seconds: number };
  /** The pass's own line on the central's load (the busiest thread's share per window). */
  load?: string;
  /** The machine's 1-minute load average at the end of the run. */
  loadavg: number;
  /** The central's peak memory over the run. */
  memory: MemoryPeak;
  /**
   * The pass's phases, seconds, from the central's log line (with the pass):
   * `delete` and `commit` hold SQLite's write lock, which the central's writer waits for.
   */
  phases?: Record<string, number>;
}

const _PHASES = /archive: pass phases \(s\): ([^\n]*)/;
const _PASS =
  /archive: pass of \d+ rows in ([\d.]+) s, rested after (\d+) of (\d+) parts \(([\d.]+) s\)/;
const _LOAD = /archive: the central's load over the pass: ([^\n"]*)/;

function _phases(text: string): Record<string, number> | undefined {
  const line = _PHASES.exec(text)?.[1];
  if (!line) return undefined;
  const out: Record<string, number> = {};
  for (const kv of line.split(", ")) {
    const [k, v] = kv.split(" ");
    if (k && v) out[k] = Number(v);
  }
  return out;
}

/** Options for {@linkcode ingestDuringArchive}. */
export interface IngestOptions {
  /** A seeded database whose alerts are all older than 30 days. */
  template: string;
  /** Its alerts (the pass is over when as many are in `archive_log`). */
  oldAlerts: number;
  /**
   * The workload's alerts, one per line (bench/workload.ts); sent again and
   * again with a new time each round, so any number of runs can use it.
   */
  payload: Uint8Array;
  /** A scratch directory. */
  dir: string;
  /** Runs of each kind, alternated. @default {2} */
  runs?: number;
  /** Longest wait for a pass, ms. @default {600000} */
  timeoutMs?: number;
  /** The fixed rate of the third run of each round, msg/s; 0: no such run. @default {10000} */
  offered?: number;
  /** Run the pair as fast as the central reads (false: only the fixed-rate runs). @default {true} */
  flatOut?: boolean;
}

function _maxRowid(db: DatabaseSync): number {
  return Number(
    (db.prepare("SELECT max(rowid) AS m FROM alerts").get() as { m: number | null }).m ?? 0,
  );
}

function _archived(db: DatabaseSync): { rows: number; first?: string; last?: string } {
  try {
    const r = db.prepare(
      "SELECT coalesce(sum(rows), 0) AS n, min(archived_at) AS a, max(archived_at) AS b FROM archive_log WHERE tbl = 'alerts'",
    ).get() as { n: number; a: string | null; b: string | null };
    return { rows: Number(r.n), ...(r.a ? { first: r.a } : {}), ...(r.b ? { last: r.b } : {}) };
  } catch {
    return { rows: 0 }; // no archive_log yet
  }
}

const _starts = new WeakMap<Uint8Array, Uint32Array>();

function _lineStarts(payload: Uint8Array): Uint32Array {
  let starts = _starts.get(payload);
  if (!starts) {
    const list: number[] = [0];
    for (
      let i = payload.indexOf(10);
      i >= 0 && i + 1 < payload.length;
      i = payload.indexOf(10, i + 1)
    ) {
      list.push(i + 1);
    }
    starts = Uint32Array.from(list);
    _starts.set(payload, starts);
  }
  return starts;
}

/**
 * The payload in chunks of `per` whole lines (with their count), again and again: the k-th time
 * through, each line's timestamp has k as its milliseconds
 * (`…T00:00:01.00k`), so every line is a new alert (no id seen before), of
 * the same size, on the same day.
 */
function* _chunks(payload: Uint8Array, per = 4000): Generator<[Uint8Array, number]> {
  const starts = _lineStarts(payload);
  const ms = '{"timestamp":"2026-11-23T00:00:00.'.length;
  for (let k = 0; k < 1000; k++) {
    for (let i = 0; i < starts.length; i += per) {
      const a = starts[i] as number;
      const b = i + per < starts.length ? starts[i + per] as number : payload.length;
      const lines = Math.min(per, starts.length - i);
      if (k === 0) {
        yield [payload.subarray(a, b), lines];
        continue;
      }
      const chunk = payload.slice(a, b);
      const digits = String(k).padStart(3, "0");
      for (let j = i; j < i + lines; j++) {
        const at = (starts[j] as number) - a + ms;
        for (let d = 0; d < 3; d++) chunk[at + d] = digits.charCodeAt(d);
      }
      yield [chunk, lines];
    }
  }
}

/** The rate between two times from (wall ms, max row id) samples. */
function _rate(samples: Array<[number, number]>, from: number, to: number): number {
  const at = (t: number): number => {
    let best = samples[0] as [number, number];
    for (const s of samples) if (Math.abs(s[0] - t) < Math.abs(best[0] - t)) best = s;
    return best[1];
  };
  return (at(to) - at(from)) / ((to - from) / 1000);
}

async function _run(
  o: IngestOptions,
  n: number,
  archiving: boolean,
  window: { from: number; seconds: number } | undefined,
  offered?: number,
): Promise<IngestRun> {
  const dir = `${o.dir}/ingest-${n}-${archiving ? "archive" : "plain"}${offered ? "-fixed" : ""}`;
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  await Deno.copyFile(o.template, `${dir}/data/siem.db`);
  const proc = new LoggedProcess(Deno.execPath(), [
    // Info, in both runs alike: the archive service's line with the pass's phases is an info line.
    ...sluiceRunArgs(`${dir}/state`, _CENTRAL).map((a, i, all) =>
      all[i - 1] === "--log-level" ? "info" : a
    ),
    ...centralArgs(`${dir}/data`),
    "--ui",
    "off",
    ...(archiving ? ["--retain-db", "30d", "--archive-every", "5s"] : []),
  ]);
  const conn: { c: Deno.TcpConn | undefined } = { c: undefined };
  let sent = 0;
  const db = new DatabaseSync(`${dir}/data/siem.db`, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const found = /over TCP\s+127\.0\.0\.1:(\d+)/;
    if (!await waitFor(() => found.test(proc.text) || proc.exited, 60_000) || proc.exited) {
      throw new Error(`the central did not start: ${proc.text.trim().slice(-2000)}`);
    }
    conn.c = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(found.exec(proc.text)?.[1]),
    });
    let stop = false;
    const first = _maxRowid(db);
    const t0 = Date.now();
    const sending = (async () => {
      // At a fixed rate: 100 lines at a time, each once the clock says it is due.
      for (const [chunk, lines] of _chunks(o.payload, offered ? 100 : 4000)) {
        if (stop) break;
        while (offered && !stop && sent + lines > offered * (Date.now() - t0) / 1000) {
          await sleep(5);
        }
        let at = 0;
        while (at < chunk.length) at += await conn.c!.write(chunk.subarray(at));
        sent += lines;
      }
    })().catch((err) => {
      if (!stop) throw err;
    });
    const sampler = sampleTree(proc.pid);
    const samples: Array<[number, number]> = [[t0, first]];
    let done = 0;
    let pass: { rows: number; first?: string; last?: string } = { rows: 0 };
    for (;;) {
      await sleep(250);
      samples.push([Date.now(), _maxRowid(db)]);
      if (proc.exited) throw new Error(`the central exited: ${proc.text.trim().slice(-2000)}`);
      if (archiving) {
        pass = _archived(db);
        if (pass.rows >= o.oldAlerts) {
          done = Date.now();
          break;
        }
        if (Date.now() - t0 > (o.timeoutMs ?? 600_000)) {
          throw new Error(`the archive pass did not end in ${o.timeoutMs ?? 600_000} ms`);
        }
      } else if (Date.now() - t0 > ((window?.from ?? 5) + (window?.seconds ?? 20) + 1) * 1000) {
        break;
      }
    }
    const memory = sampler.stop();
    // The pass's line comes once its last commit is in: a few ms after archive_log shows it.
    if (archiving) await waitFor(() => _PHASES.test(proc.text) || proc.exited, 30_000);
    const phases = archiving ? _phases(proc.text) : undefined;
    stop = true;
    // The last chunk is written whole (the central reads on), then every line sent is stored.
    await sending;
    conn.c.close();
    conn.c = undefined;
    let stored: number | undefined;
    if (archiving) {
      const count = db.prepare("SELECT count(*) AS n FROM alerts WHERE rowid > ?");
      const now = () => Number((count.get(first) as { n: number }).n);
      await waitFor(() => now() >= sent || proc.exited, 60_000);
      await sleep(500); // a line stored twice would come in now
      stored = now();
    }
    const pm = _PASS.exec(proc.text);
    const lm = _LOAD.exec(proc.text);
    let from: number;
    let to: number;
    if (offered && pm) {
      // The pass's own span: its wall time, ending when the last part was seen in archive_log
      // (archive_log's times are those of its few commits).
      to = done;
      from = done - Number(pm[1]) * 1000;
    } else if (archiving) {
      from = Date.parse(pass.first as string);
      to = Date.parse(pass.last as string);
    } else {
      from = t0 + (window?.from ?? 5) * 1000;
      to = from + (window?.seconds ?? 20) * 1000;
    }
    return {
      archiving,
      round: n,
      rate: _rate(samples, from, to),
      from: (from - t0) / 1000,
      seconds: (to - from) / 1000,
      archived: pass.rows,
      memory,
      sent,
      loadavg: Deno.loadavg()[0] ?? 0,
      ...(offered ? { offered } : {}),
      ...(stored !== undefined ? { stored } : {}),
      ...(pm
        ? {
          passSeconds: Number(pm[1]),
          rests: { rested: Number(pm[2]), parts: Number(pm[3]), seconds: Number(pm[4]) },
        }
        : {}),
      ...(lm ? { load: lm[1] } : {}),
      ...(phases ? { phases } : {}),
    };
  } finally {
    db.close();
    try {
      conn.c?.close();
    } catch {
      // closed
    }
    await proc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Runs the central with and without an archive pass, alternating, and
 * returns every run (each round: with the pass, without it over the same
 * span, both as fast as the central reads; then with the pass at the fixed
 * `offered` rate).
 *
 * @param options The seeded database, the payload, the runs.
 * @returns The runs, in order.
 *
 * @example
 * ```ts
 * import { ingestDuringArchive } from "./_archive_ingest.ts";
 * // const runs = await ingestDuringArchive({ template, oldAlerts: 1_000_000, payload, dir });
 * ```
 */
export async function ingestDuringArchive(options: IngestOptions): Promise<IngestRun[]> {
  const out: IngestRun[] = [];
  for (let i = 0; i < (options.runs ?? 2); i++) {
    if (options.flatOut ?? true) {
      const a = await _run(options, i, true, undefined);
      out.push(a);
      out.push(await _run(options, i, false, { from: a.from, seconds: a.seconds }));
    }
    const offered = options.offered ?? 10_000;
    if (offered > 0) out.push(await _run(options, i, true, undefined, offered));
  }
  return out;
}
