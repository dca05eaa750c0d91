/**
 * The object channel's capability: the local file an event from
 * sources/objects.ts stands for is kept out of band (a private symbol,
 * never serialised). A sink that stored the file and verified the stored
 * content calls {@linkcode confirmObject} before its `write()` resolves;
 * when the batch is acknowledged, a `mode: "move"` source deletes a file
 * only when a sink confirmed it, none refused it ({@linkcode rejectObject}),
 * and the file still has the size and mtime the sink read. An event
 * forwarded over the network cannot carry that capability, so no remote
 * peer can make a sink read or a source delete a local file.
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Sink, SourceContext } from "../core/types.ts";

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
export interface LocalObject {
  /** The object as scanned. */
  info: ObjectInfo;
  /** The path as scanned (the link itself for a symbolic link), which a move deletes. */
  lexical: string;
  /** What the sinks that stored it reported. */
  receipts: ObjectReceipt[];
  /** Why a sink refused it, if one did. */
  rejected: string | undefined;
}

/** The scan listing behind a listing event, kept out of band. */
interface _Listing {
  kind: string;
  paths: string[];
}

const _LOCAL: unique symbol = Symbol("sluice.object.local");
const _LISTING: unique symbol = Symbol("sluice.object.listing");

type _Tagged = LogEvent & { [_LOCAL]?: LocalObject; [_LISTING]?: _Listing };

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

/**
 * Attaches the local file an event stands for (only sources/objects.ts
 * does): the capability {@linkcode localObject} reads and a move needs.
 *
 * @param event The event, as built by the source.
 * @param local The file.
 * @returns The event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localObject, tagLocalObject } from "./_object_capability.ts";
 * import { createEvent } from "../core/event.ts";
 * const info = { path: "a.bin", size: 1, mtime: 0, kind: "samples", abs: "/tmp/a.bin" };
 * const event = tagLocalObject(createEvent("a.bin"), {
 *   info,
 *   lexical: "/tmp/a.bin",
 *   receipts: [],
 *   rejected: undefined,
 * });
 * assert.equal(localObject(event), info);
 * ```
 */
export function tagLocalObject(event: LogEvent, local: LocalObject): LogEvent {
  (event as _Tagged)[_LOCAL] = local;
  return event;
}

/**
 * Attaches a scan listing to a listing event (only sources/objects.ts does).
 *
 * @param event The listing event.
 * @param listing The kind and every listed path.
 * @returns The event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { objectListing, tagObjectListing } from "./_object_capability.ts";
 * import { createEvent } from "../core/event.ts";
 * const event = tagObjectListing(createEvent("listing"), { kind: "samples", paths: ["a.bin"] });
 * assert.deepEqual(objectListing(event)?.paths, ["a.bin"]);
 * ```
 */
export function tagObjectListing(
  event: LogEvent,
  listing: { kind: string; paths: string[] },
): LogEvent {
  (event as _Tagged)[_LISTING] = listing;
  return event;
}

/**
 * After a `mode: "move"` batch is acknowledged: deletes the local file
 * when a sink confirmed it, none refused it, and the file still has the
 * size and mtime the sink read; otherwise keeps it and counts why
 * (`kept`, `changed_after_upload`, `deleted`, errors).
 *
 * @param ctx The source's context (stats, log).
 * @param local The file.
 *
 * @example
 * ```ts ignore
 * import { finishObjectMove } from "./_object_capability.ts";
 * declare const ctx: import("../core/types.ts").SourceContext;
 * declare const local: import("./_object_capability.ts").LocalObject;
 * finishObjectMove(ctx, local);
 * ```
 */
export function finishObjectMove(ctx: SourceContext, local: LocalObject): void {
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
