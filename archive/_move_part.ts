/**
 * One part of an archive pass (archive/mover.ts): the steps that make a
 * (table, day) into a Parquet file on disk ({@linkcode writePart}: write,
 * fsync, read back and count, rename, fsync the directory), and the
 * transaction that records written parts in `archive_log` and deletes
 * their rows ({@linkcode commitParts}), which takes several parts at once.
 *
 * @module
 */

import { syncDir } from "../sinks/_jsonl_rotate.ts";
import type { DatabaseSync } from "node:sqlite";
import {
  countParquetRows,
  type ParquetColumn,
  type ParquetRow,
  writeParquetBatches,
} from "./parquet.ts";

/** Rows per `all()` of a part's read: a fifth of a row group, so the batch adds little memory. */
const _READ_CHUNK = 10_000;
import type { ArchiveOptions } from "./mover.ts";

/**
 * Where a pass's time went, wall ms on the mover's thread, phase by phase
 * (the bench prints them; docs/archive.md "Measured").
 */
export interface ArchivePhases {
  /** Reading rows from SQLite and converting their values. */
  read: number;
  /** Building, encoding and compressing the row groups. */
  encode: number;
  /** Writing the encoded bytes. */
  write: number;
  /** The fsync of each file. */
  sync: number;
  /** Reading each file back and checking its count and row ids. */
  verify: number;
  /** Renaming each file into place and the fsync of its directory. */
  rename: number;
  /** The `DELETE`s (and `archive_log` inserts) inside the transactions. */
  delete: number;
  /** The `COMMIT`s (the WAL write and its fsync, a checkpoint when one is due). */
  commit: number;
}

/** A pass's phases, all zero.
 *
 * @returns A new record.
 *
 * @example
 * ```ts
 * import { noPhases } from "./_move_part.ts";
 * console.log(noPhases().delete); // 0
 * ```
 */
export function noPhases(): ArchivePhases {
  return { read: 0, encode: 0, write: 0, sync: 0, verify: 0, rename: 0, delete: 0, commit: 0 };
}

/** A part on disk under its final name, not yet in `archive_log`. */
export interface WrittenPart {
  /** The table. */
  table: string;
  /** Its day, YYYY-MM-DD. */
  day: string;
  /** The part's number within the day. */
  part: number;
  /** Its path under the archive directory. */
  rel: string;
  /** Its full path. */
  final: string;
  /** The time column's bounds, and the smallest and largest row id moved. */
  timeColumn: string;
  from: string;
  until: string;
  minRowid: number;
  maxRowid: number;
  /**
   * The rows' condition, the same for the read and the delete: a row-id
   * range walked in the table (the day's rows are contiguous in row id)
   * or the time index searched (they are not), with its parameters.
   */
  where: string;
  params: Array<string | number>;
  /** Rows and bytes written. */
  rows: number;
  bytes: number;
}

/**
 * Steps 1-3 of a part: the rows of `table` on `day` before `cutoff` into
 * `part-<n>.parquet` (written as a temporary file, fsynced, read back and
 * counted, renamed, the directory fsynced). A failure removes what it
 * wrote; a crash leaves files the next pass's recovery removes.
 *
 * @param db The database.
 * @param o The pass's options.
 * @param table The table.
 * @param timeColumn Its time column.
 * @param columns Its Parquet columns.
 * @param day The day.
 * @param cutoff Rows from this time on stay.
 * @param phases Where its time goes is added here.
 * @returns The part, or `undefined` when the day has no rows to move.
 *
 * @example
 * ```ts
 * import { writePart } from "./_move_part.ts";
 * // const part = await writePart(db, options, "alerts", "timestamp", columns, "2026-10-01", cutoff);
 * ```
 */
