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
import { readObjectKey } from "../core/crypto_chunks.ts";
import type { SinkContext } from "../core/types.ts";
import {
  localObject,
  type ObjectActivity,
  type ObjectInfo,
  objectListing,
  type ObjectSink,
  rejectObject,
} from "../sources/objects.ts";
import { checkPrivateKey } from "../ssh/connect.ts";
import type { SftpSession } from "../ssh/sftp.ts";
import { resolveSftpOptions, type SftpObjectSinkOptions } from "./_sftp_options.ts";
import { type ManifestRecord, ManifestStore } from "./_sftp_manifest.ts";
import { isPartialName, Uploader } from "./_sftp_transfer.ts";
import { Slots } from "./_sftp_slots.ts";
import { SftpConnector } from "./_sftp_connection.ts";
import {
  errorText as _msg,
  RefusedPath as _Refused,
  remoteFull,
  remoteRelative as _relative,
} from "./_sftp_remote_path.ts";
import { type ObjectStoreDeps, type StoreJob, storeObject } from "./_sftp_store_object.ts";
import { type RemoteSyncDeps, syncDeletions } from "./_sftp_remote_sync.ts";

export type { SftpObjectSinkOptions } from "./_sftp_options.ts";

/** The sink {@linkcode sftpObjectSink} returns. */
export interface SftpObjectSink extends ObjectSink {
  /** `"sftp-object"`. */
  readonly kind: "sftp-object";
}

/** SFTP channels per connection at most (each a process of the server's). */
const MAX_CHANNELS = 4;

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
  const full = (rel: string) => remoteFull(rootOption, rel);
  const connector = new SftpConnector({
    ssh: () => ({
      host: options.host,
      port,
      user: options.user,
      privateKey: privateKey as Buffer,
      ...(options.passphrase !== undefined ? { passphrase: options.passphrase } : {}),
      ...(options.knownHostsFile ? { knownHostsFile: options.knownHostsFile } : {}),
      ...(fingerprints.length ? { hostKeyFingerprint: fingerprints } : {}),
      readyTimeoutMs,
      name,
    }),
    channels: Math.min(concurrency, MAX_CHANNELS),
    idleCloseMs,
    stats: () => ctx?.stats,
  });
  const store: ObjectStoreDeps = {
    mode,
    manifests,
    uploader,
    dryRun: () => api.dryRun,
    ctx: () => ctx,
    encryptionKey: () => encryptionKey,
    emit,
    onSynced: (synced) => options.onSynced?.(synced),
  };
  const sync: RemoteSyncDeps = {
    renderPath,
    renderDir,
    renderManifest,
    encrypted: () => encryptionKey !== undefined,
    full,
    dryRun: () => api.dryRun,
    emit,
    stats: () => ctx?.stats,
    manifests,
  };

  const plan = (event: LogEvent, info: Readonly<ObjectInfo>): StoreJob => {
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
    let job: StoreJob;
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
      await storeObject(store, c, job, addRecord, onSent);
    } finally {
      release();
      if (busy.get(job.remote) === mine) busy.delete(job.remote);
    }
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
      connector.clearIdle();
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
        cs = await connector.connect();
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
            await syncDeletions(sync, c, event);
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
      connector.scheduleIdleClose();
    },
    async close() {
      await connector.close();
    },
  };
  return api;
}
