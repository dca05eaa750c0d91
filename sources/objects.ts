/**
 * The object channel's source side: {@linkcode objectsSource} scans a
 * directory of binary objects (quarantined files, memory dumps, samples)
 * and emits one event per file; an object sink such as
 * `sinks/sftp_object.ts` stores them. {@linkcode syncedObjectsSource} turns
 * what a sink stored into log events, so the central can link an alert's
 * `hash` to the stored sample.
 *
 * This module is light on purpose (no ssh2): the log agent imports it
 * without paying for the SFTP code.
 *
 * How a move stays safe: each event carries, out of band (a private symbol,
 * never serialised), the local file it stands for. A sink that stored the
 * file and verified the stored content calls {@linkcode confirmObject}
 * before its `write()` resolves. When the batch is acknowledged, a
 * `mode: "move"` source deletes a file only when a sink confirmed it, none
 * refused it ({@linkcode rejectObject}), and the file still has the size and
 * mtime the sink read. An event forwarded over the network cannot carry
 * that capability, so no remote peer can make a sink read or a source
 * delete a local file.
 *
 * @module
 */

import { sleep } from "../core/backoff.ts";
import { createEvent, type LogEvent } from "../core/event.ts";
import type { Sink, Source, SourceContext } from "../core/types.ts";

/** The `object` field of an event from {@linkcode objectsSource}. */
export interface ObjectInfo {
  /** The path relative to the scanned directory, `/`-separated (`2026/abc.bin`). */
  path: string;
  /** Size in bytes at scan time. */
  size: number;
  /** Modification time at scan time, in ms since the epoch. */
  mtime: number;
  /** The kind of object (`quarantine`, `dumps`, `samples` or any name). */
  kind: string;
  /** The file's absolute path, symbolic links resolved. */
  abs: string;
}

/** What a sink reports when it stored and verified an object. */
export interface ObjectReceipt {
  /** Where it went (the remote path). */
  remote: string;
  /** Bytes read from the local file and stored. */
  size: number;
  /** The local file's mtime (ms) when the sink opened it. */
  mtime: number;
  /** SHA-256 (hex) of the local content. */
  sha256: string;
}

/** An object a sink stored, as {@linkcode syncedObjectsSource} turns it into a log event. */
export interface SyncedObject {
  /** The host the object came from. */
  host: string;
  /** The kind of object. */
  kind: string;
  /** The path relative to the scanned directory. */
  path: string;
  /** The remote path, relative to the sink's remote root. */
  remote: string;
  /** Plaintext size in bytes. */
  size: number;
  /** SHA-256 (hex) of the plaintext: the `hash` a YARA alert carries. */
  sha256: string;
  /** The local mtime in ms. */
  mtime: number;
  /** When it was stored (ISO 8601). */
  uploaded_at: string;
  /** Whether it is stored encrypted (then `remote` ends in `.enc`). */
  encrypted: boolean;
}

/** What an object sink reports while it works (progress bars, summaries, dry runs). */
export type ObjectActivity =
  | { type: "start"; path: string; remote: string; size: number; resumeAt: number }
  | { type: "progress"; remote: string; sent: number; size: number }
  | { type: "uploaded"; object: SyncedObject; bytes: number }
  | { type: "unchanged"; path: string; remote: string; size: number }
  | { type: "refused"; path: string; reason: string }
  | { type: "failed"; path: string; error: string }
  | { type: "error"; error: string }
  | { type: "would-upload"; path: string; remote: string; size: number; move: boolean }
  | { type: "would-delete-remote"; remote: string }
  | { type: "deleted-remote"; remote: string };

/** An object sink as the runner and {@linkcode syncedObjectsSource} see it. */
export interface ObjectSink extends Sink {
  /** `copy`, `move` or `sync`. */
  readonly mode: "copy" | "move" | "sync";
  /** When set, the sink reports what it would do (`would-upload` …) and changes nothing. */
  dryRun: boolean;
  /**
   * Calls `listener` for every activity.
   *
   * @returns A function that unsubscribes.
   */
  subscribe(listener: (activity: ObjectActivity) => void): () => void;
}

/**
 * Tells whether a sink is an object sink (has `subscribe()` and `dryRun`).
 *
 * @param value Anything.
 * @returns `true` for an {@linkcode ObjectSink}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isObjectSink } from "./objects.ts";
 * assert.ok(!isObjectSink({ kind: "x" }));
 * ```
 */
