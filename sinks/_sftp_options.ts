/**
 * The options of the sftp-object sink, checked and resolved once: the
 * layout templates, the host-key pins, the bandwidth buckets, the limits.
 *
 * @module
 */

import { pathTemplate } from "../core/safe_path.ts";
import type { Template, TemplateFn } from "../core/template.ts";
import { parseByteRate, TokenBucket } from "../core/token_bucket.ts";
import type { SyncedObject } from "../sources/objects.ts";
import { normalizeFingerprint } from "../ssh/known_hosts.ts";
import type { VerifyMode } from "./_sftp_transfer.ts";

/** Options for `sftpObjectSink` (sinks/sftp_object.ts). */
export interface SftpObjectSinkOptions {
  /** The SSH server (the central). */
  host: string;
  /** Its port. @default {22} */
  port?: number;
  /** The SSH user. */
  user: string;
  /** The private key file (OpenSSH or PEM format). */
  privateKeyFile: string;
  /** The key's passphrase, when it has one. @default {none} */
  passphrase?: string;
  /**
   * A known_hosts file that pins the server's key (plain or hashed host
   * names, `[host]:port` for other ports, `@revoked` honoured;
   * `@cert-authority` lines are ignored, host certificates are not
   * supported). Set this or `hostKeyFingerprint`: an unknown or changed host
   * key is always refused.
   */
  knownHostsFile?: string;
  /** The server key's SHA-256 fingerprint as `ssh-keygen -lf` prints it (`SHA256:…`), or several. */
  hostKeyFingerprint?: string | string[];
  /** The remote directory every path is under (absolute, or relative to the login directory). @default {"."} */
  root?: string;
  /**
   * Where an object goes, under `root`. `${kind}` and `${path}` are short
   * for `${object.kind}` and `${object.path}`. Every value is made a safe
   * path component except the object's path, whose own components must be
   * safe: an absolute path, `..` or NUL is refused, never uploaded.
   * @default {"samples/${HOST}/${kind}/${path}"}
   */
  path?: Template;
  /** The manifest of each host, under `root`. @default {"samples/${HOST}/.manifest.jsonl"} */
  manifest?: Template;
  /**
   * `"copy"` uploads new and changed objects; `"move"` also confirms each
   * verified upload so a `mode: "move"` objects source deletes the file;
   * `"sync"` is copy plus, with `deleteRemote`, deleting remote objects
   * that no longer exist locally. @default {"copy"}
   */
  mode?: "copy" | "move" | "sync";
  /** In sync mode, delete remote objects missing from the source's listing (`listing: true`). @default {false} */
  deleteRemote?: boolean;
  /**
   * How an upload is proven whole before it is renamed into place (and, in
   * move mode, its source deleted). `"remote-hash"` has the server hash it
   * over the same SSH connection (exactly `sha256sum -- <path>`; the bytes
   * cross the network once; needs a server that runs commands for this
   * user and whose shell sees the SFTP tree, i.e. no SFTP-only chroot);
   * `"read-back"` (or `"readback"`) reads every upload back and compares
   * its SHA-256 (twice the traffic, any SFTP server); `"auto"` hashes on
   * the server when it can, for files of 256 KiB or more that take longer
   * to read back than a command takes to run (measured on the connection's
   * first one), and reads back otherwise (a refused command or a missing `sha256sum` is found out once
   * per connection); `"manifest"` checks the size and records the streamed
   * SHA-256 in the manifest (not allowed with `mode: "move"`).
   * @default {"auto"}
   */
  verify?: "auto" | "remote-hash" | "read-back" | "readback" | "manifest";
  /** Bandwidth limit shared by all transfers of this sink, each way (`"1M"` = 1 MiB/s, as rclone). @default {"off"} */
  bwlimit?: string | number;
  /** Objects uploaded at once. @default {4} */
  concurrency?: number;
  /** A 32-byte key file: store objects encrypted (AES-256-GCM chunks), named `<path>.enc`. @default {none} */
  encryptionKeyFile?: string;
  /** How long to wait for the SSH handshake, in ms. @default {20000} */
  readyTimeoutMs?: number;
  /** Close the connection after this long without writes, in ms. @default {60000} */
  idleCloseMs?: number;
  /** Called for every object stored (see also `syncedObjectsSource`). */
  onSynced?: (object: SyncedObject) => void;
  /** Objects per write. @default {100} */
  maxBatch?: number;
  /** A name for stats. */
  name?: string;
}

/** Expands `${kind}` and `${path}` to `${object.kind}` and `${object.path}`. */
function _short(template: Template): Template {
  if (typeof template !== "string") return template;
  return template.replace(/\$\{(kind|path)((?::-[^}]*)?)\}/g, "${object.$1$2}");
}

function _remoteTemplate(template: Template): TemplateFn {
  if (typeof template === "function") return template;
  // The object's relative path keeps its directories; the caller checks each component.
  return pathTemplate(template, { verbatim: /^\$\{object\.path(:-[^}]*)?\}$/ });
}

