/**
 * TLS options shared by every listener and client (tcp and syslog sources,
 * the forward sink, RELP): certificate material given inline as PEM text or
 * as file paths, checked when a component is built and read when it starts,
 * and the identity of a verified client certificate.
 *
 * Servers that verify client certificates run on `node:tls`, because
 * `Deno.listenTls` cannot request them; clients use `Deno.connectTls`, which
 * presents a client certificate.
 *
 * @module
 */

/**
 * How a TLS server treats client certificates:
 *
 * - `"required"`: a client must present a certificate signed by the `ca`;
 *   any other client is refused during the handshake.
 * - `"optional"`: a client may present no certificate; one it presents must
 *   be signed by the `ca`, or the connection is refused.
 * - `"none"`: no client certificate is asked for (server-only TLS).
 */
export type PeerVerify = "required" | "optional" | "none";

/** PEM material given inline or as a file; inline text wins. */
export interface TlsMaterialOptions {
  /** Certificate chain as PEM text. */
  cert?: string;
  /** Path of a PEM certificate chain file, read at start. */
  certFile?: string;
  /** Private key as PEM text. */
  key?: string;
  /** Path of a PEM private key file, read at start. */
  keyFile?: string;
  /** Trusted CA certificate(s) as PEM text. */
  ca?: string;
  /** Path of a PEM file of trusted CA certificates, read at start. */
  caFile?: string;
}

/** TLS options of a listener (`tcpSource({ tls })`, `syslogSource({ tls })`). */
export interface TlsServerOptions extends TlsMaterialOptions {
  /**
   * Whether client certificates are asked for and checked against the `ca`
   * (`ca`/`caFile` is then required). @default {"required"}
   */
  peerVerify?: PeerVerify;
}

/** TLS options of a client (`forwardSink({ tls })`). */
export interface TlsClientOptions extends TlsMaterialOptions {
  /**
   * Checks that the server's certificate names the host connected to. The
   * chain is always checked against `ca` (added to the system roots).
   * @default {true}
   */
  verifyHostname?: boolean;
}

/** PEM texts of a listener, read and ready for `node:tls`. */
export interface LoadedTlsServer {
  /** Certificate chain, PEM. */
  cert: string;
  /** Private key, PEM. */
  key: string;
  /** Trusted CA certificates, PEM. */
  ca?: string;
  /** How client certificates are treated. */
  peerVerify: PeerVerify;
}

/** PEM texts of a client, read and ready for `Deno.connectTls`. */
export interface LoadedTlsClient {
  /** Client certificate chain, PEM. */
  cert?: string;
  /** Client private key, PEM. */
  key?: string;
  /** CA certificates trusted besides the system roots, PEM. */
  ca?: string;
  /** Whether the server's certificate must name the host. */
  verifyHostname: boolean;
}

/**
 * The identity of a verified client certificate, stored by sources as
 * `event.fields.tls`:
 *
 * - `peer_cn`: the subject's common name (`vm-1`);
 * - `peer_subject`: the whole subject, `O=sluice,CN=vm-1` (in the
 *   certificate's order);
 * - `fingerprint`: SHA-256 of the certificate, upper-case hex pairs joined by `:`.
 */
export interface TlsPeer {
  /** The subject's common name. */
  peer_cn: string;
  /** The whole subject, `O=…,CN=…`. */
  peer_subject: string;
  /** SHA-256 of the certificate, `AB:CD:…`. */
  fingerprint: string;
}

function _pair(
  who: string,
  options: TlsMaterialOptions,
  what: "cert" | "key" | "ca",
): boolean {
  const inline = options[what];
  const file = options[`${what}File`];
  if (inline !== undefined && typeof inline !== "string") {
    throw new TypeError(`${who}: "tls.${what}" must be PEM text, got ${typeof inline}`);
  }
  if (file !== undefined && typeof file !== "string") {
    throw new TypeError(`${who}: "tls.${what}File" must be a path, got ${typeof file}`);
  }
  if (inline !== undefined && !inline.includes("-----BEGIN")) {
    throw new TypeError(
      `${who}: "tls.${what}" must be PEM text (use "tls.${what}File" for a path), got "${
        inline.slice(0, 40)
      }"`,
    );
  }
  return inline !== undefined || file !== undefined;
}

/**
 * Checks a listener's TLS options when a component is built.
 *
 * @param who The component, for error messages (`tcpSource`).
 * @param options The options.
 * @throws {TypeError} When a certificate, key or needed CA is missing or not PEM.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTlsServerOptions } from "./tls.ts";
 * let message = "";
 * try {
 *   checkTlsServerOptions("tcpSource", { certFile: "server.crt", keyFile: "server.key" });
 * } catch (err) {
 *   message = (err as Error).message;
 * }
 * assert.ok(message.includes('"tls.ca"'));
 * ```
 */
