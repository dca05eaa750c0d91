/**
 * The object channel's sink: stores the files an objects source emits on
 * the central over SFTP, stricter than `rclone move`: a pinned host key,
 * uploads to a short temporary name then renamed, the remote size and SHA-256
 * checked before a source file may be deleted, a per-host manifest for
 * dedup, a shared bandwidth limit, resumable retries and optional
 * encryption at rest.
 *
 * Import it from its own entry (`sinks/sftp-object`): it loads `npm:ssh2`
 * (~25 MB RSS), which the log agent should not pay for unless it moves objects.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { LogEvent } from "../core/event.ts";
import { safeJoin } from "../core/safe_path.ts";
import { readObjectKey } from "../core/crypto_chunks.ts";
import type { SinkContext } from "../core/types.ts";
import {
  confirmObject,
  localObject,
  type ObjectActivity,
  type ObjectInfo,
  objectListing,
  type ObjectSink,
  rejectObject,
  type SyncedObject,
} from "../sources/objects.ts";
import { checkPrivateKey, connectSsh } from "../ssh/connect.ts";
import { isSftpCode, openSftpChannels, SFTP_STATUS, type SftpSession } from "../ssh/sftp.ts";
import { resolveSftpOptions, type SftpObjectSinkOptions } from "./_sftp_options.ts";
import { type ManifestRecord, ManifestStore } from "./_sftp_manifest.ts";
import { isPartialName, Uploader } from "./_sftp_transfer.ts";
import { hashLocal, LocalError } from "./_sftp_verify.ts";
import { Slots } from "./_sftp_slots.ts";

export type { SftpObjectSinkOptions } from "./_sftp_options.ts";

/** The sink {@linkcode sftpObjectSink} returns. */
export interface SftpObjectSink extends ObjectSink {
  /** `"sftp-object"`. */
  readonly kind: "sftp-object";
}

/** SFTP channels per connection at most (each a process of the server's). */
const MAX_CHANNELS = 4;

/** A path the sink will not write to. */
class _Refused extends Error {}

/**
 * An SFTP status the server sent about one request, other than "no
 * connection" (6) and "connection lost" (7), which are the link's fault.
 */
function _isServerStatus(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" && code !== 6 && code !== 7;
}

function _msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// Remote paths

/** Normalises a rendered relative path, refusing absolute paths, `..` and NUL. */
function _relative(rendered: string): string {
  try {
    return safeJoin(".", rendered).slice(2);
  } catch (err) {
    throw new _Refused(_msg(err).replace(/^safeJoin: /, ""));
  }
}

/**
 * Stores the objects of an objects source on an SFTP server (the central),
 * under `root/samples/<host>/<kind>/<path>` by default.
 *
 * For each object the sink: refuses unsafe remote paths; skips the upload
 * when the host's manifest (`samples/<host>/.manifest.jsonl`) records the
 * same path, size and SHA-256 and the remote file has that size; otherwise
 * uploads to `.<16 hex>.partial` beside the target (short whatever the
 * name's length) with many requests in flight, computing
 * SHA-256 (`node:crypto`, GB/s; hash-wasm's is ~7x slower here) as it
 * streams, checks the remote size, verifies the content (`verify`: by
 * `sha256sum` on the server over the same connection when it allows it,
 * else by reading it back), checks that the local file did not change
 * meanwhile, then renames it into place, sets the remote mtime and appends
 * to the manifest. Only then does `write()` resolve and, in move mode,
 * confirm the object to its source. An object the server refuses (a name
 * too long, no permission) or whose local file changed fails alone, named
 * in a `failed` activity; a broken connection makes `write()` fail, the
 * engine retries and the upload resumes where the server had acknowledged it.
 *
 * The server's key must be pinned (`knownHostsFile` or
 * `hostKeyFingerprint`); an unknown or changed key is refused with a
 * message naming both fingerprints.
 *
 * Counters: `uploaded`, `bytes`, `unchanged`, `refused`, `failed`,
 * `resumed_bytes`, `verify_failures`, `verify_remote_hash`,
 * `verify_read_back`, `remote_hash_commands` (`sha256sum` runs: the files
 * waiting for one share it), `deleted_remote`; gauges `connected` and `channels`
 * (SFTP sessions on the connection: up to 4, never more than
 * `concurrency`; each upload runs on one, OpenSSH serves each with a
 * process of its own).
 *
 * @param options Server, key, host key pin, layout, mode, limits, encryption.
 * @returns The sink.
 * @throws {TypeError | RangeError} On a bad option.
 *
 * @example Move quarantined files to the central
 * ```ts
 * import { sftpObjectSink } from "./sftp_object.ts";
 * const upload = sftpObjectSink({
 *   host: "central.example.org",
 *   user: "samples",
 *   privateKeyFile: "/etc/sluice/id_ed25519",
 *   knownHostsFile: "/etc/sluice/known_hosts",
 *   mode: "move",
 *   bwlimit: "1M",
 * });
 * ```
 */
