/**
 * Parquet files of SIEM rows: written one row group at a time straight to a
 * file (so a day of a table is never held in memory whole), fsynced, and
 * read back to count what they hold. Written with `hyparquet-writer` (pure
 * JavaScript: nothing native to build or load on a NAS or under
 * `deno compile`), read with `hyparquet`; Zstandard-compressed with the
 * runtime's own zstd (`node:zlib`: on the alerts' JSON `raw` column it
 * packs ~3x tighter than Snappy), typed columns (TIMESTAMP for times, INT64
 * for counts, DOUBLE, STRING).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { countParquetRows, writeParquetFile } from "./parquet.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/a.parquet`; // created by the write: it must not exist
 * const rows = [{ n: 1n, t: "a" }, { n: 2n, t: null }];
 * await writeParquetFile(path, [{ name: "n", type: "INT64", nullable: false }, { name: "t", type: "STRING", nullable: true }], rows);
 * assert.equal((await countParquetRows(path, "n")).rows, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { ByteWriter, ParquetWriter, schemaFromColumnData } from "../core/_deps/hyparquet_writer.ts";
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetRead,
  parquetReadObjects,
} from "../core/_deps/hyparquet.ts";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { columnConverter, utf8Group } from "./_parquet_values.ts";

/** A Buffer as a plain Uint8Array over the same bytes (`new Uint8Array(buffer)` copies them). */
function _view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function _compressors(level: number) {
  const options = { params: { [constants.ZSTD_c_compressionLevel]: level } };
  return {
    ZSTD: (input: Uint8Array): Uint8Array => _view(zstdCompressSync(input, options)),
  };
}
const _DECOMPRESSORS = {
  ZSTD: (input: Uint8Array, _length: number): Uint8Array => _view(zstdDecompressSync(input)),
};

/** A column of an archive file. */
export interface ParquetColumn {
  /** The column's name (as in the SQLite table). */
  readonly name: string;
  /** Its Parquet type. */
  readonly type: "STRING" | "INT64" | "DOUBLE" | "TIMESTAMP";
  /** Whether it may hold nulls. */
  readonly nullable: boolean;
}

/** Options for {@linkcode writeParquetFile}. */
export interface WriteParquetOptions {
  /**
   * Rows per row group. A group is what the writer holds at once (its
   * values, their UTF-8 bytes, its encoded pages): 10,000 alerts are about
   * 7 MB of text, and 50,000 took the archiver's peak RSS from 285 to 486 MB
   * for the same file within 0.2 % (docs/archive.md "Measured"). @default {10000}
   */
  rowGroupSize?: number;
  /**
   * A group also ends once its text holds this many characters, whatever
   * its rows: wide rows (long messages, objects) make smaller groups, so a
   * group's memory stays bounded by bytes as well as rows. @default {8388608}
   */
  rowGroupChars?: number;
  /** Checked before each row group; throwing there stops the write (tests inject faults). */
  beforeGroup?: (rowsSoFar: number) => void;
  /** Compression. @default {"ZSTD"} */
  codec?: "ZSTD" | "SNAPPY";
  /**
   * Zstandard level. On 100,000 alerts level 1 wrote 10.92 MB and level 3
   * (zstd's default) 11.39 MB, with CPU within the noise of a loaded
   * machine: the fastest standard level costs nothing here. @default {1}
   */
  zstdLevel?: number;
}

/** What {@linkcode writeParquetFile} wrote, and where its time went (wall ms). */
export interface WrittenParquet {
  /** Rows written. */
  rows: number;
  /** The file's size. */
  bytes: number;
  /** Taking the rows from the iterator and converting them (for SQLite rows: the read). */
  readMs: number;
  /** Building, encoding and compressing the row groups' columns. */
  encodeMs: number;
  /** Writing the encoded bytes to the file. */
  writeMs: number;
  /** The fsync. */
  syncMs: number;
}

