/**
 * Storing one object for the sftp-object sink: the manifest's dedup check,
 * the dry run, the verified upload, the manifest record, the confirmation
 * to a moving source, and an object's own failures (its local file, the
 * server refusing a request about it).
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { SinkContext } from "../core/types.ts";
import {
  confirmObject,
  type ObjectActivity,
  type ObjectInfo,
  rejectObject,
  type SyncedObject,
} from "../sources/objects.ts";
import type { SftpSession } from "../ssh/sftp.ts";
import type { ManifestRecord, ManifestStore } from "./_sftp_manifest.ts";
import type { Uploader } from "./_sftp_transfer.ts";
import { hashLocal, LocalError } from "./_sftp_verify.ts";
import { errorText as _msg } from "./_sftp_remote_path.ts";

/**
 * One object to store, planned: where it goes and which manifest records it.
 *
 * @example
 * ```ts ignore
 * const job: StoreJob = { event, info, rel: "vm1/a", remote: "samples/vm1/a", manifestPath: "samples/vm1/.manifest.jsonl", manifestKey: "vm1/a" };
 * ```
 */
export interface StoreJob {
  /** The object's event. */
  event: LogEvent;
  /** Its local file. */
  info: Readonly<ObjectInfo>;
  /** The remote path relative to the root. */
  rel: string;
  /** The remote path as sent to the server. */
  remote: string;
  /** The manifest's path as sent to the server. */
  manifestPath: string;
  /** The object's key in the manifest. */
  manifestKey: string;
}

/**
 * What {@linkcode storeObject} needs from its sink.
 *
 * @example
 * ```ts ignore
 * const store: ObjectStoreDeps = { mode: "copy", manifests, uploader, dryRun: () => false, ctx: () => ctx, encryptionKey: () => undefined, emit, onSynced: () => {} };
 * ```
 */
export interface ObjectStoreDeps {
  /** The sink's mode. */
  mode: "copy" | "move" | "sync";
  /** The per-host manifests. */
  manifests: ManifestStore;
  /** The uploader. */
  uploader: Uploader;
  /** Whether the sink only says what it would do. */
  dryRun: () => boolean;
  /** The sink's context, once open. */
  ctx: () => SinkContext | undefined;
  /** The encryption key, once open. */
  encryptionKey: () => CryptoKey | undefined;
  /** Reports activity. */
  emit: (activity: ObjectActivity) => void;
  /** Called with each object stored. */
  onSynced: (synced: SyncedObject) => void;
}

/**
 * An SFTP status the server sent about one request, other than "no
 * connection" (6) and "connection lost" (7), which are the link's fault.
 */
function _isServerStatus(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" && code !== 6 && code !== 7;
}

/**
 * Stores one object: skipped when the manifest and the remote file show it
 * stored already, else uploaded, verified, recorded and (move mode)
 * confirmed to its source. The object's own failures reject it alone.
 *
 * @param d The sink's parts.
 * @param c The SFTP session.
 * @param job The planned object.
 * @param addRecord Takes the manifest record, appended once the batch is done.
 * @param onSent Called once the bytes are on the server (the slot may go).
 * @throws When the connection fails: the batch fails and is retried.
 *
 * @example
 * ```ts ignore
 * await storeObject(deps, sessions[0], job, (manifest, rec) => pending.push(rec));
 * ```
 */
