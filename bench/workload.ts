/**
 * The benchmark workload: N JSON alerts in the reference design's shape
 * (`timestamp`, `host`, `severity`, `rule`, `file`, `hash`, `msg`), one per
 * line, 250–300 bytes each, deterministic from a seed, and cached on disk
 * (under `data/bench-cache/`, which git ignores) so that repeated runs send
 * the very same bytes without generating them again.
 *
 * Lines carry no id: the central derives its own, as it does for alerts
 * from the VMs.
 *
 * @module
 */

import { syntheticAlert } from "../sources/generator.ts";

/**
 * Shortest and longest line of the workload, in bytes (without the newline).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ALERT_LINE_BYTES, alertLine } from "./workload.ts";
 * assert.ok(alertLine(0).length <= ALERT_LINE_BYTES.max);
 * ```
 */
export const ALERT_LINE_BYTES: { readonly min: number; readonly max: number } = {
  min: 250,
  max: 300,
};

/** Bump when the line format changes, so stale cache files are not reused. */
const _VERSION = 1;

const _CACHE = new URL("../data/bench-cache/", import.meta.url).pathname;

/**
 * Alert number `n` of the workload: a JSON object on one line of 250–300
 * bytes (ASCII, so characters are bytes), the same for the same `n` and
 * `seed`.
 *
 * @param n The alert's number; its timestamp is `n` seconds after 2026-11-23T00:00:00Z.
 * @param seed Picks hosts, severities, rules, hashes and pids.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { alertLine } from "./workload.ts";
 * const line = alertLine(7, 1);
 * assert.ok(line.length >= 250 && line.length <= 300);
 * assert.deepStrictEqual(
 *   Object.keys(JSON.parse(line)),
 *   ["timestamp", "host", "severity", "rule", "file", "hash", "msg"],
 * );
 * assert.strictEqual(alertLine(7, 1), line);
 * ```
 */
export function alertLine(n: number, seed = 1): string {
  const alert = JSON.parse(syntheticAlert(n, seed)) as Record<string, unknown> & { msg: string };
  delete alert.seq;
  let line = JSON.stringify(alert);
  if (line.length > ALERT_LINE_BYTES.max) {
    // Long rule names: a shorter message keeps every line in range.
    alert.msg = alert.msg.replace(" matched a file written by pid ", " matched, pid ");
    line = JSON.stringify(alert);
  }
  if (line.length > ALERT_LINE_BYTES.max) {
    alert.msg = alert.msg.slice(0, alert.msg.length - (line.length - ALERT_LINE_BYTES.max));
    line = JSON.stringify(alert);
  } else if (line.length < ALERT_LINE_BYTES.min) {
    alert.msg += " ".repeat(ALERT_LINE_BYTES.min - line.length);
    line = JSON.stringify(alert);
  }
  return line;
}

/** A workload file on disk. */
export interface Workload {
  /** The file: one alert per line, each ending in `\n`. */
  path: string;
  /** How many lines. */
  count: number;
  /** The seed it was made from. */
  seed: number;
  /** Its size in bytes, newlines included. */
  bytes: number;
}

/** Options for {@linkcode workload}. */
export interface WorkloadOptions {
  /** The seed. @default {1} */
  seed?: number;
  /** The directory of cached workload files. @default {"data/bench-cache" in the repository} */
  cacheDir?: string;
}

/**
 * The workload file of `count` alerts: taken from the cache when it is
 * there (and of the right size), else generated, written beside it under a
 * temporary name and renamed into place, so a run that is cut short never
 * leaves half a file behind.
 *
 * @param count How many alerts (a positive integer).
 * @param options Seed and cache directory.
 * @returns The file's path, count and size.
 * @throws {RangeError} When `count` is not a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { workload } from "./workload.ts";
 * const dir = await Deno.makeTempDir();
 * const w = await workload(1000, { cacheDir: dir });
 * assert.strictEqual((await Deno.readTextFile(w.path)).split("\n").length, 1001);
 * assert.strictEqual((await workload(1000, { cacheDir: dir })).path, w.path);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function workload(count: number, options: WorkloadOptions = {}): Promise<Workload> {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(`workload: "count" must be a positive integer, got ${count}`);
  }
  const seed = options.seed ?? 1;
  const dir = (options.cacheDir ?? _CACHE).replace(/\/+$/, "");
  const path = `${dir}/alerts-v${_VERSION}-seed${seed}-${count}.jsonl`;
  try {
    const info = await Deno.stat(path);
    // The size of a complete file is not known without generating it; a file
    // is only ever renamed into place once complete, so one that exists is whole.
    if (info.isFile && info.size > 0) return { path, count, seed, bytes: info.size };
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  let bytes = 0;
  try {
    const encoder = new TextEncoder();
    const chunk: string[] = [];
    for (let n = 0; n < count; n++) {
      chunk.push(alertLine(n, seed));
      if (chunk.length === 10_000 || n === count - 1) {
        const data = encoder.encode(chunk.join("\n") + "\n");
        let written = 0;
        while (written < data.length) written += await file.write(data.subarray(written));
        bytes += data.length;
        chunk.length = 0;
      }
    }
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
  return { path, count, seed, bytes };
}

/**
 * Writes `n` synthetic alerts (`syntheticAlert(0 … n-1)`, one JSON line
 * each) to a file, 20,000 lines a write, replacing what was there: the file
 * the VM benches tail.
 *
 * @param path The file.
 * @param n How many lines.
 * @returns The bytes written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeSyntheticAlerts } from "./workload.ts";
 * const path = await Deno.makeTempFile();
 * const bytes = await writeSyntheticAlerts(path, 3);
 * assert.equal((await Deno.stat(path)).size, bytes);
 * await Deno.remove(path);
 * ```
 */
export async function writeSyntheticAlerts(path: string, n: number): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let bytes = 0;
  try {
    for (let i = 0; i < n;) {
      const end = Math.min(n, i + 20_000);
      let text = "";
      for (; i < end; i++) text += syntheticAlert(i) + "\n";
      const chunk = encoder.encode(text);
      bytes += chunk.length;
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  } finally {
    file.close();
  }
  return bytes;
}