/** A writer that hands its buffer to a file after each row group. */
class _FileByteWriter extends ByteWriter {
  #file: Deno.FsFile;
  /** Time spent in the file's writes, ms. */
  writeMs = 0;
  constructor(file: Deno.FsFile) {
    super(1 << 20);
    this.#file = file;
  }
  flush(): void {
    const t0 = performance.now();
    let n = 0;
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    while (n < bytes.length) n += this.#file.writeSync(bytes.subarray(n));
    this.index = 0;
    this.writeMs += performance.now() - t0;
  }
  override finish(): void {
    this.flush();
  }
}

/** A row: an object by column name, or an array in the columns' order. */
export type ParquetRow = Record<string, unknown> | readonly unknown[];

/**
 * Writes rows into a new Parquet file, one row group at a time, and fsyncs
 * it. The file is created (it must not exist) and removed again when the
 * write fails, so a failure never leaves a partial file behind.
 *
 * @param path The file to create.
 * @param columns The columns, in order.
 * @param rows The rows, as objects by column name or as arrays in the
 *   columns' order (cheaper: `node:sqlite`'s `setReturnArrays`); an iterator,
 *   read once, a group at a time.
 * @param options Row group size, compression, fault hook.
 * @returns Rows and bytes written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeParquetFile } from "./parquet.ts";
 * const path = `${await Deno.makeTempDir()}/a.parquet`;
 * const cols = [{ name: "n", type: "INT64", nullable: false }, { name: "t", type: "TIMESTAMP", nullable: false }] as const;
 * const r = await writeParquetFile(path, cols, [[1n, "2026-12-01T00:00:00.000Z"]]);
 * assert.equal(r.rows, 1);
 * ```
 */
export function writeParquetFile(
  path: string,
  columns: readonly ParquetColumn[],
  rows: Iterable<ParquetRow>,
  options: WriteParquetOptions = {},
): Promise<WrittenParquet> {
  return writeParquetBatches(path, columns, [rows], options);
}

/**
 * {@linkcode writeParquetFile} for rows that come in batches (each an
 * iterable of rows, e.g. `node:sqlite`'s `all()` over a range of row ids
 * a row group long): one native call per batch rather than one per row.
 * Row groups are cut across batches as usual.
 *
 * @param path The file to create.
 * @param columns The columns, in order.
 * @param batches The batches of rows, read once.
 * @param options Row group size, compression, fault hook.
 * @returns Rows and bytes written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeParquetBatches } from "./parquet.ts";
 * const path = `${await Deno.makeTempDir()}/a.parquet`;
 * const cols = [{ name: "n", type: "INT64", nullable: false }] as const;
 * const r = await writeParquetBatches(path, cols, [[[1n], [2n]], [[3n]]]);
 * assert.equal(r.rows, 3);
 * ```
 */
