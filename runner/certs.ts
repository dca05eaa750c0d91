/**
 * `sluice certs init` and `sluice certs issue HOST`: a private CA for one
 * deployment and a certificate per machine, for mutual TLS between the VMs
 * and the central (see docs/tls.md).
 *
 * Certificates are X.509 v3 with what WebPKI (rustls, which Deno's TLS
 * uses) requires and checks: basicConstraints (CA:TRUE on the CA, CA:FALSE
 * on a leaf), keyUsage, extendedKeyUsage (serverAuth and clientAuth, so one
 * certificate serves a machine as server and as client), subjectAltName
 * (the host name, or its IP address), and key identifiers. Keys are ECDSA
 * P-256, signed with SHA-256.
 *
 * Made with `npm:@peculiar/x509` on WebCrypto, in-process: no `openssl`
 * binary is needed, `deno compile` builds it in, and no text reaches a
 * shell. It is loaded only when a `certs` command runs.
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";

/** Options for {@linkcode initCa}. */
export interface InitCaOptions {
  /** The CA's common name. @default {"sluice CA"} */
  name?: string;
  /** Days the CA is valid. @default {3650} */
  days?: number;
  /** Replace an existing CA (every certificate it issued stops being trusted). @default {false} */
  force?: boolean;
}

/** Options for {@linkcode issueCertificate}. */
export interface IssueOptions {
  /** Days the certificate is valid. @default {825} */
  days?: number;
  /** More names for subjectAltName: DNS names or IP addresses. @default {[]} */
  altNames?: string[];
  /** Replace existing files of this host. @default {false} */
  force?: boolean;
}

/** Files written by {@linkcode initCa} or {@linkcode issueCertificate}. */
export interface CertFiles {
  /** The certificate, PEM. */
  certFile: string;
  /** The private key, PEM (PKCS #8), mode 0600. */
  keyFile: string;
}

const _ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const _DAY = 86_400_000;

/** Host names and addresses fit for a file name and a subjectAltName. */
const _HOST = /^[A-Za-z0-9]([A-Za-z0-9._:-]{0,251}[A-Za-z0-9])?$/;

function _x509() {
  // The full specifier, as core/_deps does, so the runner resolves without our import map;
  // keep it equal to deno.json's "@peculiar/x509" entry. 1.14.3: 2.x fails to load in Deno 2.9.
  // deno-lint-ignore no-import-prefix
  return import("npm:@peculiar/x509@1.14.3");
}

function _days(who: string, days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new RangeError(`${who}: "days" must be a whole number from 1 to 36500, got ${days}`);
  }
  return days;
}