export function isObjectSink(value: unknown): value is ObjectSink {
  if (value === null || typeof value !== "object") return false;
  const o = value as Record<string, unknown>;
  return typeof o.subscribe === "function" && typeof o.write === "function" && "dryRun" in o;
}

/** The local file behind an event, kept out of band. */
interface _Local {
  info: ObjectInfo;
  /** The path as scanned (the link itself for a symbolic link), which a move deletes. */
  lexical: string;
  receipts: ObjectReceipt[];
  rejected: string | undefined;
}

/** The scan listing behind a listing event, kept out of band. */
interface _Listing {
  kind: string;
  paths: string[];
}

const _LOCAL: unique symbol = Symbol("sluice.object.local");
const _LISTING: unique symbol = Symbol("sluice.object.listing");
const _OBJECTS_SOURCE: unique symbol = Symbol("sluice.objectsSource");

type _Tagged = LogEvent & { [_LOCAL]?: _Local; [_LISTING]?: _Listing };

/**
 * The local file an event from {@linkcode objectsSource} stands for, or
 * `undefined` for any other event (one built by hand, parsed from the
 * network, or from another source). Object sinks read only such files.
 *
 * @param event An event.
 * @returns The object, as scanned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localObject } from "./objects.ts";
 * import { createEvent } from "../core/event.ts";
 * const forged = createEvent("x", { fields: { object: { abs: "/etc/shadow" } } });
 * assert.ok(localObject(forged) === undefined);
 * ```
 */
export function localObject(event: LogEvent): Readonly<ObjectInfo> | undefined {
  return (event as _Tagged)[_LOCAL]?.info;
}

/**
 * The scan listing a listing event carries (every local path that exists
 * and passes the include/exclude globs, whatever its age), or `undefined`.
 * A sink in sync mode with `deleteRemote` deletes remote objects not listed.
 *
 * @param event An event.
 * @returns The kind and the listed paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectListing } from "./objects.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(objectListing(createEvent("x")) === undefined);
 * ```
 */
export function objectListing(
  event: LogEvent,
): Readonly<{ kind: string; paths: readonly string[] }> | undefined {
  return (event as _Tagged)[_LISTING];
}

/**
 * Records that a sink stored an object and verified the stored content.
 * Call it before `write()` resolves. A `mode: "move"` source deletes the
 * file once the batch is acknowledged, provided no sink rejected it and
 * the file is unchanged since.
 *
 * @param event The event from {@linkcode objectsSource}.
 * @param receipt What was stored.
 * @returns `false` when the event stands for no local object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { confirmObject } from "./objects.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(!confirmObject(createEvent("x"), { remote: "r", size: 0, mtime: 0, sha256: "" }));
 * ```
 */
export function confirmObject(event: LogEvent, receipt: ObjectReceipt): boolean {
  const local = (event as _Tagged)[_LOCAL];
  if (!local) return false;
  local.receipts.push(receipt);
  return true;
}

/**
 * Records that a sink could not or would not store an object (a refused
 * remote path, a local read error). A move then keeps the file, even if
 * another sink confirmed it.
 *
 * @param event The event from {@linkcode objectsSource}.
 * @param reason Why, for the logs.
 * @returns `false` when the event stands for no local object.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rejectObject } from "./objects.ts";
 * import { createEvent } from "../core/event.ts";
 * assert.ok(!rejectObject(createEvent("x"), "refused"));
 * ```
 */
export function rejectObject(event: LogEvent, reason: string): boolean {
  const local = (event as _Tagged)[_LOCAL];
  if (!local) return false;
  local.rejected ??= reason;
  return true;
}

