/**
 * The JSONL sink's options (sinks/jsonl.ts) and their checking: each option
 * read once, with its default and range, into what the sink runs on.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import { memoize } from "../core/memo.ts";
import { pathTemplate, safeJoin } from "../core/safe_path.ts";
import { compileTemplate, type Template, type TemplateFn } from "../core/template.ts";
import { errorMessage, numberOption } from "../core/options.ts";
import { jsonLine } from "./_jsonl_line.ts";
import { JsonlMarks } from "./_jsonl_dedup.ts";
import { overflowPath } from "./_path_cap.ts";

/** Options for `jsonlSink` (sinks/jsonl.ts). */
export interface JsonlSinkOptions {
  /** The base directory; every file stays under it. Created when missing. */
  dir: string;
  /**
   * The file's path under `dir`. Literal text is taken as written; every
   * value (`${HOST}`) is made a safe file name first: no `/`, no `..`, no
   * NUL, no leading dot, at most 200 bytes, `_` when empty. A function
   * returns a relative path whose components are made safe the same way.
   * @default {"events.jsonl"}
   */
  path?: Template;
  /**
   * One line per event, newline included. {@linkcode jsonLine} writes the
   * whole event as JSON. @default {"${MSG}\n"}
   */
  line?: Template;
  /** Most files kept open; the least recently written is closed first. @default {64} */
  maxOpenFiles?: number;
  /**
   * When written data is fsynced: `"batch"` before each batch is
   * acknowledged; `"interval"` every `fsyncIntervalMs` (acknowledged after
   * the write, so a power loss may lose the last interval); `"never"`
   * leaves it to the OS. @default {"batch"}
   */
  fsync?: "batch" | "interval" | "never";
  /** How often `fsync: "interval"` syncs. @default {1000} */
  fsyncIntervalMs?: number;
  /**
   * Rotate a file before it would grow past this many bytes: `f.jsonl`
   * becomes `f.jsonl.1`, `.1` becomes `.2` …; no rotation when left out.
   */
  maxFileBytes?: number;
  /** Rotated files kept per file (`.1` … `.N`); older ones are deleted. @default {5} */
  maxRotatedFiles?: number;
  /**
   * At the first write of a new UTC day, rename each file written on an earlier
   * day to `<name>-YYYY-MM-DD.jsonl` (that day; `.1`, `.2` … if taken) and start a
   * new one, so `all_events.jsonl` always holds today's lines. Quiet files (a host
   * gone silent) are rotated at the day's first write of any file. Nothing is
   * copied or truncated: no line is lost or written twice. The JSONL lifecycle
   * (`archive/jsonl_lifecycle.ts`) gzips and deletes the dated files.
   * @default {false}
   */
  rotateDaily?: boolean;
  /** The clock deciding the day of `rotateDaily` and `maxPathsPerDay`. @default {Date.now} */
  now?: () => number;
  /** Permissions of new files. @default {0o640} */
  mode?: number;
  /** Most events per batch. @default {1000} */
  maxBatch?: number;
  /** Events queued before sources are held back. @default {DEFAULT_QUEUE_SIZE} (4000) */
  queueSize?: number;
  /** A name for stats. */
  name?: string;
  /**
   * Append each event id once, so replays (a VM restarted from its last checkpoint, a
   * batch resent after a crash) are not written twice: per origin of ids (the id
   * without its last number of 12 or more hex digits: file-tail offsets, journald
   * sequence numbers, heartbeat times), the highest number written is kept, saved in
   * the sink's state and, after a crash, recovered from the files' last lines. Ids of
   * one origin must arrive in increasing order (every replayable source emits them so).
   * Events without such an id are always written. Needs `line: jsonLine` (the
   * lines carry the id, which recovery reads back). Counter `duplicates`.
   * @default {true with `line: jsonLine`, else false}
   */
  dedup?: boolean;
  /** Most origins remembered for `dedup`; the least recently written is forgotten first. @default {100000} */
  maxOrigins?: number;
  /**
   * How much of a file `dedup` reads back when the saved state does not know the file
   * (state lost, or the file was made after the last save). @default {16777216} (16 MiB)
   */
  recoverBytes?: number;
  /**
   * Most distinct files a templated `path` makes per UTC day (`by_vm/${HOST}.jsonl`
   * with a host name any sender may choose); events that would make another go to
   * `overflowPath`, counted as `paths_capped`, with one warning a day. No limit for a
   * path without `${…}`. `Infinity` turns it off. @default {1000}
   */
  maxPathsPerDay?: number;
  /**
   * Where events beyond `maxPathsPerDay` go, under `dir`.
   * @default {"_other.jsonl" in the path's first templated directory, e.g. "by_vm/_other.jsonl"}
   */
  overflowPath?: string;
}

/**
 * The JSONL sink's options, checked, with their defaults.
 *
 * @example
 * ```ts
 * import { resolveJsonlOptions } from "./_jsonl_options.ts";
 * const o = resolveJsonlOptions({ dir: "/tmp/logs" }, "jsonlSink");
 * ```
 */
