/**
 * `sluice archive`: the lifecycle of the SIEM's history by hand or from
 * cron, and SQL over the archive.
 *
 * ```sh
 * sluice archive --once --retain-db 30d --retain-archive 365d --max-disk 20GB --retain-jsonl 90d
 * sluice archive query "select rule, count(*) from alerts group by 1 order by 2 desc"
 * ```
 *
 * `archive query` runs one read-only statement in DuckDB with a view per
 * archived table (`alerts`, `auth_events`, …) over its Parquet files; DuckDB
 * may read only the archive directory.
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { ARCHIVED_TABLES, archiveOnce } from "../archive/mover.ts";
import { pruneArchive } from "../archive/retention.ts";
import { jsonlLifecycle } from "../archive/jsonl_lifecycle.ts";
import { archiveDirFor } from "../archive/read.ts";
import { parseDuration, parseSize } from "../core/duration.ts";

/** Where the commands write (tests capture it). */
export interface ArchiveIo {
  /** A line to standard output. */
  out(line: string): void;
  /** A line to standard error. */
  err(line: string): void;
}

export { parseSize };

function _duration(text: string | undefined, flag: string): number | undefined {
  if (text === undefined || (flag === "--retain-jsonl" && text === "forever")) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new RangeError(`${flag}: expected a duration like 30d, got "${text}"`);
  }
  return ms;
}

/**
 * Registers `archive` on the program.
 *
 * @param program The commander program.
 * @param setExitCode Receives the exit code.
 * @param io Output. @default {console}
 * @returns The program.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "../core/_deps/commander.ts";
 * import { registerArchiveCommand } from "./archive.ts";
 * const program = registerArchiveCommand(new Command("sluice"), () => {});
 * assert.ok(program.commands.some((c) => c.name() === "archive"));
 * ```
 */