/** Options for {@linkcode objectsSource}. */
export interface ObjectsSourceOptions {
  /** The directory to scan, recursively. */
  dir: string;
  /** The kind of object, used in remote paths (`quarantine`, `dumps`, `samples`). @default {the directory's base name} */
  kind?: string;
  /** The host name set on every event (`HOST`). @default {Deno.hostname(), read once} */
  host?: string;
  /** Time between scans: ms, or `"15m"`, `"30s"`, `"1h"`. @default {"15m"} */
  interval?: number | string;
  /** Scan once, then finish (`done` resolves once every object is acknowledged). @default {false} */
  once?: boolean;
  /** Skip files whose mtime is older than this (`"7d"`), like rclone's `--max-age`. @default {no limit} */
  maxAge?: number | string;
  /** Skip files whose mtime is newer than this, like rclone's `--min-age`. @default {0} */
  minAge?: number | string;
  /** Skip files modified within this time: they may still be being written. @default {"10s"} */
  settle?: number | string;
  /**
   * Globs a file must match (any of them). `*` and `?` stay within one
   * component, `**` spans directories, `{a,b}` and `[...]` work as in a
   * shell. A pattern without `/` matches the base name, one with `/` the
   * whole relative path. @default {every file}
   */
  include?: string[];
  /** Globs of files to leave out, as for `include`. @default {none} */
  exclude?: string[];
  /**
   * `"copy"` leaves files in place; `"move"` deletes a file once a sink
   * confirmed it stored and verified it and the batch was acknowledged.
   * @default {"copy"}
   */
  mode?: "copy" | "move";
  /** Events per emitted batch. @default {100} */
  batchSize?: number;
  /**
   * After each scan, emit one listing event with every local path (for a
   * sink in sync mode with `deleteRemote`). @default {false}
   */
  listing?: boolean;
  /** A name for stats and state. */
  name?: string;
}

/** A {@linkcode Source} made by {@linkcode objectsSource}. */
export interface ObjectsSource extends Source {
  /** The options it was made with (the runner's `sync --once` remakes it with `once: true`). */
  readonly options: Readonly<ObjectsSourceOptions>;
  /** `"copy"` or `"move"`. */
  readonly mode: "copy" | "move";
}

/**
 * Tells whether a source was made by {@linkcode objectsSource}.
 *
 * @param value Anything.
 * @returns `true` for an objects source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isObjectsSource, objectsSource } from "./objects.ts";
 * assert.ok(isObjectsSource(objectsSource({ dir: "/var/quarantine", host: "vm1" })));
 * ```
 */
export function isObjectsSource(value: unknown): value is ObjectsSource {
  return value !== null && typeof value === "object" && _OBJECTS_SOURCE in value;
}

const _DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const _UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

function _duration(value: number | string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === "number") {
    if (value >= 0 && Number.isFinite(value)) return value;
    throw new RangeError(`objectsSource: "${name}" must be zero or more ms, got ${value}`);
  }
  if (typeof value !== "string") {
    throw new TypeError(`objectsSource: "${name}" must be ms or a string like "15m"`);
  }
  const m = _DURATION.exec(value.trim());
  if (!m) {
    throw new RangeError(
      `objectsSource: "${name}" must be like "500ms", "10s", "15m", "1h", "7d", got "${value}"`,
    );
  }
  return Number(m[1]) * (_UNIT_MS[m[2] as string] as number);
}

/**
 * Compiles a glob into a regular expression (see
 * {@linkcode ObjectsSourceOptions.include}).
 *
 * @param glob The pattern.
 * @returns A test on relative paths.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globMatcher } from "./objects.ts";
 * assert.ok(globMatcher("*.bin")("a/b/x.bin"));
 * assert.ok(globMatcher("tmp/**")("tmp/a/b"));
 * assert.ok(!globMatcher("tmp/*")("tmp/a/b"));
 * ```
 */
export function globMatcher(glob: string): (path: string) => boolean {
  if (typeof glob !== "string" || glob === "") {
    throw new TypeError(`objectsSource: a glob must be a non-empty string, got ${String(glob)}`);
  }
  const baseOnly = !glob.includes("/");
  let re = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        i++;
        if (glob[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else if (c === "{") {
      braces++;
      re += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      re += ")";
    } else if (c === "," && braces > 0) re += "|";
    else re += c.replace(/[.+^$()|\\\]{}]/g, "\\$&");
  }
  if (braces > 0) throw new SyntaxError(`objectsSource: unclosed "{" in glob "${glob}"`);
  const regex = new RegExp(`^${re}$`);
  if (!baseOnly) return (path) => regex.test(path);
  return (path) => regex.test(path.slice(path.lastIndexOf("/") + 1));
}

let _hostname: string | undefined;

function _defaultHost(): string {
  if (_hostname === undefined) {
    try {
      _hostname = Deno.hostname();
    } catch {
      _hostname = "localhost";
    }
  }
  return _hostname;
}

/** Whether a path exists (without following a last symbolic link). */
async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A name with control characters, U+FFFD and bidi controls escaped as `\\uXXXX`. */
function _escapeName(name: string): string {
  return name.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd\\]/g,
    (c) => c === "\\" ? "\\\\" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function _basename(dir: string): string {
  const trimmed = dir.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || "objects";
}