function _serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] as number) & 0x7f; // positive
  bytes[0] = (bytes[0] as number) | 0x01; // no leading zero byte
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function _isIp(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) ||
    (name.includes(":") && /^[0-9a-fA-F:.]+$/.test(name));
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function _pemKey(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function _write(files: CertFiles, cert: string, key: string): Promise<void> {
  // The key is written first, readable by its owner only, and never left half-written.
  const tmp = `${files.keyFile}.tmp-${crypto.randomUUID()}`;
  await Deno.writeTextFile(tmp, key, { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, files.keyFile);
  await Deno.writeTextFile(files.certFile, cert.endsWith("\n") ? cert : `${cert}\n`);
}

/**
 * Makes a CA in `dir`: `ca.crt` (give it to every machine) and `ca.key`
 * (keep it on the machine that issues certificates, mode 0600).
 *
 * @param dir The directory (made when missing).
 * @param options Name, validity, overwrite.
 * @returns The files written.
 * @throws {Error} When `ca.key` exists and `force` is not set.
 *
 * @example
 * ```ts
 * import { initCa } from "./certs.ts";
 * const make = (dir: string) => initCa(dir, { name: "home CA", days: 3650 });
 * ```
 */
export async function initCa(dir: string, options: InitCaOptions = {}): Promise<CertFiles> {
  const who = "certs init";
  const days = _days(who, options.days ?? 3650);
  const name = options.name ?? "sluice CA";
  if (typeof name !== "string" || name === "" || /[,=+<>#;\\"\n]/.test(name)) {
    throw new RangeError(`${who}: the CA name must be plain text, got "${name}"`);
  }
  const files = { certFile: `${dir}/ca.crt`, keyFile: `${dir}/ca.key` };
  if (!options.force && await _exists(files.keyFile)) {
    throw new Error(
      `${who}: "${files.keyFile}" exists; every certificate it issued would stop being trusted (use --force to replace it)`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  const x509 = await _x509();
  const keys = await crypto.subtle.generateKey(_ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: _serial(),
    name: `O=sluice, CN=${name}`,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + days * _DAY),
    keys,
    signingAlgorithm: _ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await _write(files, cert.toString("pem"), await _pemKey(keys.privateKey));
  return files;
}

/**
 * Issues a certificate for `host` signed by the CA in `dir`: `HOST.crt` and
 * `HOST.key` beside it. The subject is `O=sluice, CN=HOST` (the central's
 * `--tls-host-from-cert` takes the host name from the CN); subjectAltName
 * holds `host` (as a DNS name or an IP address) and `altNames`.
 *
 * @param dir The CA's directory (from {@linkcode initCa}).
 * @param host The machine's name or address.
 * @param options Validity, more names, overwrite.
 * @returns The files written.
 * @throws {Error} When the CA is missing or the files exist and `force` is not set.
 *
 * @example
 * ```ts
 * import { issueCertificate } from "./certs.ts";
 * const issue = (dir: string) => issueCertificate(dir, "vm-1", { altNames: ["10.0.0.5"] });
 * ```
 */
export async function issueCertificate(
  dir: string,
  host: string,
  options: IssueOptions = {},
): Promise<CertFiles> {
  const who = "certs issue";
  const days = _days(who, options.days ?? 825);
  const names = [host, ...(options.altNames ?? [])];
  for (const n of names) {
    if (typeof n !== "string" || !_HOST.test(n) || n.includes("..")) {
      throw new RangeError(
        `${who}: "${n}" is not a host name or an IP address (letters, digits, ".", "-", "_", ":")`,
      );
    }
  }
  const files = { certFile: `${dir}/${host}.crt`, keyFile: `${dir}/${host}.key` };
  if (host === "ca") throw new RangeError(`${who}: "ca" is the CA's own file name`);
  if (!options.force && (await _exists(files.keyFile) || await _exists(files.certFile))) {
    throw new Error(`${who}: "${files.certFile}" exists (use --force to replace it)`);
  }
  let caPem: string;
  let caKeyPem: string;
  try {
    caPem = await Deno.readTextFile(`${dir}/ca.crt`);
    caKeyPem = await Deno.readTextFile(`${dir}/ca.key`);
  } catch (err) {
    throw new Error(
      `${who}: cannot read the CA in "${dir}" (run "sluice certs init --dir ${dir}" first): ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
  const x509 = await _x509();
  const ca = new x509.X509Certificate(caPem);
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(caKeyPem),
    _ALG,
    false,
    ["sign"],
  );
  const keys = await crypto.subtle.generateKey(_ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const now = Date.now();
  const notAfter = Math.min(now + days * _DAY, ca.notAfter.getTime());
  const sans = [...new Set(names)].map((n) =>
    _isIp(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n }
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: _serial(),
    subject: `O=sluice, CN=${host}`,
    issuer: ca.subject,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: _ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  await _write(files, cert.toString("pem"), await _pemKey(keys.privateKey));
  return files;
}

/**
 * Registers `sluice certs init` and `sluice certs issue HOST`.
 *
 * @param program The commander program.
 * @param setExitCode Receives the exit code.
 * @returns The `certs` command.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerCertsCommand } from "./certs.ts";
 * registerCertsCommand(new Command("sluice"), () => {});
 * ```
 */
export function registerCertsCommand(
  program: Command,
  setExitCode: (code: number) => void = (code) => (Deno.exitCode = code),
): Command {
  const certs = program.command("certs")
    .description("make a CA and per-machine certificates for mutual TLS (see docs/tls.md)");
  const run = async (body: () => Promise<string[]>) => {
    try {
      for (const line of await body()) console.log(line);
      setExitCode(0);
    } catch (err) {
      console.error(err instanceof Error ? err.message : String(err));
      setExitCode(err instanceof RangeError ? 2 : 1);
    }
  };
  certs.command("init")
    .description("make a CA: ca.crt (for every machine) and ca.key (keep it safe)")
    .option("--dir <dir>", "where the CA lives", "./certs")
    .option("--name <name>", "the CA's common name", "sluice CA")
    .option("--days <n>", "days it is valid", "3650")
    .option("--force", "replace an existing CA")
    .action((opts: { dir: string; name: string; days: string; force?: boolean }) =>
      run(async () => {
        const files = await initCa(opts.dir, {
          name: opts.name,
          days: Number(opts.days),
          ...(opts.force ? { force: true } : {}),
        });
        return [`CA certificate: ${files.certFile}`, `CA key (keep it safe): ${files.keyFile}`];
      })
    );
  certs.command("issue")
    .description("issue HOST.crt and HOST.key, signed by the CA, for a VM or the central")
    .argument("<host>", "the machine's name (the certificate's CN) or IP address")
    .option("--dir <dir>", "where the CA lives; the files are written there", "./certs")
    .option("--san <name...>", "more DNS names or IP addresses for subjectAltName")
    .option("--days <n>", "days it is valid", "825")
    .option("--force", "replace this host's existing files")
    .action((host: string, opts: { dir: string; san?: string[]; days: string; force?: boolean }) =>
      run(async () => {
        const files = await issueCertificate(opts.dir, host, {
          days: Number(opts.days),
          ...(opts.san ? { altNames: opts.san } : {}),
          ...(opts.force ? { force: true } : {}),
        });
        return [`certificate: ${files.certFile}`, `key: ${files.keyFile}`];
      })
    );
  return certs;
}
