/**
 * The ceilings of bench/central.ts (scenario 7): `JSON.parse` over the
 * workload's lines and raw `node:sqlite` prepared inserts into the alerts
 * table, in the bench process, and the payload split into lines for them.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { alertsTableSql } from "./contenders.ts";
import { ceilingInserts } from "./_ceiling_inserts.ts";

/**
 * Rows per transaction in the SQLite ceiling: the SQLite sink's default batch.
 *
 * @example
 * ```ts
 * import { CEILING_BATCH } from "./_central_ceiling.ts";
 * console.assert(CEILING_BATCH === 2000);
 * ```
 */
export const CEILING_BATCH = 2000;
const _BATCH = CEILING_BATCH;

/**
 * One round of the ceilings, each in lines (or rows) a second.
 *
 * @example
 * ```ts
 * import type { Ceiling } from "./_central_ceiling.ts";
 * const c: Ceiling = { parse: 2e6, insert: 5e5, both: 4e5 };
 * console.assert(c.both <= c.insert);
 * ```
 */
export interface Ceiling {
  parse: number;
  insert: number;
  both: number;
}

/**
 * Parses the lines in batches of 2000 and inserts each batch in one
 * transaction with a prepared statement; parse and insert time are
 * clocked apart. Same table, indexes and PRAGMAs as sluice's SQLite sink,
 * except that SQLite checkpoints at its default WAL size (16 MiB here),
 * which loads a little faster than the sink's 8 MiB without its
 * background WAL flush: the ceiling stays the best raw loop.
 *
 * @param lines The JSON lines.
 * @param path The database file to create.
 * @returns The three rates.
 *
 * @example
 * ```ts
 * import { syntheticAlert } from "../sources/generator.ts";
 * import { ceiling } from "./_central_ceiling.ts";
 * const dir = await Deno.makeTempDir();
 * const c = ceiling([syntheticAlert(0), syntheticAlert(1)], `${dir}/c.db`);
 * console.assert(c.both > 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function ceiling(lines: readonly string[], path: string): Ceiling {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA page_size = 16384");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA cache_size = -16384");
    db.exec(alertsTableSql());
    const insert = ceilingInserts(
      db,
      `"alerts"`,
      [
        "timestamp",
        "host",
        "severity",
        "rule",
        "file",
        "hash",
        "message",
        "source",
        "raw",
        "id",
      ].map((c) => `"${c}"`),
    );
    let parseMs = 0;
    let insertMs = 0;
    type Alert = Record<string, string>;
    const parsed: Alert[] = new Array(_BATCH);
    for (let i = 0; i < lines.length; i += _BATCH) {
      const n = Math.min(_BATCH, lines.length - i);
      const t0 = performance.now();
      for (let j = 0; j < n; j++) parsed[j] = JSON.parse(lines[i + j] as string) as Alert;
      const t1 = performance.now();
      db.exec("BEGIN");
      insert(0, n, (j, args, at) => {
        const a = parsed[j] as Alert;
        args[at] = a.timestamp ?? null;
        args[at + 1] = a.host ?? null;
        args[at + 2] = a.severity ?? null;
        args[at + 3] = a.rule ?? null;
        args[at + 4] = a.file ?? null;
        args[at + 5] = a.hash ?? null;
        args[at + 6] = a.msg ?? null;
        args[at + 7] = null;
        args[at + 8] = lines[i + j] as string;
        args[at + 9] = null;
      });
      db.exec("COMMIT");
      parseMs += t1 - t0;
      insertMs += performance.now() - t1;
    }
    const perSecond = (ms: number) => lines.length / (ms / 1000);
    return {
      parse: perSecond(parseMs),
      insert: perSecond(insertMs),
      both: perSecond(parseMs + insertMs),
    };
  } finally {
    db.close();
  }
}

/**
 * The payload's lines, decoded a slice at a time (a string has at most ~512M characters).
 *
 * @param payload Newline-terminated lines.
 * @returns The lines, without their newlines.
 *
 * @example
 * ```ts
 * import { payloadLines } from "./_central_ceiling.ts";
 * const lines = payloadLines(new TextEncoder().encode("a\nb\n"));
 * console.assert(lines.length === 2 && lines[1] === "b");
 * ```
 */
export function payloadLines(payload: Uint8Array): string[] {
  const out: string[] = [];
  const decoder = new TextDecoder();
  for (let start = 0; start < payload.length;) {
    let end = Math.min(payload.length, start + (64 << 20));
    if (end < payload.length) end = payload.lastIndexOf(10, end - 1) + 1;
    const part = decoder.decode(payload.subarray(start, end)).split("\n");
    part.pop();
    for (const line of part) out.push(line);
    start = end;
  }
  return out;
}