/**
 * Scans a directory of objects every `interval` (or once) and emits one
 * event per file with `fields.object` = {@linkcode ObjectInfo}
 * (`path`, `size`, `mtime`, `kind`, `abs`) and `host` set. Files modified
 * within `settle` are left for the next scan; `maxAge`/`minAge` and
 * include/exclude globs filter as in rclone. Symbolic links are followed
 * only while they stay inside the directory. A file still in flight from
 * an earlier scan is not emitted again.
 *
 * In `mode: "move"` a file is deleted once its batch is acknowledged and an
 * object sink confirmed it stored and verified it (see the module doc).
 * Counters: `scans`, `deleted`, `kept` (move mode, unconfirmed),
 * `changed_after_upload`, `unsettled`, `too_old`, `symlinks_outside` (each
 * also a warning), `bad_names` (names that are not UTF-8, which no Deno
 * API can open: each a warning and an error, every scan).
 *
 * @param options Directory, kind, interval, filters, mode.
 * @returns The source.
 * @throws {TypeError | RangeError} On a bad option.
 *
 * @example Move quarantined files every 15 minutes
 * ```ts
 * import { objectsSource } from "./objects.ts";
 * const quarantine = objectsSource({ dir: "/var/quarantine", kind: "quarantine", mode: "move" });
 * ```
 */
