/**
 * Host-key pinning: known_hosts parsing (plain and hashed names,
 * `[host]:port`, wildcards and negations, `@revoked`), SHA-256
 * fingerprints, and the check that refuses an unknown or changed key
 * before any login.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import { type OfferedHostKey, SshError } from "./error.ts";

/** One known_hosts line. */
export interface KnownHost {
  /** `@revoked` or `@cert-authority`, when the line has a marker. */
  marker: string | undefined;
  /** Host patterns (plain, wildcard, `!negated` or hashed `|1|salt|hash`). */
  patterns: string[];
  /** The key type. */
  type: string;
  /** The key blob. */
  blob: Uint8Array;
}

/**
 * Parses known_hosts text; comments, blank and malformed lines are skipped.
 *
 * @param text The file's content.
 * @returns Its entries.
 *
 * @example
 * ```ts
 * import { parseKnownHosts } from "./known_hosts.ts";
 * const [entry] = parseKnownHosts("[central]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==\n");
 * console.assert(entry?.patterns[0] === "[central]:2222");
 * ```
 */
export function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const parts = line.split(/\s+/);
    const marker = parts[0]?.startsWith("@") ? parts.shift() : undefined;
    const [hosts, type, key] = parts;
    if (!hosts || !type || !key) continue;
    out.push({ marker, patterns: hosts.split(","), type, blob: Buffer.from(key, "base64") });
  }
  return out;
}

/**
 * The SHA-256 fingerprint of a key blob, as `ssh-keygen -lf` prints it.
 *
 * @param blob The public key blob.
 * @returns `SHA256:` and 43 base64 characters.
 *
 * @example
 * ```ts
 * import { fingerprintOf } from "./known_hosts.ts";
 * console.assert(fingerprintOf(new Uint8Array(4)).startsWith("SHA256:"));
 * ```
 */
export function fingerprintOf(blob: Uint8Array): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/**
 * Checks and normalises a fingerprint given by a user.
 *
 * @param value `SHA256:…` (the prefix and padding are optional).
 * @param label The option's name, for the error.
 * @returns `SHA256:` and 43 base64 characters.
 * @throws {RangeError} When it is not a SHA-256 fingerprint.
 *
 * @example
 * ```ts
 * import { normalizeFingerprint } from "./known_hosts.ts";
 * const fp = normalizeFingerprint("SHA256:" + "A".repeat(43), "pin");
 * console.assert(fp.length === 50);
 * ```
 */
export function normalizeFingerprint(value: string, label: string): string {
  const bare = String(value).trim().replace(/^SHA256:/, "").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]{43}$/.test(bare)) {
    throw new RangeError(
      `${label} must look like "SHA256:" and 43 base64 characters (ssh-keygen -lf), got "${value}"`,
    );
  }
  return "SHA256:" + bare;
}

/**
 * The key type named inside a key blob.
 *
 * @param blob The public key blob.
 * @returns `ssh-ed25519`, `ssh-rsa` … or `"unknown"`.
 *
 * @example
 * ```ts
 * import { keyTypeOf } from "./known_hosts.ts";
 * console.assert(keyTypeOf(new Uint8Array(0)) === "unknown");
 * ```
 */
export function keyTypeOf(blob: Uint8Array): string {
  if (blob.length < 4) return "unknown";
  const len = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0);
  return new TextDecoder().decode(blob.subarray(4, 4 + Math.min(len, 64)));
}

