/**
 * The VM registry: {@linkcode vmsSink} keeps one row per host in the `vms`
 * table of the SIEM schema from every event that names a host, so a host is
 * "seen" when it sends anything, not only heartbeats.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { fieldGetter, type LogEvent } from "../core/event.ts";
import type { RowSink, SinkContext } from "../core/types.ts";
import { type SqliteSink, sqliteSink } from "../sinks/sqlite.ts";
import { beginImmediate } from "../sinks/_sqlite_begin.ts";
import { isSiemCategory, siemCategory } from "./categorize.ts";
import { siemSchema } from "./schema.ts";

/** Options for {@linkcode vmsSink}. */
export interface VmsSinkOptions {
  /** The SIEM database (the one `siemSqliteSink()` writes). */
  database: string;
  /** The field holding the category (set by `categorize()`). @default {"category"} */
  categoryField?: string;
  /** Most services remembered per host. @default {64} */
  maxServices?: number;
  /** How long a write waits for another writer's lock before the batch is retried later, in ms. @default {5000} */
  busyTimeoutMs?: number;
  /** Where the WAL is checkpointed, as `sqliteSink`'s `checkpoint`: give the same as the database's other sinks. @default {"background"} */
  checkpoint?: "background" | "inline";
  /** The WAL size in MiB at which it is checkpointed, as `sqliteSink`'s `walCheckpointMb`: give the same as the database's other sinks (the first connection whose commit finds the WAL past its own size checkpoints). @default {8} */
  walCheckpointMb?: number;
  /** A name for stats. */
  name?: string;
}

interface _Seen {
  first: number;
  last: number;
  ip: string | null;
  services: Set<string>;
}

const _host = (() => {
  const json = fieldGetter("json.host");
  const hostname = fieldGetter("json.hostname");
  return (e: LogEvent): string | undefined => {
    for (const v of [json(e), hostname(e), e.host]) {
      if (typeof v === "string" && v !== "") return v;
    }
    return undefined;
  };
})();

/**
 * What one batch says about each host it names, as the sink's `prepareRows`
 * renders it: plain values, so it crosses to a worker cheaply.
 *
 * @example
 * ```ts
 * import type { VmsRows } from "./vms.ts";
 * const rows: VmsRows = [{
 *   host: "vm1",
 *   first: "2026-11-23T10:00:00.000Z",
 *   last: "2026-11-23T10:00:02.000Z",
 *   ip: "10.0.0.5",
 *   services: ["alerts", "auth:sshd"],
 * }];
 * ```
 */
export type VmsRows = Array<{
  host: string;
  /** Earliest receive time in the batch, ISO 8601 UTC. */
  first: string;
  /** Latest receive time in the batch, ISO 8601 UTC. */
  last: string;
  /** The last sender address seen, or `null`. */
  ip: string | null;
  /** Services seen (`category` or `category:program`). */
  services: string[];
}>;

/**
 * The sink that keeps the `vms` registry, a {@linkcode RowSink}. Each batch is summed up
 * per host without touching the database (`prepareRows`), then upserted
 * (`writeRows`): split, the summing runs on one thread and the upserts on
 * another (`workerSink` sends only the summary).
 *
 * @example Sum a batch up without a database
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "../core/event.ts";
 * import { vmsSink } from "./vms.ts";
 * const rows = vmsSink({ database: "siem.db" }).prepareRows([createEvent("up", { host: "nas" })]);
 * assert.equal(rows[0]?.host, "nas");
 * ```
 */
export type VmsSink = RowSink<VmsRows>;

/**
 * Upserts `vms` (host, first_seen, last_seen, source_ip, and `services`
 * when the table has that column) from every event with a host: the host
 * is `json.host`, `json.hostname` or `HOST`, as in the `alerts` table.
 * Times are when the central received the events (its own clock), so a VM
 * whose clock runs behind does not look silent; `last_seen` only moves
 * forward. `services` is a JSON array of the log types a host sent:
 * its category, and `category:program` when the event names a program
 * (`["alerts", "auth:sshd", "heartbeat:sluice-heartbeat"]`).
 *
 * One transaction per batch with one statement per host; the `vms` table
 * and its indexes are created as `siemSchema` defines them when missing.
 * The heartbeat count, version and interval stay with the schema's
 * heartbeat trigger. Events of `hostWatchSource()` (program
 * `sluice-hostwatch`) are skipped: they name a VM but do not come from it.
 *
 * @param options The database, category field, limits.
 * @returns The sink.
 * @throws {TypeError} When `database` is missing.
 *
 * @example Beside the central's store, on the same path
 * ```ts
 * import { vmsSink } from "./vms.ts";
 * import { siemSqliteSink } from "./schema.ts";
 * const to = [siemSqliteSink({ database: "siem.db" }), vmsSink({ database: "siem.db" })];
 * ```
 */
