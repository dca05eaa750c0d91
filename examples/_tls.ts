/**
 * The example pipelines' TLS flags: `--tls-cert FILE`, `--tls-key FILE`,
 * `--tls-ca FILE` and `--tls-host-from-cert` (or `SLUICE_TLS_CERT`, …).
 * Certificates come from `sluice certs` (see docs/tls.md).
 *
 * @module
 */

import type { TlsClientOptions, TlsServerOptions } from "../core/tls.ts";
import { option } from "./_options.ts";

/** TLS options of a listener, and whether the host comes from the client certificate. */
export interface ListenerTls {
  /** For `tcpSource({ tls })` / `relpSource({ tls })`. */
  tls: TlsServerOptions;
  /** For `hostFromCertificate`. */
  hostFromCertificate: boolean;
}

/**
 * Whether a switch flag is on: `--name` alone, `--name=on|true|yes|1`, or
 * `SLUICE_NAME=on|true|yes|1`.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @param name The flag's name.
 * @returns Whether it is on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { switchOption } from "./_tls.ts";
 * assert.equal(switchOption(["--tls-host-from-cert"], {}, "tls-host-from-cert"), true);
 * assert.equal(switchOption([], { SLUICE_TLS_HOST_FROM_CERT: "off" }, "tls-host-from-cert"), false);
 * ```
 */
export function switchOption(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  name: string,
): boolean {
  const on = (v: string) => {
    if (["on", "true", "yes", "1"].includes(v)) return true;
    if (["off", "false", "no", "0", ""].includes(v)) return false;
    throw new RangeError(`--${name}: expected on or off, got "${v}"`);
  };
  for (const arg of args) {
    if (arg === `--${name}`) return true;
    if (arg.startsWith(`--${name}=`)) return on(arg.slice(name.length + 3));
  }
  return on(env[`SLUICE_${name.toUpperCase().replaceAll("-", "_")}`] ?? "off");
}

/**
 * The central's listener TLS from `--tls-cert`, `--tls-key`, `--tls-ca`,
 * `--tls-host-from-cert`: nothing without a certificate; server-only TLS
 * with a certificate and key; mutual TLS (a client must present a
 * certificate signed by the CA) with `--tls-ca`.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @returns The listener options, or `undefined` for plain TCP.
 * @throws {RangeError} When only one of certificate and key is given, or
 *   `--tls-host-from-cert` comes without `--tls-ca`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenerTls } from "./_tls.ts";
 * const tls = listenerTls(["--tls-cert", "c.crt", "--tls-key", "c.key", "--tls-ca", "ca.crt"], {});
 * assert.equal(tls?.tls.peerVerify, "required");
 * assert.equal(listenerTls([], {}), undefined);
 * ```
 */
export function listenerTls(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): ListenerTls | undefined {
  const cert = option(args, env, "tls-cert", "");
  const key = option(args, env, "tls-key", "");
  const ca = option(args, env, "tls-ca", "");
  const fromCert = switchOption(args, env, "tls-host-from-cert");
  if (cert === "" && key === "") {
    if (ca !== "" || fromCert) {
      throw new RangeError("--tls-ca and --tls-host-from-cert need --tls-cert and --tls-key");
    }
    return undefined;
  }
  if (cert === "" || key === "") {
    throw new RangeError("--tls-cert and --tls-key go together: give both");
  }
  if (fromCert && ca === "") {
    throw new RangeError("--tls-host-from-cert needs --tls-ca (client certificates to read)");
  }
  return {
    tls: ca === ""
      ? { certFile: cert, keyFile: key, peerVerify: "none" }
      : { certFile: cert, keyFile: key, caFile: ca, peerVerify: "required" },
    hostFromCertificate: fromCert,
  };
}

/**
 * The VM's client TLS from `--tls-ca` (the CA that signed the central's
 * certificate, besides the system roots), `--tls-cert` and `--tls-key` (the
 * VM's own certificate, for a central that asks for one).
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @returns The client options, or `undefined` for plain TCP.
 * @throws {RangeError} When only one of certificate and key is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientTls } from "./_tls.ts";
 * const tls = clientTls(["--tls-ca", "ca.crt", "--tls-cert", "vm.crt", "--tls-key", "vm.key"], {});
 * assert.equal(tls?.caFile, "ca.crt");
 * ```
 */
export function clientTls(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): TlsClientOptions | undefined {
  const cert = option(args, env, "tls-cert", "");
  const key = option(args, env, "tls-key", "");
  const ca = option(args, env, "tls-ca", "");
  if ((cert === "") !== (key === "")) {
    throw new RangeError("--tls-cert and --tls-key go together: give both");
  }
  if (cert === "" && ca === "") return undefined;
  return {
    ...(ca !== "" ? { caFile: ca } : {}),
    ...(cert !== "" ? { certFile: cert, keyFile: key } : {}),
  };
}