/**
 * The known_hosts name of a host: `host` on port 22, `[host]:port` otherwise.
 *
 * @param host The host name or address.
 * @param port The port.
 * @returns The name known_hosts lines match.
 *
 * @example
 * ```ts
 * import { knownHostsName } from "./known_hosts.ts";
 * console.assert(knownHostsName("vm1", 2222) === "[vm1]:2222");
 * ```
 */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function _wildcard(pattern: string, name: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${re}$`, "i").test(name);
}

/**
 * Whether a known_hosts entry names a host (hashed names included; a
 * matching `!pattern` excludes it).
 *
 * @param entry The entry.
 * @param name The {@linkcode knownHostsName}.
 * @returns Whether it matches.
 *
 * @example
 * ```ts
 * import { hostMatches, parseKnownHosts } from "./known_hosts.ts";
 * const [e] = parseKnownHosts("*.lan,!evil.lan ssh-ed25519 AAAA");
 * console.assert(e && hostMatches(e, "vm1.lan") && !hostMatches(e, "evil.lan"));
 * ```
 */
export function hostMatches(entry: KnownHost, name: string): boolean {
  let matched = false;
  for (const pattern of entry.patterns) {
    if (pattern.startsWith("|1|")) {
      const [, , salt, hash] = pattern.split("|");
      if (!salt || !hash) continue;
      const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
      if (mac === hash) matched = true;
    } else if (pattern.startsWith("!")) {
      if (_wildcard(pattern.slice(1), name)) return false;
    } else if (_wildcard(pattern, name)) matched = true;
  }
  return matched;
}

const _HOST_KEY_ALGOS: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

function _equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** What pins a host's key: known_hosts entries, fingerprints, or both. */
export interface HostKeyPinOptions {
  /** The host as dialled. */
  host: string;
  /** Its port. @default {22} */
  port?: number;
  /** Parsed known_hosts entries. @default {[]} */
  knownHosts?: readonly KnownHost[];
  /** Where the entries came from, for messages. @default {"known_hosts"} */
  knownHostsFile?: string;
  /** Accepted SHA-256 fingerprints (already normalised). @default {[]} */
  fingerprints?: readonly string[];
  /** The component named first in messages. @default {"ssh"} */
  name?: string;
}

/**
 * Decides whether a host key is the pinned one. A key matching a
 * fingerprint or a known_hosts entry is accepted; a `@revoked` key or one
 * that differs from the pinned entries is `host-key-changed`; a host no
 * entry names (and no fingerprint pins) is `host-key-unknown`.
 *
 * @example Pin by fingerprint
 * ```ts
 * import { HostKeyPin } from "./known_hosts.ts";
 * const pin = new HostKeyPin({ host: "vm1", fingerprints: ["SHA256:" + "A".repeat(43)] });
 * console.assert(pin.check(new Uint8Array(8))?.reason === "host-key-changed");
 * ```
 */
export class HostKeyPin {
  readonly #o: Required<Omit<HostKeyPinOptions, "knownHostsFile">> & { file: string | undefined };
  readonly #where: string;

  /**
   * Makes the pin.
   *
   * @param options The host and what pins its key.
   */
  constructor(options: HostKeyPinOptions) {
    const port = options.port ?? 22;
    this.#o = {
      host: options.host,
      port,
      knownHosts: options.knownHosts ?? [],
      fingerprints: options.fingerprints ?? [],
      name: options.name ?? "ssh",
      file: options.knownHostsFile,
    };
    this.#where = knownHostsName(options.host, port);
  }

  /**
   * The host-key algorithms to ask for, so that a server with several keys
   * offers the pinned one; `undefined` when any will do.
   *
   * @returns Algorithm names, or `undefined`.
   */
  algorithms(): string[] | undefined {
    if (this.#o.fingerprints.length) return undefined;
    const matching = this.#o.knownHosts.filter((k) =>
      k.marker === undefined && hostMatches(k, this.#where)
    );
    const algos = [...new Set(matching.flatMap((k) => _HOST_KEY_ALGOS[k.type] ?? []))];
    return algos.length ? algos : undefined;
  }

  /**
   * Checks an offered key.
   *
   * @param key The key blob the server offered.
   * @returns `undefined` when accepted, else the refusal.
   */
  check(key: Uint8Array): SshError | undefined {
    const { name, fingerprints, knownHosts, file, host, port } = this.#o;
    const where = this.#where;
    const fp = fingerprintOf(key);
    const type = keyTypeOf(key);
    const offered: OfferedHostKey = {
      type,
      fingerprint: fp,
      base64: Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("base64"),
    };
    const shown = `${type} ${fp}`;
    const changed = (message: string) =>
      new SshError("host-key-changed", message, { hostKey: offered });
    const matching = knownHosts.filter((k) => hostMatches(k, where));
    if (matching.some((k) => k.marker === "@revoked" && _equal(k.blob, key))) {
      return changed(
        `${name}: the host key of ${where} (${shown}) is marked @revoked in "${
          file ?? "known_hosts"
        }"; refusing to connect`,
      );
    }
    if (fingerprints.includes(fp)) return undefined;
    const pinned = matching.filter((k) => k.marker === undefined);
    if (pinned.some((k) => _equal(k.blob, key))) return undefined;
    if (pinned.length === 0 && fingerprints.length === 0) {
      return new SshError(
        "host-key-unknown",
        `${name}: ${where} is not in known_hosts "${
          file ?? "known_hosts"
        }" (it offered ${shown}); refusing an unknown host key. Add it after checking the fingerprint: ssh-keyscan -p ${port} ${host} >> ${
          file ?? "known_hosts"
        }`,
        { hostKey: offered },
      );
    }
    if (pinned.length === 0) {
      return changed(
        `${name}: host key changed: the host key of ${where} (${shown}) does not match the pinned "hostKeyFingerprint" ${
          fingerprints.join(", ")
        }; refusing to connect (if the host's key changed on purpose, update the pin)`,
      );
    }
    return changed(
      `${name}: host key changed: the host key of ${where} CHANGED: it offered ${shown}, but known_hosts "${
        file ?? "known_hosts"
      }" pins ${
        pinned.map((k) => `${k.type} ${fingerprintOf(k.blob)}`).join(", ")
      }; refusing to connect (a man in the middle, or a reinstalled host: check, then update the file)`,
    );
  }
}