export function sftpObjectSink(options: SftpObjectSinkOptions): SftpObjectSink {
  const name = "sftpObjectSink";
  const {
    port,
    fingerprints,
    mode,
    verify,
    deleteRemote,
    renderPath,
    renderDir,
    renderManifest,
    concurrency,
    upBucket,
    downBucket,
    rootOption,
    readyTimeoutMs,
    idleCloseMs,
    maxBatch,
  } = resolveSftpOptions(options);

  let ctx: SinkContext | undefined;
  let privateKey: Buffer | undefined;
  let encryptionKey: CryptoKey | undefined;
  // The SFTP sessions (channels) of one connection: OpenSSH serves each with a process of
  // its own, so one waiting on the server's disk (an fsync) does not hold up the others.
  let conn: SftpSession[] | undefined;
  let connecting: Promise<SftpSession[]> | undefined;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const listeners = new Set<(activity: ObjectActivity) => void>();
  const manifests = new ManifestStore();
  const busy = new Map<string, Promise<void>>();

  const emit = (activity: ObjectActivity) => {
    for (const listener of listeners) {
      try {
        listener(activity);
      } catch {
        // a listener must not break an upload
      }
    }
  };
  const uploader = new Uploader({
    verify,
    up: upBucket,
    down: downBucket,
    encryptionKey: () => encryptionKey,
    stats: () => ctx?.stats,
    emit,
  });
  const full = (rel: string) =>
    rootOption === "." ? rel : rootOption === "/" ? `/${rel}` : `${rootOption}/${rel}`;

  const connect = async (): Promise<SftpSession[]> => {
    if (conn && !conn[0]?.closed) return conn;
    if (connecting) return await connecting;
    connecting = (async () => {
      if (conn) await conn[0]?.connection.end().catch(() => {});
      conn = undefined;
      const ssh = await connectSsh({
        host: options.host,
        port,
        user: options.user,
        privateKey: privateKey as Buffer,
        ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
        ...(options.knownHostsFile ? { knownHostsFile: options.knownHostsFile } : {}),
        ...(fingerprints.length ? { hostKeyFingerprint: fingerprints } : {}),
        readyTimeoutMs,
        name,
      });
      let opened: SftpSession[];
      try {
        opened = await openSftpChannels(ssh, Math.min(concurrency, MAX_CHANNELS));
      } catch (err) {
        ssh.destroy();
        throw err;
      }
      conn = opened;
      ctx?.stats.set("connected", 1);
      ctx?.stats.set("channels", opened.length);
      return opened;
    })();
    try {
      return await connecting;
    } finally {
      connecting = undefined;
    }
  };

  const scheduleIdleClose = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      idleTimer = undefined;
      const c = conn;
      conn = undefined;
      ctx?.stats.set("connected", 0);
      c?.[0]?.connection.end().catch(() => {});
    }, idleCloseMs);
    Deno.unrefTimer(idleTimer);
  };

  interface _Job {
    event: LogEvent;
    info: Readonly<ObjectInfo>;
    rel: string;
    remote: string;
    manifestPath: string;
    manifestKey: string;
  }

  const plan = (event: LogEvent, info: Readonly<ObjectInfo>): _Job => {
    let rel = _relative(renderPath(event));
    if (encryptionKey) rel += ".enc";
    const manifestRel = _relative(renderManifest(event));
    if (rel === manifestRel || isPartialName(rel)) {
      throw new _Refused(`"${rel}" is a name the sink keeps for itself`);
    }
    return {
      event,
      info,
      rel,
      remote: full(rel),
      manifestPath: full(manifestRel),
      manifestKey: rel,
    };
  };

  const processObject = async (
    c: SftpSession,
    event: LogEvent,
    addRecord: (manifest: string, rec: ManifestRecord) => void,
    onSent?: () => void,
  ): Promise<void> => {
    const info = localObject(event) as Readonly<ObjectInfo>;
    let job: _Job;
    try {
      job = plan(event, info);
    } catch (err) {
      if (!(err instanceof _Refused)) throw err;
      if (ctx) {
        ctx.stats.add("refused");
        ctx.stats.errors++;
      }
      rejectObject(event, `remote path refused: ${err.message}`);
      emit({ type: "refused", path: info.path, reason: err.message });
      ctx?.log.warn(`refusing object "${info.path}": ${err.message}`);
      return;
    }
    // Two objects of one batch may render the same remote path: one at a time.
    const before = busy.get(job.remote);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    busy.set(job.remote, mine);
    try {
      await before;
      await storeObject(c, job, addRecord, onSent);
    } finally {
      release();
      if (busy.get(job.remote) === mine) busy.delete(job.remote);
    }
  };

  const storeObject = async (
    c: SftpSession,
    job: _Job,
    addRecord: (manifest: string, rec: ManifestRecord) => void,
    onSent?: () => void,
  ): Promise<void> => {
    const { event, info } = job;
    let file: Deno.FsFile;
    try {
      // Synchronous: opening and stat'ing a local file costs microseconds, a round trip to
      // Deno's blocking thread pool and back ten times that (a third of a small file's CPU).
      file = Deno.openSync(info.abs, { read: true });
    } catch (err) {
      return failLocal(job, err);
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
            if (mode === "move" && !api.dryRun) {
              confirmObject(event, { remote: job.rel, size, mtime, sha256 });
            }
            emit({ type: "unchanged", path: info.path, remote: job.rel, size });
            return;
          }
        }
      }
      if (api.dryRun) {
        emit({
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
      emit({ type: "uploaded", object: synced, bytes: done.sent });
      options.onSynced?.(synced);
    } catch (err) {
      if (err instanceof LocalError || err instanceof Deno.errors.NotFound) {
        uploader.forget(job.remote);
        return failLocal(job, err);
      }
      // The server answered a request about this object with an error (a name too long,
      // permission denied, Bad message …): this object fails, the batch goes on.
      if (_isServerStatus(err) && !c.closed) return failRemote(job, err);
      throw err;
    } finally {
      file.close();
    }
  };

  const failRemote = (job: _Job, err: unknown) => {
    if (ctx) {
      ctx.stats.add("failed");
      ctx.stats.errors++;
    }
    const error = `remote "${job.rel}": ${_msg(err)} (SFTP status ${
      (err as { code: number }).code
    })`;
    rejectObject(job.event, error);
    emit({ type: "failed", path: job.info.path, error });
    ctx?.log.warn(`cannot upload "${job.info.path}": ${error}`);
  };

  const failLocal = (job: _Job, err: unknown) => {
    ctx?.stats.add("failed");
    rejectObject(job.event, `cannot read the local file: ${_msg(err)}`);
    emit({ type: "failed", path: job.info.path, error: _msg(err) });
    if (!(err instanceof Deno.errors.NotFound)) {
      ctx?.log.warn(`cannot upload "${job.info.path}": ${_msg(err)}`);
    }
  };

  const syncDeletions = async (c: SftpSession, event: LogEvent) => {
    const listing = objectListing(event);
    if (!listing || !renderDir) return;
    const pseudo = (path: string): LogEvent => ({
      ...event,
      fields: { ...event.fields, object: { kind: listing.kind, path } },
    });
    let dirRel: string;
    try {
      dirRel = _relative(renderDir(pseudo("")) || ".");
    } catch {
      return;
    }
    const keep = new Set<string>();
    for (const path of listing.paths) {
      try {
        keep.add(_relative(renderPath(pseudo(path))) + (encryptionKey ? ".enc" : ""));
      } catch {
        // a refused path was never uploaded
      }
    }
    const manifestRel = _relative(renderManifest(pseudo("")));
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await c.readdir(full(rel));
      } catch (err) {
        if (isSftpCode(err, SFTP_STATUS.NO_SUCH_FILE)) return;
        throw err;
      }
      for (const entry of entries) {
        if (entry.filename === "." || entry.filename === "..") continue;
        const child = `${rel}/${entry.filename}`;
        if (entry.attrs.isDirectory()) await walk(child);
        else if (
          !keep.has(child) && !isPartialName(child) && child !== manifestRel
        ) {
          if (api.dryRun) {
            emit({ type: "would-delete-remote", remote: child });
            continue;
          }
          await c.unlink(full(child));
          ctx?.stats.add("deleted_remote");
          const now = new Date().toISOString();
          await manifests.append(c, full(manifestRel), [{
            path: child,
            size: entry.attrs.size,
            sha256: "",
            mtime: new Date(entry.attrs.mtime * 1000).toISOString(),
            uploaded_at: "",
            deleted_at: now,
          }]);
          emit({ type: "deleted-remote", remote: child });
        }
      }
    };
    await walk(dirRel);
  };

  const api: SftpObjectSink = {
    kind: "sftp-object",
    ...(options.name ? { name: options.name } : {}),
    maxBatch,
    mode,
    dryRun: false,
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async open(context) {
      ctx = context;
      try {
        privateKey = Buffer.from(await Deno.readFile(options.privateKeyFile));
      } catch (err) {
        throw new Error(
          `${name}: cannot read "privateKeyFile" "${options.privateKeyFile}": ${_msg(err)}`,
        );
      }
      const problem = checkPrivateKey(privateKey, options.passphrase);
      if (problem) {
        throw new Error(
          `${name}: "privateKeyFile" "${options.privateKeyFile}" is not a usable private key: ${problem}`,
        );
      }
      if (options.knownHostsFile) {
        try {
          // Read again at each connect, so an updated file takes effect; here only checked.
          await Deno.readTextFile(options.knownHostsFile);
        } catch (err) {
          throw new Error(
            `${name}: cannot read "knownHostsFile" "${options.knownHostsFile}": ${_msg(err)}`,
          );
        }
      }
      if (options.encryptionKeyFile) {
        try {
          encryptionKey = await readObjectKey(options.encryptionKeyFile);
        } catch (err) {
          throw new Error(`${name}: "encryptionKeyFile": ${_msg(err)}`);
        }
      }
    },
    async write(batch) {
      if (!privateKey) throw new Error(`${name}: write() before open()`);
      clearTimeout(idleTimer);
      const objects: LogEvent[] = [];
      const listings: LogEvent[] = [];
      for (const event of batch) {
        if (localObject(event)) objects.push(event);
        else if (objectListing(event)) listings.push(event);
        else ctx?.stats.add("ignored");
      }
      if (objects.length === 0 && (listings.length === 0 || !deleteRemote)) return;
      let cs: SftpSession[];
      try {
        cs = await connect();
      } catch (err) {
        ctx?.stats.set("connected", 0);
        emit({ type: "error", error: _msg(err) });
        throw err;
      }
      const c = cs[0] as SftpSession;
      let firstError: unknown;
      const pending = new Map<string, ManifestRecord[]>();
      const record = (manifest: string, rec: ManifestRecord) => {
        const list = pending.get(manifest);
        if (list) list.push(rec);
        else pending.set(manifest, [rec]);
      };
      // `concurrency` uploads at once, each on slot i's channel. An upload the server verifies
      // (sha256sum) gives its slot up once its bytes are there: waiting for the hash (many
      // files in one command) and the rename holds no slot, so the next file starts.
      const slots = new Slots(Math.min(concurrency, objects.length));
      await Promise.all(objects.map(async (event) => {
        const slot = await slots.acquire();
        let held = true;
        const release = () => {
          if (held) slots.release(slot);
          held = false;
        };
        try {
          if (firstError !== undefined) return;
          await processObject(cs[slot % cs.length] as SftpSession, event, record, release);
        } catch (err) {
          firstError ??= err;
        } finally {
          release();
        }
      }));
      // Even after a failure: what was stored is recorded, so a retry does not send it again.
      for (const [manifest, recs] of pending) {
        try {
          await manifests.append(c, manifest, recs);
        } catch (err) {
          firstError ??= err;
        }
      }
      if (firstError === undefined && deleteRemote) {
        for (const event of listings) {
          try {
            await syncDeletions(c, event);
          } catch (err) {
            firstError = err;
            break;
          }
        }
      }
      if (firstError !== undefined) {
        if (c.closed) ctx?.stats.set("connected", 0);
        const message = `${name}: ${_msg(firstError)}`;
        emit({ type: "error", error: message });
        throw new Error(message);
      }
      scheduleIdleClose();
    },
    async close() {
      clearTimeout(idleTimer);
      idleTimer = undefined;
      if (connecting) await connecting.catch(() => {});
      const c = conn;
      conn = undefined;
      await c?.[0]?.connection.end();
      ctx?.stats.set("connected", 0);
    },
  };
  return api;
}