export async function writeParquetBatches(
  path: string,
  columns: readonly ParquetColumn[],
  batches: Iterable<Iterable<ParquetRow>>,
  options: WriteParquetOptions = {},
): Promise<WrittenParquet> {
  const groupSize = options.rowGroupSize ?? 10_000;
  const groupChars = options.rowGroupChars ?? 8 << 20;
  const started = performance.now();
  let encodeMs = 0;
  const file = await Deno.open(path, { write: true, createNew: true });
  let ok = false;
  try {
    const writer = new _FileByteWriter(file);
    const empty = columns.map((c) => ({
      name: c.name,
      data: [] as unknown[],
      type: c.type,
      nullable: c.nullable,
    }));
    const pq = new ParquetWriter({
      writer,
      schema: schemaFromColumnData({ columnData: empty }),
      codec: options.codec ?? "ZSTD",
      compressors: _compressors(options.zstdLevel ?? 1),
      createdBy: "sluice",
    });
    let total = 0;
    let group: unknown[][] = columns.map(() => []);
    let n = 0;
    let chars = 0;
    const flushGroup = () => {
      if (n === 0) return;
      options.beforeGroup?.(total);
      const t0 = performance.now();
      pq.write({
        columnData: columns.map((c, i) => {
          const values = group[i] as unknown[];
          const text = c.type === "STRING";
          const data = text ? utf8Group(values) : values;
          return {
            name: c.name,
            data,
            type: c.type,
            nullable: c.nullable,
            // Mostly-distinct text (given as bytes): plain pages without the writer's
            // dictionary trial, which hashes a sample of the values' bytes only to say no.
            ...(data !== values ? { encoding: "PLAIN" as const } : {}),
            // No min/max for text: mostly-distinct columns (the raw line, ids) are never
            // pruned on, and the repeating ones (host, severity, rule) hold every value in
            // every group of a day; comparing each value cost ~1 CPU s per 1M alerts.
            // Times, row ids and numbers keep theirs (DuckDB skips groups by time).
            statistics: !text,
          };
        }),
        rowGroupSize: n,
      });
      total += n;
      n = 0;
      chars = 0;
      group = columns.map(() => []);
      encodeMs += performance.now() - t0;
    };
    const names = columns.map((c) => c.name);
    const convert = columns.map((c) => columnConverter(c.type, c.name));
    const width = columns.length;
    for (const batch of batches) {
      for (const row of batch) {
        const array = Array.isArray(row);
        if (array && row.length !== width) {
          throw new TypeError(`parquet: a row of ${row.length} values for ${width} columns`);
        }
        for (let i = 0; i < width; i++) {
          const v = convert[i]!(
            array ? row[i] : (row as Record<string, unknown>)[names[i]!],
          );
          if (typeof v === "string") chars += v.length;
          group[i]!.push(v);
        }
        if (++n >= groupSize || chars >= groupChars) flushGroup();
      }
    }
    flushGroup();
    const t0 = performance.now();
    pq.finish();
    encodeMs += performance.now() - t0;
    const t1 = performance.now();
    await file.sync();
    const syncMs = performance.now() - t1;
    const bytes = (await file.stat()).size;
    ok = true;
    encodeMs -= writer.writeMs;
    const readMs = t1 - started - encodeMs - writer.writeMs;
    return { rows: total, bytes, readMs, encodeMs, writeMs: writer.writeMs, syncMs };
  } finally {
    file.close();
    if (!ok) await Deno.remove(path).catch(() => {});
  }
}

/**
 * Reads a Parquet file back and counts its rows, reading one column in
 * full (not only the footer), with its smallest and largest value.
 *
 * @param path The file.
 * @param column An INT64 column to read (the row ids).
 * @returns The count and the column's range.
 */
export async function countParquetRows(
  path: string,
  column: string,
): Promise<{ rows: number; footerRows: number; min: bigint | undefined; max: bigint | undefined }> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  let rows = 0;
  let min: bigint | undefined;
  let max: bigint | undefined;
  // The column's values chunk by chunk (every page decoded), not an object per row.
  await parquetRead({
    file,
    metadata,
    columns: [column],
    compressors: _DECOMPRESSORS,
    onChunk: ({ columnData }) => {
      rows += columnData.length;
      const values = columnData as ArrayLike<unknown>;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        const b = typeof v === "bigint" ? v : typeof v === "number" ? BigInt(v) : undefined;
        if (b === undefined) continue;
        if (min === undefined || b < min) min = b;
        if (max === undefined || b > max) max = b;
      }
    },
  });
  return { rows, footerRows: Number(metadata.num_rows), min, max };
}

/**
 * Reads every row of a Parquet file (for `sluice query --archive` over
 * small ranges and for tests; large scans use DuckDB).
 *
 * @param path The file.
 * @param columns Only these columns. @default {all}
 * @returns The rows.
 */
export async function readParquetRows(
  path: string,
  columns?: string[],
): Promise<Array<Record<string, unknown>>> {
  const file = await asyncBufferFromFile(path);
  return await parquetReadObjects({
    file,
    compressors: _DECOMPRESSORS,
    ...(columns ? { columns } : {}),
  }) as Array<
    Record<string, unknown>
  >;
}