export async function storeObject(
  d: ObjectStoreDeps,
  c: SftpSession,
  job: StoreJob,
  addRecord: (manifest: string, rec: ManifestRecord) => void,
  onSent?: () => void,
): Promise<void> {
  const { mode, manifests, uploader } = d;
  const ctx = d.ctx();
  const encryptionKey = d.encryptionKey();
  const { event, info } = job;
  let file: Deno.FsFile;
  try {
    // Synchronous: opening and stat'ing a local file costs microseconds, a round trip to
    // Deno's blocking thread pool and back ten times that (a third of a small file's CPU).
    file = Deno.openSync(info.abs, { read: true });
  } catch (err) {
    return failLocal(d, job, err);
  }
  try {
    const st = file.statSync();
    const size = st.size;
    const mtime = st.mtime?.getTime() ?? 0;
    const records = await manifests.load(c, job.manifestPath);
    const record = records.get(job.manifestKey);
    let sha256: string | undefined;
    if (record && record.size === size) {
      sha256 = await hashLocal(file, size);
      // upload() reads from where the file is: a file just opened is at its start.
      await file.seek(0, Deno.SeekMode.Start);
      const storedSize = record.stored_size ?? record.size;
      const remote = record.sha256 === sha256 ? await c.stat(job.remote) : undefined;
      if (remote && remote.size === storedSize) {
        // A move deletes the source, so it trusts no record: it hashes the stored file.
        const verified = mode !== "move" ||
          await uploader.remoteSha256(c, job.remote, storedSize) ===
            (record.stored_sha256 ?? record.sha256);
        if (verified) {
          ctx?.stats.add("unchanged");
          if (mode === "move" && !d.dryRun()) {
            confirmObject(event, { remote: job.rel, size, mtime, sha256 });
          }
          d.emit({ type: "unchanged", path: info.path, remote: job.rel, size });
          return;
        }
      }
    }
    if (d.dryRun()) {
      d.emit({
        type: "would-upload",
        path: info.path,
        remote: job.rel,
        size,
        move: mode === "move",
      });
      return;
    }
    const done = await uploader.upload(
      c,
      { abs: info.abs, path: info.path, rel: job.rel, remote: job.remote },
      file,
      size,
      mtime,
      () => {
        const now = file.statSync();
        return Promise.resolve(now.size === size && (now.mtime?.getTime() ?? 0) === mtime);
      },
      onSent,
    );
    if (sha256 !== undefined && sha256 !== done.sha256) {
      ctx?.log.info(`"${info.path}" changed between hashing and upload; stored what was read`);
    }
    const now = new Date().toISOString();
    const rec: ManifestRecord = {
      path: job.manifestKey,
      size,
      sha256: done.sha256,
      mtime: new Date(mtime).toISOString(),
      uploaded_at: now,
      host: event.host ?? "",
      kind: info.kind,
      ...(encryptionKey
        ? { encrypted: true, stored_size: done.storedSize, stored_sha256: done.stored }
        : {}),
    };
    // Appended once per write(), before it resolves (so before any source deletes).
    addRecord(job.manifestPath, rec);
    ctx?.stats.add("uploaded");
    ctx?.stats.add("bytes", done.sent);
    // upload() renamed it into place only if the file had not changed since it was opened;
    // the source checks size and mtime again before it deletes.
    if (mode === "move") {
      confirmObject(event, { remote: job.rel, size, mtime, sha256: done.sha256 });
    }
    const synced: SyncedObject = {
      host: event.host ?? "",
      kind: info.kind,
      path: info.path,
      remote: job.rel,
      size,
      sha256: done.sha256,
      mtime,
      uploaded_at: now,
      encrypted: encryptionKey !== undefined,
    };
    d.emit({ type: "uploaded", object: synced, bytes: done.sent });
    d.onSynced(synced);
  } catch (err) {
    if (err instanceof LocalError || err instanceof Deno.errors.NotFound) {
      uploader.forget(job.remote);
      return failLocal(d, job, err);
    }
    // The server answered a request about this object with an error (a name too long,
    // permission denied, Bad message …): this object fails, the batch goes on.
    if (_isServerStatus(err) && !c.closed) return failRemote(d, job, err);
    throw err;
  } finally {
    file.close();
  }
}

/**
 * Rejects an object the server refused a request about (counted `failed`, an error).
 *
 * @param d The sink's parts.
 * @param job The object.
 * @param err The SFTP status error.
 *
 * @example
 * ```ts ignore
 * failRemote(deps, job, Object.assign(new Error("Permission denied"), { code: 3 }));
 * ```
 */
export function failRemote(d: ObjectStoreDeps, job: StoreJob, err: unknown): void {
  const ctx = d.ctx();
  if (ctx) {
    ctx.stats.add("failed");
    ctx.stats.errors++;
  }
  const error = `remote "${job.rel}": ${_msg(err)} (SFTP status ${(err as { code: number }).code})`;
  rejectObject(job.event, error);
  d.emit({ type: "failed", path: job.info.path, error });
  ctx?.log.warn(`cannot upload "${job.info.path}": ${error}`);
}

/**
 * Rejects an object whose local file could not be read or changed (counted
 * `failed`; a vanished file is not logged).
 *
 * @param d The sink's parts.
 * @param job The object.
 * @param err Why.
 *
 * @example
 * ```ts ignore
 * failLocal(deps, job, new Deno.errors.NotFound("gone"));
 * ```
 */
export function failLocal(d: ObjectStoreDeps, job: StoreJob, err: unknown): void {
  const ctx = d.ctx();
  ctx?.stats.add("failed");
  rejectObject(job.event, `cannot read the local file: ${_msg(err)}`);
  d.emit({ type: "failed", path: job.info.path, error: _msg(err) });
  if (!(err instanceof Deno.errors.NotFound)) {
    ctx?.log.warn(`cannot upload "${job.info.path}": ${_msg(err)}`);
  }
}