export interface ResolvedJsonlOptions {
  /** The base directory. */
  dir: string;
  /** The path option as given (`events.jsonl` when left out). */
  pathOption: Template;
  /** Whether the path has a `${…}` (or is a function): only such a path makes files without end. */
  templated: boolean;
  /** The line template; `undefined` for {@linkcode jsonLine} (encoded once for every sink). */
  renderLine: TemplateFn | undefined;
  /** The file (under `dir`) of an event; throws when its path leaves `dir`. */
  resolvePath: (e: LogEvent) => string;
  maxOpen: number;
  fsync: "batch" | "interval" | "never";
  intervalMs: number;
  maxFileBytes: number;
  maxRotated: number;
  mode: number;
  /** The replay dedup's marks, when `dedup` is on. */
  marks: JsonlMarks | undefined;
  /** Most new paths a day (`Infinity`: no cap). */
  maxPaths: number;
  /** Where events past `maxPaths` go (an absolute path under `dir`). */
  overflow: string;
  /** The clock. */
  clock: () => number;
  /** `rotateDaily`. */
  daily: boolean;
}

/**
 * Checks the JSONL sink's options and fills in their defaults.
 *
 * @param options As given to `jsonlSink`.
 * @param where The name errors start with.
 * @returns The options the sink runs on.
 * @throws {TypeError} When `dir` is missing, the path's literal text leaves `dir`, or `fsync`/`dedup` are wrong.
 * @throws {RangeError} When a number option is out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveJsonlOptions } from "./_jsonl_options.ts";
 * assert.equal(resolveJsonlOptions({ dir: "/tmp/logs" }, "jsonlSink").maxOpen, 64);
 * assert.throws(() => resolveJsonlOptions({ dir: "/tmp/logs", path: "../x" }, "jsonlSink"), TypeError);
 * ```
 */
export function resolveJsonlOptions(
  options: JsonlSinkOptions,
  where: string,
): ResolvedJsonlOptions {
  if (typeof options?.dir !== "string" || options.dir === "") {
    throw new TypeError(`${where}: "dir" must be a directory path`);
  }
  const dir = options.dir;
  const pathOption = options.path ?? "events.jsonl";
  const renderPath = pathTemplate(pathOption);
  if (typeof pathOption === "string") {
    try {
      safeJoin(dir, renderPath({ message: "", fields: {}, receivedAt: 0 }));
    } catch (err) {
      throw new TypeError(
        `${where}: "path" "${pathOption}" must stay under "dir": ${errorMessage(err)}`,
      );
    }
  }
  // jsonLine is the usual line of several sinks at once (all, by_vm, daily …): an event
  // they share is rendered and encoded once (_sharedJsonBytes), so it has no template here.
  // Events are never changed once delivered to sinks.
  const renderLine: TemplateFn | undefined = options.line === jsonLine
    ? undefined
    : compileTemplate(options.line ?? "${MSG}\n");
  // Rendered paths repeat (one per VM, per day): each is checked by safeJoin once.
  const constantPath = typeof pathOption === "string" && !pathOption.includes("$")
    ? safeJoin(dir, renderPath({ message: "", fields: {}, receivedAt: 0 }))
    : undefined;
  const joined = memoize((relative: string) => safeJoin(dir, relative), 4096);
  const resolvePath = (e: LogEvent): string => constantPath ?? joined(renderPath(e));
  const maxOpen = numberOption(where, "maxOpenFiles", options.maxOpenFiles, 64, 1);
  const fsync = options.fsync ?? "batch";
  if (!["batch", "interval", "never"].includes(fsync)) {
    throw new TypeError(`${where}: "fsync" must be "batch", "interval" or "never", got "${fsync}"`);
  }
  const intervalMs = numberOption(where, "fsyncIntervalMs", options.fsyncIntervalMs, 1000, 1);
  const maxFileBytes = options.maxFileBytes === undefined
    ? Infinity
    : numberOption(where, "maxFileBytes", options.maxFileBytes, 0, 1);
  const maxRotated = numberOption(where, "maxRotatedFiles", options.maxRotatedFiles, 5, 1);
  const mode = options.mode ?? 0o640;
  const dedup = options.dedup ?? options.line === jsonLine;
  if (dedup && options.line !== jsonLine) {
    throw new TypeError(`${where}: "dedup" needs "line: jsonLine", whose lines carry the event id`);
  }
  const marks = dedup
    ? new JsonlMarks({
      maxOrigins: numberOption(where, "maxOrigins", options.maxOrigins, 100_000, 1),
      recoverBytes: numberOption(where, "recoverBytes", options.recoverBytes, 16 << 20, 0),
    })
    : undefined;
  // Only a templated path can make files without end.
  const templated = typeof pathOption === "function" || pathOption.includes("$");
  const maxPaths = options.maxPathsPerDay === Infinity || !templated
    ? Infinity
    : numberOption(where, "maxPathsPerDay", options.maxPathsPerDay, 1000, 1);
  return {
    dir,
    pathOption,
    templated,
    renderLine,
    resolvePath,
    maxOpen,
    fsync: fsync as ResolvedJsonlOptions["fsync"],
    intervalMs,
    maxFileBytes,
    maxRotated,
    mode,
    marks,
    maxPaths,
    overflow: safeJoin(dir, options.overflowPath ?? overflowPath(pathOption)),
    clock: options.now ?? Date.now,
    daily: options.rotateDaily ?? false,
  };
}
