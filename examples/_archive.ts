/**
 * The central example's retention flags: `--retain-db 30d` (rows older move
 * from siem.db to Parquet under `<data>/archives/`), `--retain-archive 365d`,
 * `--max-disk 20GB` (the oldest archive days go first; the JSONL files count
 * against it), `--retain-jsonl 90d` (past days' JSONL under `logs/`, dated by
 * the sinks' daily rotation, are gzipped after a day and deleted after this;
 * `forever` only gzips), `--archive-every 1h`. All off by default: nothing
 * is moved, compressed or deleted unless asked.
 *
 * @module
 */

import { option } from "./_options.ts";
import { importLate } from "../core/lazy.ts";
import { parseDuration, parseSize } from "../core/duration.ts";
import type { ArchiveService, ArchiveServiceOptions } from "../archive/service.ts";

function _ms(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  name: string,
  help: string,
): number | undefined {
  return _parseMs(option(args, env, name, "", help), name);
}

function _parseMs(text: string, name: string): number | undefined {
  if (text === "" || text === "off") return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new RangeError(`--${name}: expected a duration like 30d, got "${text}"`);
  }
  return ms;
}

/**
 * The archive service the flags ask for, or `undefined` when none is set.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param data The data directory.
 * @returns The service.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { archiveFor } from "./_archive.ts";
 * assert.equal(archiveFor([], {}, "./data"), undefined);
 * assert.equal(archiveFor(["--retain-db", "30d"], {}, "./data")?.kind, "archive");
 * ```
 */
export function archiveFor(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  data: string,
): ArchiveService | undefined {
  const retainDb = _ms(
    args,
    env,
    "retain-db",
    "move rows older than this from siem.db into Parquet (off)",
  );
  const retainArchive = _ms(
    args,
    env,
    "retain-archive",
    "delete archive days older than this (off)",
  );
  const jsonlText = option(
    args,
    env,
    "retain-jsonl",
    "",
    "gzip past days' JSONL under logs/; delete them after this, or keep them forever (off)",
  );
  const jsonl = jsonlText !== "" && jsonlText !== "off";
  const retainJsonl = jsonlText === "forever" ? undefined : _parseMs(jsonlText, "retain-jsonl");
  const maxDiskText = option(
    args,
    env,
    "max-disk",
    "",
    "the archive's largest size, e.g. 20GB: oldest days go first (off)",
  );
  const maxDisk = maxDiskText ? parseSize(maxDiskText) : undefined;
  if (maxDiskText && maxDisk === undefined) {
    throw new RangeError(`--max-disk: expected a size like 20GB, got "${maxDiskText}"`);
  }
  const every = _ms(args, env, "archive-every", "time between archive passes (1h)") ?? 3_600_000;
  if (
    retainDb === undefined && retainArchive === undefined && maxDisk === undefined &&
    !jsonl
  ) {
    return undefined;
  }
  return _lazyArchive({
    database: `${data}/siem.db`,
    dir: `${data}/archives`,
    ...(retainDb !== undefined ? { retainDbMs: retainDb } : {}),
    ...(retainArchive !== undefined ? { retainArchiveMs: retainArchive } : {}),
    ...(maxDisk !== undefined ? { maxDiskBytes: maxDisk } : {}),
    ...(jsonl ? { jsonlDir: `${data}/logs` } : {}),
    ...(retainJsonl !== undefined ? { retainJsonlMs: retainJsonl } : {}),
    everyMs: every,
    firstMs: Math.min(60_000, every),
  });
}

/**
 * The archive service, its modules (the mover, Parquet writer and reader,
 * JSONL lifecycle: ~0.8 MB of module source with the Parquet packages)
 * imported when it starts: the examples build it whenever a retention flag
 * is given, and the sources of every module loaded stay in V8's heap for
 * the life of the process (issue 26's idle memory).
 */
function _lazyArchive(options: ArchiveServiceOptions): ArchiveService {
  let inner: ArchiveService | undefined;
  return {
    kind: "archive",
    async start(ctx) {
      const { archiveService } = await importLate<typeof import("../archive/service.ts")>(
        new URL("../archive/service.ts", import.meta.url),
      );
      inner = archiveService(options);
      await inner.start(ctx);
    },
    async stop() {
      await inner?.stop();
    },
    async runOnce() {
      if (!inner) throw new Error("archive: runOnce() before start()");
      await inner.runOnce();
    },
  };
}