export function vmsSink(options: VmsSinkOptions): VmsSink {
  const where = "vmsSink";
  if (typeof options?.database !== "string" || options.database === "") {
    throw new TypeError(`${where}: "database" must be a file path`);
  }
  const category = fieldGetter(options.categoryField ?? "category");
  const maxServices = options.maxServices ?? 64;
  if (!Number.isInteger(maxServices) || maxServices < 0) {
    throw new RangeError(
      `${where}: "maxServices" must be a non-negative integer, got ${maxServices}`,
    );
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  // The table, its indexes and the connection settings come from the SQLite sink.
  let inner: SqliteSink | undefined;
  let hasServices = false;
  let hasIp = false;
  // Services already stored per host, so a batch writes only what is new.
  const known = new Map<string, Set<string>>();

  const service = (e: LogEvent): string => {
    const c = category(e);
    const cat = isSiemCategory(c) ? c : siemCategory(e);
    return e.program ? `${cat}:${e.program}` : cat;
  };

  let ctx: SinkContext | undefined;
  let stmts:
    | {
      upsert: StatementSync;
      read: StatementSync | undefined;
      update: StatementSync | undefined;
    }
    | undefined;
  const sink: VmsSink = {
    kind: "vms",
    ...(options.name ? { name: options.name } : {}),
    maxBatch: 2000,
    async open(c: SinkContext): Promise<void> {
      ctx = c;
      inner = sqliteSink({
        database: options.database,
        schema: siemSchema,
        table: "vms",
        busyTimeoutMs,
        ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
        ...(options.walCheckpointMb ? { walCheckpointMb: options.walCheckpointMb } : {}),
      });
      await inner.open(c);
      const columns = new Set(
        (inner.db.prepare(`PRAGMA table_info("vms")`).all() as Array<{ name: string }>).map((
          col,
        ) => col.name),
      );
      hasServices = columns.has("services");
      // Only the columns this table has: the schema's registry may grow or shrink.
      const names = ["host", "first_seen", "last_seen"];
      const values = ["?", "?", "?"];
      const updates = [
        "first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen)",
        "last_seen = max(coalesce(last_seen, ''), excluded.last_seen)",
      ];
      hasIp = columns.has("source_ip");
      if (hasIp) {
        names.push("source_ip");
        values.push("?");
        updates.push("source_ip = coalesce(excluded.source_ip, source_ip)");
      }
      for (const counter of ["heartbeats", "alerts"]) {
        if (columns.has(counter)) {
          names.push(counter);
          values.push("0");
        }
      }
      const db = inner.db;
      stmts = {
        upsert: db.prepare(
          `INSERT INTO vms (${names.join(", ")}) VALUES (${values.join(", ")})
           ON CONFLICT (host) DO UPDATE SET ${updates.join(", ")}`,
        ),
        read: hasServices ? db.prepare(`SELECT services FROM vms WHERE host = ?`) : undefined,
        update: hasServices ? db.prepare(`UPDATE vms SET services = ? WHERE host = ?`) : undefined,
      };
      known.clear();
    },
    prepareRows(batch: readonly LogEvent[]): VmsRows {
      const seen = new Map<string, _Seen>();
      for (const e of batch) {
        // The host watch's alerts name a VM without coming from it.
        if (e.program === "sluice-hostwatch") continue;
        const host = _host(e);
        if (host === undefined) continue;
        const at = e.receivedAt;
        let s = seen.get(host);
        if (!s) {
          s = { first: at, last: at, ip: null, services: new Set() };
          seen.set(host, s);
        }
        if (at < s.first) s.first = at;
        if (at > s.last) s.last = at;
        if (e.sourceIp) s.ip = e.sourceIp;
        s.services.add(service(e));
      }
      const rows: VmsRows = [];
      for (const [host, s] of seen) {
        rows.push({
          host,
          first: new Date(s.first).toISOString(),
          last: new Date(s.last).toISOString(),
          ip: s.ip,
          services: [...s.services],
        });
      }
      return rows;
    },
    async writeRows(rows: VmsRows): Promise<void> {
      const db = inner?.db;
      if (!db || !ctx || !stmts) throw new Error(`${where}: write() before open()`);
      if (rows.length === 0) return;
      // No await when the lock is free: nothing else on this thread runs between BEGIN and COMMIT.
      const stats = ctx.stats;
      const busy = beginImmediate(db, busyTimeoutMs, () => stats.add("busy_retries"));
      if (busy) await busy;
      try {
        const { upsert, read, update } = stmts;
        for (const s of rows) {
          const host = s.host;
          if (hasIp) upsert.run(host, s.first, s.last, s.ip);
          else upsert.run(host, s.first, s.last);
          if (!read || !update) continue;
          let have = known.get(host);
          if (!have) {
            have = new Set(_parseList((read.get(host) as { services?: unknown })?.services));
            known.set(host, have);
          }
          let changed = false;
          for (const x of s.services) {
            if (have.has(x) || have.size >= maxServices) continue;
            have.add(x);
            changed = true;
          }
          if (changed) update.run(JSON.stringify([...have].sort()), host);
        }
        db.exec("COMMIT");
        ctx.stats.add("upserts", rows.length);
      } catch (err) {
        if (db.isTransaction) db.exec("ROLLBACK");
        // The cache may hold services the rollback took back.
        known.clear();
        throw new Error(
          `${where}: writing to "${options.database}" failed: ${
            err instanceof Error ? err.message : String(err)
          }`,
          { cause: err },
        );
      }
    },
    write(batch: readonly LogEvent[]): Promise<void> {
      return sink.writeRows(sink.prepareRows(batch));
    },
    async close(): Promise<void> {
      stmts = undefined;
      await inner?.close();
      inner = undefined;
      ctx = undefined;
    },
  };
  return sink;
}

function _parseList(value: unknown): string[] {
  if (typeof value !== "string" || value === "") return [];
  try {
    const list: unknown = JSON.parse(value);
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Records a host's reachability in `vms` (the columns `status`,
 * `status_reason` and `status_at`, added when missing): what a collector
 * that reaches out to hosts (the agentless SSH journal source) knows beyond
 * "last seen". Inserts the host's row when it has none yet. Does nothing
 * when the database has no `vms` table (the vms sink makes it).
 *
 * @param database The SIEM database.
 * @param host The host's name (as in `vms.host`).
 * @param status `"ok"` or `"unreachable"`.
 * @param reason Why, in words (`"host key changed"`), or `null`.
 * @returns Whether the row was written.
 *
 * @example
 * ```ts
 * import { recordVmStatus } from "./vms.ts";
 * recordVmStatus(":memory:", "vm1", "unreachable", "auth refused"); // false: no vms table
 * ```
 */
export function recordVmStatus(
  database: string,
  host: string,
  status: "ok" | "unreachable",
  reason: string | null,
): boolean {
  const db = new DatabaseSync(database);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const columns = new Set(
      (db.prepare(`PRAGMA table_info("vms")`).all() as Array<{ name: string }>).map((c) => c.name),
    );
    if (columns.size === 0) return false;
    for (const c of ["status", "status_reason", "status_at"]) {
      if (columns.has(c)) continue;
      try {
        db.exec(`ALTER TABLE vms ADD COLUMN ${c} TEXT`);
      } catch (err) {
        // Another writer added it meanwhile.
        if (!/duplicate column/i.test(String(err))) throw err;
      }
    }
    db.prepare(
      `INSERT INTO vms (host, status, status_reason, status_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (host) DO UPDATE SET status = excluded.status,
         status_reason = excluded.status_reason, status_at = excluded.status_at`,
    ).run(host, status, reason, new Date().toISOString());
    return true;
  } finally {
    db.close();
  }
}
