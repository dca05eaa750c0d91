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
 * never serialised), the local file it stands for; a move deletes a file
 * only when a sink confirmed it stored and verified it (see
 * sources/_object_capability.ts). Option helpers are in
 * sources/_object_options.ts, {@linkcode syncedObjectsSource} in
 * sources/synced_objects.ts (both re-exported here).
 *
 * @module
 */

import { sleep } from "../core/backoff.ts";
import { createEvent, type LogEvent } from "../core/event.ts";
import type { Source, SourceContext } from "../core/types.ts";
import {
  finishObjectMove,
  type LocalObject,
  type ObjectInfo,
  tagLocalObject,
  tagObjectListing,
} from "./_object_capability.ts";
import {
  escapeObjectName,
  globMatcher,
  objectDuration,
  objectKindOf,
  objectsHost,
  pathExists,
} from "./_object_options.ts";

export {
  confirmObject,
  isObjectSink,
  localObject,
  type ObjectActivity,
  type ObjectInfo,
  objectListing,
  type ObjectReceipt,
  type ObjectSink,
  rejectObject,
  type SyncedObject,
} from "./_object_capability.ts";
export { globMatcher } from "./_object_options.ts";
export { syncedObjectsSource, type SyncedObjectsSourceOptions } from "./synced_objects.ts";

const _OBJECTS_SOURCE: unique symbol = Symbol("sluice.objectsSource");

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
  const kind = options.kind ?? objectKindOf(dir);
  if (typeof kind !== "string" || kind === "") {
    throw new TypeError(`objectsSource: "kind" must be a non-empty string`);
  }
  const mode = options.mode ?? "copy";
  if (mode !== "copy" && mode !== "move") {
    throw new RangeError(`objectsSource: "mode" must be "copy" or "move", got "${String(mode)}"`);
  }
  const interval = objectDuration(options.interval, "interval", 15 * 60_000);
  if (!options.once && interval < 1) {
    throw new RangeError(`objectsSource: "interval" must be at least 1 ms`);
  }
  const maxAge = objectDuration(options.maxAge, "maxAge", Infinity);
  const minAge = Math.max(
    objectDuration(options.minAge, "minAge", 0),
    objectDuration(options.settle, "settle", 10_000),
  );
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`objectsSource: "batchSize" must be a positive integer, got ${batchSize}`);
  }
  const include = (options.include ?? []).map(globMatcher);
  const exclude = (options.exclude ?? []).map(globMatcher);
  const host = options.host ?? objectsHost();
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

  const settleAck = (ctx: SourceContext, locals: LocalObject[]) => {
    for (const local of locals) {
      inflight.delete(local.info.path);
      if (mode === "move") finishObjectMove(ctx, local);
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
    let locals: LocalObject[] = [];
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
      const local: LocalObject = { info, lexical, receipts: [], rejected: undefined };
      const event = tagLocalObject(
        createEvent(`object ${kind}/${rel} ${st.size} bytes`, {
          host,
          program: "sluice-objects",
          id: `${ctx.name}:${rel}:${mtime}:${st.size}`,
          fields: { object: { ...info } },
        }),
        local,
      );
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
        if (entry.name.includes("\uFFFD") && !(await pathExists(lexical))) {
          ctx.stats.add("bad_names");
          ctx.stats.errors++;
          ctx.log.warn(
            `cannot read "${
              escapeObjectName(rel)
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
      const event = tagObjectListing(
        createEvent(`objects listing ${kind} ${listing.length} files`, {
          host,
          program: "sluice-objects",
          fields: { objects_listing: { kind, files: listing.length } },
        }),
        { kind, paths: listing },
      );
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