/** Options checked and resolved by {@linkcode resolveSftpOptions}. */
export interface ResolvedSftpOptions {
  /** The port. */
  port: number;
  /** Accepted fingerprints, normalised. */
  fingerprints: string[];
  /** Copy, move or sync. */
  mode: "copy" | "move" | "sync";
  /** How uploads are verified (`"readback"` resolved to `"read-back"`). */
  verify: VerifyMode;
  /** Whether sync deletes remote objects gone locally. */
  deleteRemote: boolean;
  /** Renders an object's remote path. */
  renderPath: TemplateFn;
  /** Renders the directory sync walks, when `deleteRemote`. */
  renderDir: TemplateFn | undefined;
  /** Renders the manifest's path. */
  renderManifest: TemplateFn;
  /** Uploads at once. */
  concurrency: number;
  /** Upload bandwidth. */
  upBucket: TokenBucket | undefined;
  /** Download (read-back) bandwidth. */
  downBucket: TokenBucket | undefined;
  /** The remote root, without a trailing slash. */
  rootOption: string;
  /** Handshake deadline. */
  readyTimeoutMs: number;
  /** Idle time before the connection is closed. */
  idleCloseMs: number;
  /** Objects per write. */
  maxBatch: number;
}

/**
 * Checks the sink's options and resolves their defaults.
 *
 * @param options The options as given.
 * @returns The resolved options.
 * @throws {TypeError | RangeError} On a bad option, naming it.
 *
 * @example
 * ```ts
 * import { resolveSftpOptions } from "./_sftp_options.ts";
 * const o = resolveSftpOptions({ host: "c", user: "u", privateKeyFile: "k", hostKeyFingerprint: "SHA256:" + "A".repeat(43) });
 * console.assert(o.port === 22 && o.mode === "copy");
 * ```
 */
export function resolveSftpOptions(options: SftpObjectSinkOptions): ResolvedSftpOptions {
  const name = "sftpObjectSink";
  if (!options || typeof options !== "object") {
    throw new TypeError(`${name}: expected an options object`);
  }
  for (const key of ["host", "user", "privateKeyFile"] as const) {
    if (typeof options[key] !== "string" || options[key] === "") {
      throw new TypeError(`${name}: "${key}" must be a non-empty string`);
    }
  }
  const port = options.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${name}: "port" must be 1–65535, got ${port}`);
  }
  const fingerprints = options.hostKeyFingerprint === undefined
    ? []
    : (Array.isArray(options.hostKeyFingerprint)
      ? options.hostKeyFingerprint
      : [options.hostKeyFingerprint]).map((f) =>
        normalizeFingerprint(f, `${name}: "hostKeyFingerprint"`)
      );
  if (!options.knownHostsFile && fingerprints.length === 0) {
    throw new TypeError(
      `${name}: set "knownHostsFile" or "hostKeyFingerprint"; an unpinned host key is never accepted`,
    );
  }
  const mode = options.mode ?? "copy";
  if (mode !== "copy" && mode !== "move" && mode !== "sync") {
    throw new RangeError(`${name}: "mode" must be "copy", "move" or "sync", got "${String(mode)}"`);
  }
  const given = options.verify ?? "auto";
  const verify: VerifyMode = given === "readback" ? "read-back" : given;
  if (!["auto", "remote-hash", "read-back", "manifest"].includes(verify)) {
    throw new RangeError(
      `${name}: "verify" must be "auto", "remote-hash", "read-back" or "manifest", got "${
        String(given)
      }"`,
    );
  }
  if (mode === "move" && verify === "manifest") {
    throw new RangeError(
      `${name}: "mode": "move" needs "verify" "auto", "remote-hash" or "read-back" (readback); a source is never deleted on a size check`,
    );
  }
  const deleteRemote = options.deleteRemote ?? false;
  if (deleteRemote && mode !== "sync") {
    throw new RangeError(`${name}: "deleteRemote" needs "mode": "sync"`);
  }
  const pathSource = _short(options.path ?? "samples/${HOST}/${kind}/${path}");
  if (deleteRemote && (typeof pathSource !== "string" || !pathSource.endsWith("${object.path}"))) {
    throw new RangeError(
      `${name}: "deleteRemote" needs a "path" template that ends in "\${path}"`,
    );
  }
  const renderPath = _remoteTemplate(pathSource);
  const renderDir = deleteRemote && typeof pathSource === "string"
    ? _remoteTemplate(pathSource.slice(0, pathSource.length - "${object.path}".length))
    : undefined;
  const renderManifest = _remoteTemplate(
    _short(options.manifest ?? "samples/${HOST}/.manifest.jsonl"),
  );
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new RangeError(`${name}: "concurrency" must be 1–64, got ${concurrency}`);
  }
  const rate = parseByteRate(options.bwlimit ?? "off", `${name}: "bwlimit"`);
  const upBucket = rate === Infinity ? undefined : new TokenBucket(rate);
  const downBucket = rate === Infinity ? undefined : new TokenBucket(rate);
  const rootOption = (options.root ?? ".").replace(/\/+$/, "") || "/";
  if (rootOption.includes("\0")) throw new RangeError(`${name}: "root" holds a NUL character`);
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const idleCloseMs = options.idleCloseMs ?? 60_000;
  const maxBatch = options.maxBatch ?? 100;
  return {
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
  };
}