export function objectsSource(options: ObjectsSourceOptions): ObjectsSource {
  if (!options || typeof options.dir !== "string" || options.dir === "") {
    throw new TypeError(`objectsSource: "dir" must be a directory path`);
  }
  const dir = options.dir;
  const kind = options.kind ?? _basename(dir);
  if (typeof kind !== "string" || kind === "") {
    throw new TypeError(`objectsSource: "kind" must be a non-empty string`);
  }
  const mode = options.mode ?? "copy";
  if (mode !== "copy" && mode !== "move") {
    throw new RangeError(`objectsSource: "mode" must be "copy" or "move", got "${String(mode)}"`);
  }
  const interval = _duration(options.interval, "interval", 15 * 60_000);
  if (!options.once && interval < 1) {
    throw new RangeError(`objectsSource: "interval" must be at least 1 ms`);
  }
  const maxAge = _duration(options.maxAge, "maxAge", Infinity);
  const minAge = Math.max(
    _duration(options.minAge, "minAge", 0),
    _duration(options.settle, "settle", 10_000),
  );
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`objectsSource: "batchSize" must be a positive integer, got ${batchSize}`);
  }
  const include = (options.include ?? []).map(globMatcher);
  const exclude = (options.exclude ?? []).map(globMatcher);
  const host = options.host ?? _defaultHost();
  const once = options.once ?? false;

  const inflight = new Set<string>();
  const stopper = new AbortController();
  let stopped = false;
  let loop: Promise<void> | undefined;
  let pendingAcks = 0;
  let ackWaiter: (() => void) | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  // While emit() waits for queue space, stop() must not wait for it: a sink
  // that keeps failing never makes room, and the engine drains only after
  // every source stopped.
  let emitting = false;
  const emit = async (ctx: SourceContext, batch: LogEvent[], onAck: () => void) => {
    emitting = true;
    try {
      await ctx.emit(batch, onAck);
    } finally {
      emitting = false;
    }
  };

  const wanted = (rel: string) =>
    (include.length === 0 || include.some((m) => m(rel))) && !exclude.some((m) => m(rel));

  const settleAck = (ctx: SourceContext, locals: _Local[]) => {
    for (const local of locals) {
      inflight.delete(local.info.path);
      if (mode === "move") _finishMove(ctx, local);
    }
    if (--pendingAcks === 0 && ackWaiter) {
      const w = ackWaiter;
      ackWaiter = undefined;
      w();
    }
  };

  const scan = async (ctx: SourceContext) => {
    let root: string;
    try {
      root = await Deno.realPath(dir);
    } catch (err) {
      ctx.stats.errors++;
      ctx.log.warn(`cannot read directory "${dir}"; will try again next scan`, {
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    ctx.stats.add("scans");
    const now = Date.now();
    const listing: string[] = [];
    let batch: LogEvent[] = [];
    let locals: _Local[] = [];
    const visited = new Set<string>([root]);
    const flush = async () => {
      if (stopped) {
        // stop() may have returned already: nothing more is emitted.
        for (const local of locals) inflight.delete(local.info.path);
        batch = [];
        locals = [];
        return;
      }
      if (batch.length === 0) return;
      const sent = batch;
      const sentLocals = locals;
      batch = [];
      locals = [];
      ctx.stats.received += sent.length;
      pendingAcks++;
      await emit(ctx, sent, () => settleAck(ctx, sentLocals));
    };
    const consider = async (rel: string, lexical: string, abs: string, st: Deno.FileInfo) => {
      if (!wanted(rel)) return;
      listing.push(rel);
      const mtime = st.mtime?.getTime() ?? 0;
      const age = now - mtime;
      if (age < minAge) return ctx.stats.add("unsettled");
      if (age > maxAge) return ctx.stats.add("too_old");
      if (inflight.has(rel)) return;
      const info: ObjectInfo = { path: rel, size: st.size, mtime, kind, abs };
      const local: _Local = { info, lexical, receipts: [], rejected: undefined };
      const event = createEvent(`object ${kind}/${rel} ${st.size} bytes`, {
        host,
        program: "sluice-objects",
        id: `${ctx.name}:${rel}:${mtime}:${st.size}`,
        fields: { object: { ...info } },
      }) as _Tagged;
      event[_LOCAL] = local;
      inflight.add(rel);
      batch.push(event);
      locals.push(local);
      if (batch.length >= batchSize) await flush();
    };
    const walk = async (absDir: string, prefix: string): Promise<void> => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(absDir));
      } catch (err) {
        ctx.stats.errors++;
        ctx.log.warn(`cannot list "${absDir}"`, {
          error: err instanceof Error ? err.message : String(err),
        });
        return;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (stopped) return;
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        const lexical = `${absDir}/${entry.name}`;
        // A name that is not UTF-8 reaches us with U+FFFD in place of its bytes: that
        // path names nothing, so the file can never be opened. Say so, every scan.
        if (entry.name.includes("\uFFFD") && !(await _exists(lexical))) {
          ctx.stats.add("bad_names");
          ctx.stats.errors++;
          ctx.log.warn(
            `cannot read "${
              _escapeName(rel)
            }" in "${dir}": its name is not valid UTF-8 (\\ufffd marks the bytes that do not decode), so it cannot be opened; rename it (ls -b shows its bytes)`,
          );
          continue;
        }
        try {
          if (entry.isSymlink) {
            const real = await Deno.realPath(lexical);
            if (real !== root && !real.startsWith(root + "/")) {
              ctx.stats.add("symlinks_outside");
              ctx.log.warn(`not following "${rel}": a symbolic link out of the directory`, {
                target: real,
              });
              continue;
            }
            const st = await Deno.stat(real);
            if (st.isDirectory) {
              if (visited.has(real)) continue;
              visited.add(real);
              await walk(real, rel);
            } else if (st.isFile) await consider(rel, lexical, real, st);
          } else if (entry.isDirectory) {
            await walk(lexical, rel);
          } else if (entry.isFile) {
            await consider(rel, lexical, lexical, await Deno.lstat(lexical));
          }
        } catch (err) {
          // Files come and go between readDir and stat; a dangling link is not an error.
          if (!(err instanceof Deno.errors.NotFound)) {
            ctx.stats.errors++;
            ctx.log.warn(`cannot read "${rel}"`, {
              error: err instanceof Error ? err.message : String(err),
            });
          }
        }
      }
    };
    await walk(root, "");
    await flush();
    if (options.listing && !stopped) {
      const event = createEvent(`objects listing ${kind} ${listing.length} files`, {
        host,
        program: "sluice-objects",
        fields: { objects_listing: { kind, files: listing.length } },
      }) as _Tagged;
      event[_LISTING] = { kind, paths: listing };
      pendingAcks++;
      await emit(ctx, [event], () => settleAck(ctx, []));
    }
  };

  const run = async (ctx: SourceContext) => {
    try {
      while (!stopped) {
        await scan(ctx);
        if (once || stopped) break;
        await sleep(interval, stopper.signal);
      }
    } catch (err) {
      ctx.stats.errors++;
      ctx.log.error("objects scan failed", { error: String(err) });
    }
  };

  const source: ObjectsSource = {
    kind: "objects",
    ...(options.name ? { name: options.name } : {}),
    ...(once ? { done } : {}),
    options: Object.freeze({ ...options }),
    mode,
    start(ctx) {
      ctx.signal.addEventListener("abort", () => stopper.abort(), { once: true });
      loop = run(ctx);
      // `done` waits for the acknowledgements too, so a move has deleted what it will.
      loop.then(() =>
        pendingAcks === 0 ? undefined : new Promise<void>((resolve) => (ackWaiter = resolve))
      ).then(resolveDone);
      return Promise.resolve();
    },
    async stop() {
      // Stops scanning; batches in flight are acknowledged (or not) as the engine drains.
      stopped = true;
      stopper.abort();
      // After a pending emit() the loop sees `stopped` and emits nothing more.
      if (!emitting) await loop;
    },
  };
  Object.defineProperty(source, _OBJECTS_SOURCE, { value: true });
  return source;
}

