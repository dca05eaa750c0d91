/**
 * The central's ingest rate while its archive service moves old alerts out
 * of `siem.db` (part of the `archive` scenario): `examples/pipeline.central.ts`
 * on a copy of a database seeded with alerts older than 30 days takes
 * alerts over TCP as fast as it reads them, once with `--retain-db 30d`
 * (its archive service's first pass starts 5 s in and moves every seeded
 * row) and once without; runs alternate. The rate is the rise of the
 * `alerts` table's largest row id over time (new rows only: the archiver
 * deletes old ones), taken over the pass (first to last part recorded in
 * `archive_log`) and over the same span of the run without it.
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
  /** Alerts stored per second over the window. */
  rate: number;
  /** The window, seconds after the first line was sent. */
  from: number;
  /** Its length, seconds. */
  seconds: number;
  /** Alerts the pass moved (0 without it). */
  archived: number;
  /** Lines sent in the run. */
  sent: number;
  /** The central's peak memory over the run. */
  memory: MemoryPeak;
  /**
   * The pass's phases, seconds, from the central's log line (with the pass):
   * `delete` and `commit` hold SQLite's write lock, which the central's writer waits for.
   */
  phases?: Record<string, number>;
}

const _PHASES = /archive: pass phases \(s\): ([^\n]*)/;

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
 * The payload in chunks of whole lines, again and again: the k-th time
 * through, each line's timestamp has k as its milliseconds
 * (`…T00:00:01.00k`), so every line is a new alert (no id seen before), of
 * the same size, on the same day.
 */
function* _chunks(payload: Uint8Array): Generator<Uint8Array> {
  const starts = _lineStarts(payload);
  const ms = '{"timestamp":"2026-11-23T00:00:00.'.length;
  for (let k = 0; k < 1000; k++) {
    for (let i = 0; i < starts.length; i += 4000) {
      const a = starts[i] as number;
      const b = i + 4000 < starts.length ? starts[i + 4000] as number : payload.length;
      if (k === 0) {
        yield payload.subarray(a, b);
        continue;
      }
      const chunk = payload.slice(a, b);
      const digits = String(k).padStart(3, "0");
      for (let j = i; j < Math.min(i + 4000, starts.length); j++) {
        const at = (starts[j] as number) - a + ms;
        for (let d = 0; d < 3; d++) chunk[at + d] = digits.charCodeAt(d);
      }
      yield chunk;
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
): Promise<IngestRun> {
  const dir = `${o.dir}/ingest-${n}-${archiving ? "archive" : "plain"}`;
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
    const sending = (async () => {
      for (const chunk of _chunks(o.payload)) {
        if (stop) break;
        let at = 0;
        while (at < chunk.length) at += await conn.c!.write(chunk.subarray(at));
        sent += chunk.length;
      }
    })().catch((err) => {
      if (!stop) throw err;
    });
    const sampler = sampleTree(proc.pid);
    const t0 = Date.now();
    const samples: Array<[number, number]> = [[t0, _maxRowid(db)]];
    let pass: { rows: number; first?: string; last?: string } = { rows: 0 };
    for (;;) {
      await sleep(250);
      samples.push([Date.now(), _maxRowid(db)]);
      if (proc.exited) throw new Error(`the central exited: ${proc.text.trim().slice(-2000)}`);
      if (archiving) {
        pass = _archived(db);
        if (pass.rows >= o.oldAlerts) break;
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
    conn.c.close();
    conn.c = undefined;
    await sending;
    let from: number;
    let to: number;
    if (archiving) {
      from = Date.parse(pass.first as string);
      to = Date.parse(pass.last as string);
    } else {
      from = t0 + (window?.from ?? 5) * 1000;
      to = from + (window?.seconds ?? 20) * 1000;
    }
    return {
      archiving,
      rate: _rate(samples, from, to),
      from: (from - t0) / 1000,
      seconds: (to - from) / 1000,
      archived: pass.rows,
      memory,
      sent: Math.round(sent / (o.payload.length / _lineStarts(o.payload).length)),
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
 * returns every run (the first of each pair with the pass, the second
 * without it over the same span).
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
    const a = await _run(options, i, true, undefined);
    out.push(a);
    out.push(await _run(options, i, false, { from: a.from, seconds: a.seconds }));
  }
  return out;
}
