/**
 * Reads archived alerts back for `sluice query critical|alerts --archive`:
 * the same filters as the store (time range, host, rule, severities), newest
 * first, through DuckDB over the Parquet files (loaded only when asked),
 * with values as bound parameters.
 *
 * @example
 * ```ts
 * import { archivedAlerts } from "./read.ts";
 * // const rows = await archivedAlerts("data/archives", { since: Date.now() - 45 * 86_400_000, severities: ["critical"] }, 100);
 * ```
 *
 * @module
 */

import type { AlertFilter, AlertRow } from "../store/types.ts";
import { severitySpellings } from "../store/severity.ts";

/**
 * The archive directory that goes with a SIEM database when none is named:
 * `archives/` beside the database file (`data/siem.db` → `data/archives`),
 * as the central's archive service writes it.
 *
 * @param database The database file.
 * @returns The directory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { archiveDirFor } from "./read.ts";
 * assert.equal(archiveDirFor("data/siem.db"), "data/archives");
 * assert.equal(archiveDirFor("siem.db"), "./archives");
 * ```
 */
export function archiveDirFor(database: string): string {
  const slash = database.lastIndexOf("/");
  return slash < 0 ? "./archives" : `${database.slice(0, slash)}/archives`;
}

/**
 * Where a newest-first read resumes: rows strictly older than this time and
 * row id (the last row a page showed), as the store's keyset cursor.
 *
 * @example
 * ```ts
 * import type { ArchiveKey } from "./read.ts";
 * const before: ArchiveKey = { timestamp: "2026-11-01T10:00:00.000Z", seq: 1234 };
 * ```
 */
export interface ArchiveKey {
  /** ISO 8601 time of the last row shown. */
  timestamp: string;
  /** Its row id. */
  seq: number;
}

/**
 * Archived alerts of a filter, newest first (by time, then row id, as the
 * store orders them), at most `limit`.
 *
 * @param dir The archive directory.
 * @param filter Time range, host, rule, source, severities, text (as the
 *   store: in rule, message, file, hash, host; any case); not triage, which
 *   the archive does not keep.
 * @param limit The most rows.
 * @param before Only rows older than this key (keyset paging).
 * @returns The rows; none when nothing is archived.
 * @throws {RangeError} When `before` holds no valid time.
 */
export async function archivedAlerts(
  dir: string,
  filter: AlertFilter,
  limit: number,
  before?: ArchiveKey,
): Promise<AlertRow[]> {
  const beforeMs = before === undefined ? undefined : Date.parse(before.timestamp);
  if (
    beforeMs !== undefined && (!Number.isFinite(beforeMs) || !Number.isSafeInteger(before?.seq))
  ) {
    throw new RangeError(`archive: not a valid key: ${JSON.stringify(before).slice(0, 80)}`);
  }
  let root: string;
  try {
    root = await Deno.realPath(`${dir}/alerts`);
  } catch {
    return [];
  }
  const { DuckDBInstance } = await import("../core/_deps/duckdb.ts");
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const where: string[] = [];
    const params: Array<string | number> = [];
    const p = (v: string | number) => {
      params.push(v);
      return `$${params.length}`;
    };
    // Each row's file is under the UTC day of its time (date=YYYY-MM-DD): a bound on the
    // partition too lets DuckDB skip the other days' files without opening them.
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    if (filter.since !== undefined) {
      where.push(`timestamp >= make_timestamp(${p(filter.since * 1000)}::BIGINT)`);
      if (Number.isFinite(filter.since)) {
        where.push(`date >= CAST(${p(day(filter.since))} AS DATE)`);
      }
    }
    if (filter.until !== undefined) {
      where.push(`timestamp < make_timestamp(${p(filter.until * 1000)}::BIGINT)`);
      if (Number.isFinite(filter.until)) {
        where.push(`date <= CAST(${p(day(filter.until))} AS DATE)`);
      }
    }
    if (filter.host !== undefined) where.push(`host = ${p(filter.host)}`);
    if (filter.rule !== undefined) where.push(`rule = ${p(filter.rule)}`);
    if (filter.source !== undefined) where.push(`source = ${p(filter.source)}`);
    if (filter.severities?.length) {
      where.push(
        `severity IN (${severitySpellings(filter.severities).map((s) => p(s)).join(", ")})`,
      );
    }
    if (filter.text !== undefined && filter.text !== "") {
      const t = p(filter.text.toLowerCase());
      where.push(
        `(${
          ["rule", "message", "file", "hash", "host"].map((c) =>
            `strpos(lower(coalesce(${c}, '')), ${t}) > 0`
          ).join(" OR ")
        })`,
      );
    }
    if (before !== undefined && beforeMs !== undefined) {
      const ts = `make_timestamp(${p(beforeMs * 1000)}::BIGINT)`;
      where.push(`(timestamp < ${ts} OR (timestamp = ${ts} AND _rowid < ${p(before.seq)}))`);
    }
    const glob = `${root}/*/*.parquet`.replaceAll("'", "''");
    const sql =
      `SELECT _rowid, id, strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS ts, host, severity, rule, file, hash, message, source
      FROM read_parquet('${glob}', hive_partitioning = true, union_by_name = true)
      ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY timestamp DESC, _rowid DESC LIMIT ${p(Math.max(0, Math.floor(limit)))}`;
    const prepared = await conn.prepare(sql);
    for (let i = 0; i < params.length; i++) {
      const v = params[i] as string | number;
      if (typeof v === "number") prepared.bindBigInt(i + 1, BigInt(v));
      else prepared.bindVarchar(i + 1, v);
    }
    const rows = (await prepared.runAndReadAll()).getRowObjects() as Array<Record<string, unknown>>;
    const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
    return rows.map((r) => ({
      seq: Number(r._rowid),
      id: s(r.id),
      timestamp: String(r.ts),
      host: s(r.host),
      severity: s(r.severity),
      rule: s(r.rule),
      file: s(r.file),
      hash: s(r.hash),
      message: s(r.message),
      source: s(r.source),
      status: "open" as const,
    }));
  } catch (err) {
    if (/No files found/.test(String(err))) return [];
    throw err;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * Merges live and archived rows, newest first, at most `limit`.
 *
 * @param live Rows from the database.
 * @param archived Rows from the archive.
 * @param limit The most rows.
 * @returns The merged rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeNewestFirst } from "./read.ts";
 * const row = (seq: number, timestamp: string) => ({ seq, timestamp });
 * assert.deepEqual(mergeNewestFirst([row(9, "2026-01-02")], [row(1, "2026-01-01")], 5).map((r) => r.seq), [9, 1]);
 * ```
 */
export function mergeNewestFirst<T extends { seq: number; timestamp: string }>(
  live: T[],
  archived: T[],
  limit: number,
): T[] {
  const seen = new Set(live.map((r) => r.seq));
  return [...live, ...archived.filter((r) => !seen.has(r.seq))]
    .sort(compareNewestFirst)
    .slice(0, limit);
}

/**
 * The order of {@linkcode mergeNewestFirst} (and of the stores' alert
 * pages): newer time first, then the higher row id.
 *
 * @param a A row.
 * @param b Another row.
 * @returns Negative when `a` comes first, positive when `b` does.
 *
 * @example
 * ```ts
 * import { compareNewestFirst } from "./read.ts";
 * compareNewestFirst({ timestamp: "2026-12-06", seq: 1 }, { timestamp: "2026-12-05", seq: 9 }); // -1
 * ```
 */
export function compareNewestFirst(
  a: { seq: number; timestamp: string },
  b: { seq: number; timestamp: string },
): number {
  return a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : b.seq - a.seq;
}