function _finishMove(ctx: SourceContext, local: _Local): void {
  const { info } = local;
  if (local.receipts.length === 0 || local.rejected !== undefined) {
    ctx.stats.add("kept");
    if (local.rejected !== undefined) {
      ctx.log.warn(`keeping "${info.path}": ${local.rejected}`);
    }
    return;
  }
  const receipt = local.receipts[local.receipts.length - 1] as ObjectReceipt;
  try {
    const st = Deno.statSync(info.abs);
    if (
      st.size !== receipt.size || (st.mtime?.getTime() ?? 0) !== receipt.mtime ||
      local.receipts.some((r) => r.sha256 !== receipt.sha256 || r.size !== receipt.size)
    ) {
      ctx.stats.add("changed_after_upload");
      ctx.log.info(
        `keeping "${info.path}": it changed after it was stored; the next scan sends it`,
      );
      return;
    }
    Deno.removeSync(local.lexical);
    ctx.stats.add("deleted");
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    ctx.stats.errors++;
    ctx.log.error(`cannot delete "${info.path}" after it was stored`, {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

/** Options for {@linkcode syncedObjectsSource}. */
export interface SyncedObjectsSourceOptions {
  /** A name for stats. */
  name?: string;
  /** Most stored-object events held while the pipeline is slow; more are dropped and counted. @default {100000} */
  maxBuffer?: number;
}

/**
 * Emits one log event per object a sink stored, so a pipeline can send it
 * over the log channel: `host` is the object's host, `program` is
 * `sluice-objects`, and `fields.object` is a {@linkcode SyncedObject}
 * (`host`, `kind`, `path`, `remote`, `size`, `sha256`, `mtime`,
 * `uploaded_at`, `encrypted`). The central can then find the stored sample
 * of an alert by its `hash`. The id is `<remote>:<sha256>`, so a replay
 * stores nothing twice.
 *
 * @param sink The object sink to listen to.
 * @param options Name and buffer size.
 * @returns The source; it runs until the pipeline stops, then emits what is left.
 *
 * @example Send stored samples' hashes to the central
 * ```ts
 * import { type ObjectActivity, syncedObjectsSource } from "./objects.ts";
 * // `upload` stands for an sftpObjectSink: any object with subscribe() will do.
 * const upload = { subscribe: (_listener: (a: ObjectActivity) => void) => () => {} };
 * const stored = syncedObjectsSource(upload);
 * // paths: [{ from: [quarantine], to: [upload] }, { from: [stored], to: [forward] }]
 * ```
 */
export function syncedObjectsSource(
  sink: Pick<ObjectSink, "subscribe">,
  options: SyncedObjectsSourceOptions = {},
): Source {
  if (!sink || typeof sink.subscribe !== "function") {
    throw new TypeError("syncedObjectsSource: expected an object sink (with subscribe())");
  }
  const maxBuffer = options.maxBuffer ?? 100_000;
  let buffer: LogEvent[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  const run = async (ctx: SourceContext) => {
    while (true) {
      if (buffer.length === 0) {
        if (stopped) return;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = buffer.length <= 1000 ? buffer : buffer.slice(0, 1000);
      buffer = batch === buffer ? [] : buffer.slice(1000);
      ctx.stats.received += batch.length;
      await ctx.emit(batch);
    }
  };
  return {
    kind: "synced-objects",
    ...(options.name ? { name: options.name } : {}),
    start(ctx) {
      unsubscribe = sink.subscribe((activity) => {
        if (activity.type !== "uploaded") return;
        if (buffer.length >= maxBuffer) {
          ctx.stats.dropped++;
          return;
        }
        const o = activity.object;
        buffer.push(createEvent(`stored ${o.remote} sha256=${o.sha256} size=${o.size}`, {
          host: o.host,
          program: "sluice-objects",
          id: `${o.remote}:${o.sha256}`,
          fields: { object: { ...o } },
        }));
        const w = wake;
        wake = undefined;
        w?.();
      });
      loop = run(ctx);
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      const w = wake;
      wake = undefined;
      w?.();
      await loop;
    },
  };
}