export function registerArchiveCommand(
  program: Command,
  setExitCode: (code: number) => void,
  io: ArchiveIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
): Command {
  const fail = (err: unknown) => {
    io.err(`sluice archive: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof Error && /Requires ffi access/.test(err.message)) {
      // Deployed binaries and units never get --allow-ffi (docs/deploy.md).
      io.err(
        "sluice archive: DuckDB is a native addon that needs --allow-ffi, which the deployed " +
          "sluice binary does not have: run archive query from a checkout with " +
          "`deno run --allow-read --allow-ffi --allow-env runner/main.ts archive query …`",
      );
    }
    setExitCode(err instanceof RangeError || err instanceof TypeError ? 2 : 1);
  };
  const archive = program.command("archive")
    .description(
      "moves old rows into Parquet archives and applies retention (--once), or queries them",
    )
    .option("--db <path>", "the SIEM database (SLUICE_DB; default ./data/siem.db)")
    .option("--dir <path>", "the archive directory (default: archives/ beside the database)")
    .option("--once", "run one pass and exit")
    .option("--retain-db <duration>", "move rows older than this into the archive (30d)")
    .option("--retain-archive <duration>", "delete archive days older than this (365d)")
    .option("--max-disk <size>", "delete the oldest archive days past this size (20GB)")
    .option(
      "--jsonl <dir>",
      "the JSONL directory: gzip past days' files (default with --retain-jsonl: logs/ beside the database)",
    )
    .option("--daily <dir>", "the former name of --jsonl")
    .option(
      "--retain-jsonl <duration>",
      "delete JSONL files (gzipped or not) of days older than this; forever: only gzip (90d)",
    )
    .action(async (o: Record<string, string | boolean | undefined>) => {
      try {
        if (!o.once) {
          throw new RangeError("--once is required (the central runs the schedule itself)");
        }
        const db = (o.db as string | undefined) ?? Deno.env.get("SLUICE_DB") ?? "./data/siem.db";
        const dir = (o.dir as string | undefined) ?? archiveDirFor(db);
        const retainDb = _duration(o.retainDb as string | undefined, "--retain-db");
        const retainArchive = _duration(o.retainArchive as string | undefined, "--retain-archive");
        const retainJsonl = _duration(o.retainJsonl as string | undefined, "--retain-jsonl");
        const maxDisk = o.maxDisk === undefined ? undefined : parseSize(o.maxDisk as string);
        if (o.maxDisk !== undefined && maxDisk === undefined) {
          throw new RangeError(`--max-disk: expected a size like 20GB, got "${o.maxDisk}"`);
        }
        if (retainDb !== undefined) {
          const s = await archiveOnce({ database: db, dir, retainDbMs: retainDb });
          io.out(
            `archived ${s.rows} rows in ${s.parts} parts (${s.bytes} bytes)` +
              (s.recovered ? `; removed ${s.recovered} leftovers of an interrupted run` : ""),
          );
          for (const [t, n] of Object.entries(s.byTable)) io.out(`  ${t}\t${n}`);
        }
        const jsonlDir = (o.jsonl ?? o.daily) as string | undefined ??
          (o.retainJsonl !== undefined ? _logsBeside(db) : undefined);
        // JSONL first: its files count against --max-disk, so archive days go only for the rest.
        let jsonlBytes = 0;
        if (jsonlDir !== undefined) {
          const z = await jsonlLifecycle({
            dir: jsonlDir,
            ...(retainJsonl !== undefined ? { retainJsonlMs: retainJsonl } : {}),
          });
          jsonlBytes = z.bytes;
          io.out(
            z.busy
              ? `JSONL: another pass is running on ${jsonlDir}; nothing done`
              : `JSONL: ${z.compressed} compressed, ${z.deleted} deleted, ${z.bytesFreed} bytes freed; ` +
                `${z.bytes} bytes in ${jsonlDir}` +
                (z.skippedOpen ? `; ${z.skippedOpen} open file(s) left for the next pass` : "") +
                (z.leftovers ? `; finished ${z.leftovers} leftover(s) of an interrupted pass` : ""),
          );
        }
        if (retainArchive !== undefined || maxDisk !== undefined) {
          const p = await pruneArchive({
            database: db,
            dir,
            ...(retainArchive !== undefined ? { retainArchiveMs: retainArchive } : {}),
            ...(maxDisk !== undefined ? { maxDiskBytes: Math.max(0, maxDisk - jsonlBytes) } : {}),
          });
          io.out(
            `archive: ${p.bytes} bytes; deleted ${p.daysDeleted} day(s), ${p.bytesFreed} bytes`,
          );
          if (p.nearLimit) io.err(`warning: the archive is close to --max-disk ${maxDisk}`);
        }
        setExitCode(0);
      } catch (err) {
        fail(err);
      }
    });
  archive.command("query")
    .description("runs one read-only SQL statement over the archive with DuckDB")
    .argument("<sql>")
    .option("--dir <path>", "the archive directory", "./data/archives")
    .option("--format <format>", "json or tsv", "tsv")
    .action(async (sql: string, o: { dir: string; format: string }) => {
      try {
        io.out(await queryArchive(o.dir, sql, o.format === "json" ? "json" : "tsv"));
        setExitCode(0);
      } catch (err) {
        fail(err);
      }
    });
  return program;
}

/** `logs/` beside the database, where the central example writes its JSONL. */
function _logsBeside(db: string): string {
  const slash = db.lastIndexOf("/");
  return slash < 0 ? "./logs" : `${db.slice(0, slash) || "/"}/logs`;
}

/**
 * Runs one SELECT over the archive in DuckDB, with a view per table. DuckDB
 * may read only the archive directory, and any statement but a query is
 * refused before it runs.
 *
 * @param dir The archive directory.
 * @param sql The query.
 * @param format `tsv` (a header line, then rows) or `json` (one object per line).
 * @returns The rows as text.
 */
export async function queryArchive(
  dir: string,
  sql: string,
  format: "tsv" | "json" = "tsv",
): Promise<string> {
  const { DuckDBInstance } = await import("../core/_deps/duckdb.ts");
  const root = await Deno.realPath(dir);
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;
    for (const table of Object.keys(ARCHIVED_TABLES)) {
      try {
        await Deno.stat(`${root}/${table}`);
      } catch {
        continue;
      }
      const glob = quote(`${root}/${table}/*/*.parquet`);
      await conn.run(
        `CREATE VIEW ${table} AS SELECT * FROM read_parquet(${glob}, hive_partitioning = true, union_by_name = true)`,
      );
    }
    await conn.run(`SET allowed_directories = [${quote(root + "/")}]`);
    await conn.run("SET enable_external_access = false");
    await conn.run("SET lock_configuration = true");
    const prepared = await conn.prepare(sql);
    const { StatementType } = await import("../core/_deps/duckdb.ts");
    if (prepared.statementType !== StatementType.SELECT) {
      throw new RangeError("archive query: only a SELECT statement is allowed");
    }
    const reader = await prepared.runAndReadAll();
    const rows = reader.getRowObjectsJson() as Array<Record<string, unknown>>;
    if (format === "json") return rows.map((r) => JSON.stringify(r)).join("\n");
    const cols = reader.columnNames();
    return [cols.join("\t"), ...rows.map((r) => cols.map((c) => String(r[c] ?? "")).join("\t"))]
      .join("\n");
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