export async function writePart(
  db: DatabaseSync,
  o: ArchiveOptions,
  table: string,
  timeColumn: string,
  columns: ParquetColumn[],
  day: string,
  cutoff: string,
  phases: ArchivePhases = noPhases(),
): Promise<WrittenPart | undefined> {
  const from = `${day}T00:00:00.000Z`;
  // Every ISO time of the day and nothing else: a time that is no date ("2026-10-45T…")
  // sorts between days and would otherwise fall in the range of the day before it.
  const end = `${day}U`;
  const until = end < cutoff ? end : cutoff;
  const range = `${timeColumn} >= ? AND ${timeColumn} < ?`;
  const top = db.prepare(
    `SELECT min(rowid) AS lo, max(rowid) AS m, count(*) AS n FROM ${table} WHERE ${range}`,
  ).get(from, until) as { lo: number | null; m: number | null; n: number };
  if (top.m === null || top.lo === null || top.n === 0) return undefined;
  const maxRowid = top.m;
  const minRowid = top.lo;
  // Rows stored in time order make a day one run of row ids: walking that run in the table
  // reads each row once, in order, where the time index (the planner's choice) sorts a day's
  // rows in a temporary b-tree first, and before that the `rowid <= max` bound walked every
  // pending day again. The unary `+` keeps the planner off the time index. Rows of a day
  // scattered in row id (late arrivals) take the index instead: the same rows either way.
  const contiguous = maxRowid - minRowid + 1 <= 2 * Number(top.n) + 1_000;
  const where = contiguous
    ? `rowid BETWEEN ? AND ? AND +${timeColumn} >= ? AND +${timeColumn} < ?`
    : `rowid BETWEEN ? AND ? AND ${range}`;
  const params = [minRowid, maxRowid, from, until];
  const part = Number(
    (db.prepare("SELECT coalesce(max(part) + 1, 0) AS p FROM archive_log WHERE tbl = ? AND day = ?")
      .get(table, day) as {
        p: number;
      }).p,
  );
  const rel = `${table}/date=${day}/part-${part}.parquet`;
  const dir = `${o.dir}/${table}/date=${day}`;
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${dir}/.part-${part}.parquet.tmp`;
  const final = `${dir}/part-${part}.parquet`;
  // Rows as arrays in the columns' order: a quarter of the CPU of row objects
  // (node:sqlite builds no object per row).
  const list = columns.slice(1).map((c) => `"${c.name}"`).join(", ");
  const chunk = Math.max(1, Math.floor(o.readRows ?? _READ_CHUNK));
  const select = db.prepare(
    `SELECT rowid AS _rowid, ${list} FROM ${table} WHERE ${where} ORDER BY rowid LIMIT ${chunk}`,
  );
  select.setReadBigInts(true);
  // Deno 2.9.6 has it, its types do not yet; without it the rows come as objects (same file).
  (select as unknown as { setReturnArrays?: (on: boolean) => void }).setReturnArrays?.call(
    select,
    true,
  );
  // The rows in batches of `chunk` by row id (keyset: each batch starts after the last one's
  // largest row id), one `all()` each: the same rows in the same order as one `iterate()`,
  // without a native call and an iterator result per row.
  function* batches(): Generator<ParquetRow[]> {
    let cursor = minRowid;
    for (;;) {
      const rows = select.all(cursor, maxRowid, from, until) as ParquetRow[];
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < chunk) return;
      const last = rows[rows.length - 1]!;
      cursor = Number(Array.isArray(last) ? last[0] : (last as { _rowid: unknown })._rowid) + 1;
    }
  }
  const written = await writeParquetBatches(
    tmp,
    columns,
    batches(),
    o.rowGroupSize ? { rowGroupSize: o.rowGroupSize } : {},
  );
  phases.read += written.readMs;
  phases.encode += written.encodeMs;
  phases.write += written.writeMs;
  phases.sync += written.syncMs;
  try {
    o.onStep?.("written", table, day);
    let t0 = performance.now();
    const check = await countParquetRows(tmp, "_rowid");
    if (
      check.rows !== written.rows || check.footerRows !== written.rows ||
      check.max !== BigInt(maxRowid) || check.min !== BigInt(minRowid)
    ) {
      throw new Error(
        `archive: ${rel} reads back ${check.rows} rows (footer ${check.footerRows}, row ids ${check.min}-${check.max}), ${written.rows} written (${minRowid}-${maxRowid}); nothing deleted`,
      );
    }
    phases.verify += performance.now() - t0;
    o.onStep?.("verified", table, day);
    t0 = performance.now();
    await Deno.rename(tmp, final);
    await syncDir(final);
    phases.rename += performance.now() - t0;
    o.onStep?.("renamed", table, day);
  } catch (err) {
    // A failure (not a crash: recovery handles those) takes its own files away at once.
    await Deno.remove(tmp).catch(() => {});
    await Deno.remove(final).catch(() => {});
    throw err;
  }
  return {
    table,
    day,
    part,
    rel,
    final,
    timeColumn,
    from,
    until,
    minRowid,
    maxRowid,
    where,
    params,
    rows: written.rows,
    bytes: written.bytes,
  };
}

/**
 * Step 4 for any number of written parts, in one transaction: each is
 * recorded in `archive_log` and its rows deleted (the condition its rows
 * were read with: the day's range within its row ids), checking that as many go as were
 * written (fewer, larger transactions: see `commitRows`). On
 * any failure the transaction rolls back and the parts' files are removed:
 * their rows are still in the database. Runs on the pass's thread or on the
 * commit thread (archive/_commit_worker.ts); {@linkcode reportCommitted}
 * tells the pass's hooks afterwards.
 *
 * @param db The database.
 * @param parts The parts, as {@linkcode writePart} returned them.
 * @param phases Where its time goes is added here.
 *
 * @example
 * ```ts
 * import { commitParts } from "./_move_part.ts";
 * // await commitParts(db, parts);
 * ```
 */
export async function commitParts(
  db: DatabaseSync,
  parts: readonly WrittenPart[],
  phases: ArchivePhases = noPhases(),
): Promise<void> {
  if (parts.length === 0) return;
  const t0 = performance.now();
  db.exec("BEGIN IMMEDIATE");
  try {
    const log = db.prepare(
      `INSERT INTO archive_log (tbl, day, part, file, rows, min_rowid, max_rowid, bytes, archived_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const p of parts) {
      log.run(
        p.table,
        p.day,
        p.part,
        p.rel,
        p.rows,
        p.minRowid,
        p.maxRowid,
        p.bytes,
        new Date().toISOString(),
      );
      // The read's own condition: exactly the rows written, unless the table changed meanwhile.
      const gone = db.prepare(`DELETE FROM ${p.table} WHERE ${p.where}`).run(...p.params);
      if (Number(gone.changes) !== p.rows) {
        throw new Error(
          `archive: ${p.table} ${p.day} changed while it was archived (deleting would remove ${gone.changes} rows, ${p.rows} written); rolled back`,
        );
      }
    }
    const t1 = performance.now();
    phases.delete += t1 - t0;
    db.exec("COMMIT");
    phases.commit += performance.now() - t1;
  } catch (err) {
    db.exec("ROLLBACK");
    for (const p of parts) await Deno.remove(p.final).catch(() => {});
    throw err;
  }
}

/**
 * Tells the pass's hooks about parts {@linkcode commitParts} committed:
 * `onStep` hears `committed` for each, the log gets a line each.
 *
 * @param o The pass's options.
 * @param parts The committed parts.
 *
 * @example
 * ```ts
 * import { reportCommitted } from "./_move_part.ts";
 * reportCommitted({ database: "x.db", dir: "a", retainDbMs: 1 }, []);
 * ```
 */
export function reportCommitted(o: ArchiveOptions, parts: readonly WrittenPart[]): void {
  for (const p of parts) {
    o.onStep?.("committed", p.table, p.day);
    o.log?.info(
      `archive: ${p.rows} rows of ${p.table} for ${p.day} → ${p.rel} (${p.bytes} bytes)`,
    );
  }
}