export function checkTlsServerOptions(who: string, options: TlsServerOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${who}: "tls" must be an object, got ${options}`);
  }
  const verify = options.peerVerify ?? "required";
  if (verify !== "required" && verify !== "optional" && verify !== "none") {
    throw new TypeError(
      `${who}: "tls.peerVerify" must be "required", "optional" or "none", got "${verify}"`,
    );
  }
  if (!_pair(who, options, "cert")) {
    throw new TypeError(`${who}: "tls.cert" or "tls.certFile" is required`);
  }
  if (!_pair(who, options, "key")) {
    throw new TypeError(`${who}: "tls.key" or "tls.keyFile" is required`);
  }
  if (!_pair(who, options, "ca") && verify !== "none") {
    throw new TypeError(
      `${who}: "tls.ca" or "tls.caFile" is required to verify client certificates (peerVerify "${verify}"); set peerVerify "none" for server-only TLS`,
    );
  }
}

/**
 * Checks a client's TLS options when a component is built.
 *
 * @param who The component, for error messages (`forwardSink`).
 * @param options The options.
 * @throws {TypeError} When only one of certificate and key is given, or one is not PEM.
 *
 * @example
 * ```ts
 * import { checkTlsClientOptions } from "./tls.ts";
 * checkTlsClientOptions("forwardSink", { caFile: "ca.crt" });
 * ```
 */
export function checkTlsClientOptions(who: string, options: TlsClientOptions): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`${who}: "tls" must be an object, got ${options}`);
  }
  const cert = _pair(who, options, "cert");
  const key = _pair(who, options, "key");
  _pair(who, options, "ca");
  if (cert !== key) {
    throw new TypeError(
      `${who}: a client certificate needs both "tls.cert"/"tls.certFile" and "tls.key"/"tls.keyFile"`,
    );
  }
}

async function _read(
  who: string,
  options: TlsMaterialOptions,
  what: "cert" | "key" | "ca",
): Promise<string | undefined> {
  const inline = options[what];
  if (inline !== undefined) return inline;
  const file = options[`${what}File`];
  if (file === undefined) return undefined;
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    throw new Error(
      `${who}: cannot read "tls.${what}File" "${file}": ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
}

/**
 * Reads a listener's certificate, key and CA (files are read now).
 *
 * @param who The component, for error messages.
 * @param options Options already checked by {@linkcode checkTlsServerOptions}.
 * @returns The PEM texts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadTlsServer } from "./tls.ts";
 * const pem = "-----BEGIN X-----\n-----END X-----\n";
 * const loaded = await loadTlsServer("tcpSource", { cert: pem, key: pem, peerVerify: "none" });
 * assert.ok(loaded.peerVerify === "none");
 * ```
 */
export async function loadTlsServer(
  who: string,
  options: TlsServerOptions,
): Promise<LoadedTlsServer> {
  const loaded: LoadedTlsServer = {
    cert: (await _read(who, options, "cert")) ?? "",
    key: (await _read(who, options, "key")) ?? "",
    peerVerify: options.peerVerify ?? "required",
  };
  const ca = await _read(who, options, "ca");
  if (ca !== undefined) loaded.ca = ca;
  return loaded;
}

/**
 * Reads a client's certificate, key and CA (files are read now).
 *
 * @param who The component, for error messages.
 * @param options Options already checked by {@linkcode checkTlsClientOptions}.
 * @returns The PEM texts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadTlsClient } from "./tls.ts";
 * const loaded = await loadTlsClient("forwardSink", {});
 * assert.ok(loaded.verifyHostname);
 * ```
 */
export async function loadTlsClient(
  who: string,
  options: TlsClientOptions,
): Promise<LoadedTlsClient> {
  const loaded: LoadedTlsClient = { verifyHostname: options.verifyHostname ?? true };
  const cert = await _read(who, options, "cert");
  const key = await _read(who, options, "key");
  const ca = await _read(who, options, "ca");
  if (cert !== undefined) loaded.cert = cert;
  if (key !== undefined) loaded.key = key;
  if (ca !== undefined) loaded.ca = ca;
  return loaded;
}

/** The parts of `node:tls`'s `getPeerCertificate()` that {@linkcode tlsPeer} reads. */
export interface PeerCertificateLike {
  /** Subject attributes (`{ O: "sluice", CN: "vm-1" }`); a value may be a list. */
  subject?: object | null;
  /** SHA-256 fingerprint, `AB:CD:…`. */
  fingerprint256?: string;
}

/**
 * Turns a `node:tls` peer certificate into the fields sources store.
 *
 * @param cert What `socket.getPeerCertificate()` returned.
 * @returns The identity, or `undefined` when there is no certificate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tlsPeer } from "./tls.ts";
 * const peer = tlsPeer({ subject: { O: "sluice", CN: "vm-1" }, fingerprint256: "AB:CD" });
 * assert.ok(peer?.peer_cn === "vm-1" && peer.peer_subject === "O=sluice,CN=vm-1");
 * ```
 */
export function tlsPeer(cert: PeerCertificateLike | null | undefined): TlsPeer | undefined {
  if (!cert || !cert.subject || typeof cert.subject !== "object") return undefined;
  const parts: string[] = [];
  let cn = "";
  const subject = cert.subject as Record<string, unknown>;
  for (const key of Object.keys(subject)) {
    const raw = subject[key];
    const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
    for (const item of values) {
      const value = String(item);
      parts.push(`${key}=${value.replace(/([,+"\\<>;])/g, "\\$1")}`);
      if (key === "CN" && cn === "") cn = value;
    }
  }
  if (parts.length === 0) return undefined;
  return { peer_cn: cn, peer_subject: parts.join(","), fingerprint: cert.fingerprint256 ?? "" };
}
