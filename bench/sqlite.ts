/**
 * SQLite sink throughput beside a raw `node:sqlite` prepared-insert loop in
 * one transaction, on the same schema (the alerts table: id with a UNIQUE
 * index, timestamp, host, severity, rule, file, hash, raw, four more
 * indexes), the same rows, the same PRAGMAs, in the same run.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type LogEvent,
  type Source,
} from "../mod.ts";
import { ComponentStats } from "../core/stats.ts";
import { memoryState } from "../core/state.ts";
import { siemSqliteSink } from "../siem/schema.ts";
import { sqliteSink } from "../sinks/sqlite.ts";
import { syntheticAlert } from "../sources/generator.ts";
import { type MeasuredRow, type MeasuredScenario, median } from "./lib.ts";
import { memoryFields, withMemory } from "./_memory.ts";
import { ceilingInserts } from "./_ceiling_inserts.ts";

const _COLUMNS = {
  timestamp: "TEXT NOT NULL",
  host: "TEXT",
  severity: "TEXT",
  rule: "TEXT",
  file: "TEXT",
  hash: "TEXT",
  raw: "TEXT NOT NULL",
};
const _INDEXES = ["timestamp", "host", "severity", "rule"];
const _PRAGMAS =
  "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;";

interface _Alert {
  timestamp: string;
  host: string;
  severity: string;
  rule: string;
  file: string;
  hash: string;
}

function _events(n: number): LogEvent[] {
  const out: LogEvent[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const message = syntheticAlert(i);
    out[i] = createEvent(message, { id: `gen:${i}`, fields: { json: JSON.parse(message) } });
  }
  return out;
}

/** The reference: prepared INSERTs of 32 rows, one transaction, values taken straight from the parsed tree. */
function _raw(path: string, events: LogEvent[]): number {
  const db = new DatabaseSync(path);
  try {
    db.exec(_PRAGMAS);
    const cols = Object.entries(_COLUMNS).map(([c, t]) => `"${c}" ${t}`).join(", ");
    db.exec(`CREATE TABLE alerts (id TEXT, ${cols}) STRICT`);
    db.exec(`CREATE UNIQUE INDEX alerts_id ON alerts (id)`);
    for (const c of _INDEXES) db.exec(`CREATE INDEX alerts_${c} ON alerts (${c})`);
    const insert = ceilingInserts(db, "alerts", [
      "id",
      "timestamp",
      "host",
      "severity",
      "rule",
      "file",
      "hash",
      "raw",
    ]);
    const t0 = performance.now();
    db.exec("BEGIN");
    insert(0, events.length, (i, args, at) => {
      const e = events[i] as LogEvent;
      const a = e.fields.json as _Alert;
      args[at] = e.id as string;
      args[at + 1] = a.timestamp;
      args[at + 2] = a.host;
      args[at + 3] = a.severity;
      args[at + 4] = a.rule;
      args[at + 5] = a.file;
      args[at + 6] = a.hash;
      args[at + 7] = e.message;
    });
    db.exec("COMMIT");
    return events.length / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}

function _ctx() {
  const log = createLogger("silent");
  return {
    name: "bench",
    stats: new ComponentStats("sink", "bench", "sqlite"),
    state: memoryState(),
    log,
    signal: new AbortController().signal,
  };
}

/** The sink's write() called directly with batches of its maxBatch. */
async function _sink(path: string, events: LogEvent[], siem: boolean): Promise<number> {
  const sink = siem ? siemSqliteSink({ database: path }) : sqliteSink({
    database: path,
    table: "alerts",
    columns: _COLUMNS,
    values: {
      timestamp: "${json.timestamp}",
      host: "${json.host}",
      severity: "${json.severity}",
      rule: "${json.rule}",
      file: "${json.file}",
      hash: "${json.hash}",
      raw: "${MSG}",
    },
    indexes: _INDEXES,
  });
  await sink.open(_ctx());
  try {
    const size = sink.maxBatch ?? 2000;
    const t0 = performance.now();
    for (let i = 0; i < events.length; i += size) await sink.write(events.slice(i, i + size));
    return events.length / ((performance.now() - t0) / 1000);
  } finally {
    await sink.close();
  }
}

/** The whole path: a source of parsed events → engine → sqlite sink, acknowledged. */
async function _engine(path: string, events: LogEvent[]): Promise<number> {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const source: Source = {
    kind: "replay",
    done,
    start(ctx) {
      (async () => {
        for (let i = 0; i < events.length; i += 1000) await ctx.emit(events.slice(i, i + 1000));
        resolveDone();
      })();
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
  const engine = new Engine(
    definePipeline({ paths: [{ from: [source], to: [siemSqliteSink({ database: path })] }] }),
    { logger: createLogger("silent") },
  );
  const t0 = performance.now();
  await engine.start();
  await engine.done;
  const rate = events.length / ((performance.now() - t0) / 1000);
  await engine.stop();
  return rate;
}

/** Runs the SQLite scenario. */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const n = quick ? 20_000 : 200_000;
  const runs = quick ? 1 : 3;
  const events = _events(n);
  let k = 0;
  const fresh = () => `${dir}/bench-${k++}.db`;
  const m = {
    raw: await withMemory(() => median(runs, () => Promise.resolve(_raw(fresh(), events)))),
    sink: await withMemory(() => median(runs, () => _sink(fresh(), events, false))),
    siem: await withMemory(() => median(runs, () => _sink(fresh(), events, true))),
    engine: await withMemory(() => median(runs, () => _engine(fresh(), events))),
  };
  const raw = m.raw.value, sink = m.sink.value, siem = m.siem.value, engine = m.engine.value;
  const reference = { subject: "raw node:sqlite INSERTs of 32 rows, one transaction", value: raw };
  const rows: MeasuredRow[] = [
    {
      scenario: "sqlite",
      subject: "raw node:sqlite INSERTs of 32 rows, one transaction",
      value: raw,
      unit: "rows/s",
      ...memoryFields(m.raw.memory),
      note: `${n} alert rows, UNIQUE id + 4 indexes, WAL, synchronous=NORMAL`,
    },
    {
      scenario: "sqlite",
      subject: "sqliteSink write(), templates, one transaction per maxBatch (2000)",
      value: sink,
      unit: "rows/s",
      ...memoryFields(m.sink.memory),
      reference,
      note: "same table and indexes; a COMMIT per batch",
    },
    {
      scenario: "sqlite",
      subject: "siemSqliteSink write() (categorize + SIEM alerts table)",
      value: siem,
      unit: "rows/s",
      ...memoryFields(m.siem.memory),
      reference,
      note:
        "its own alerts table: 9 columns (message, source too), id + 4 indexes, values with field fallbacks",
    },
    {
      scenario: "sqlite",
      subject: "engine → siemSqliteSink, acknowledged",
      value: engine,
      unit: "rows/s",
      ...memoryFields(m.engine.memory),
      reference,
      note: "1000-event batches from the source, merged up to 2000 per transaction",
    },
  ];
  return rows;
};
