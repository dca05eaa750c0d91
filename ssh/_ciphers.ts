/**
 * The ciphers the SSH client offers, fastest first for this runtime.
 *
 * ssh2 puts AES-GCM first, which is right under Node with its native
 * binding. Under Deno the binding is missing and ssh2 runs AES-GCM through
 * `node:crypto`'s Decipheriv, whose AES-GCM here decrypts at ~110 MB/s and
 * encrypts at ~75 MB/s, against ~200–300 and ~180 MB/s for
 * chacha20-poly1305 (ssh2's own Poly1305 beside `node:crypto`'s ChaCha20),
 * measured on this 2-core machine against OpenSSH's sshd on loopback
 * (200 MB each way, two rounds). A journal pulled over SSH from 10 hosts cost
 * the client 7–30 % less CPU per round with it (six alternating rounds, a
 * fifth at the median: 7.3–9.3 against 9.1–11.4 µs an entry). It is OpenSSH's own first choice; strict key
 * exchange (`kex-strict-*`, which ssh2 and OpenSSH ≥ 9.6 both speak) closes
 * the Terrapin prefix attack against it. A server that refuses it gets the
 * AES modes next, in ssh2's own order.
 *
 * @module
 */

import { getCiphers } from "node:crypto";

/** SSH cipher names and the OpenSSL name `node:crypto` must know for each. */
const PREFERENCE: ReadonlyArray<readonly [ssh: string, openssl: string]> = [
  ["chacha20-poly1305@openssh.com", "chacha20"],
  ["aes128-gcm@openssh.com", "aes-128-gcm"],
  ["aes256-gcm@openssh.com", "aes-256-gcm"],
  ["aes128-ctr", "aes-128-ctr"],
  ["aes192-ctr", "aes-192-ctr"],
  ["aes256-ctr", "aes-256-ctr"],
];

let cached: string[] | undefined;

/**
 * The client's cipher list for ssh2's `algorithms.cipher`: chacha20-poly1305
 * first, then AES-GCM and AES-CTR, each only where `node:crypto` has it.
 *
 * @returns SSH cipher names, most preferred first.
 *
 * @example
 * ```ts
 * import { clientCiphers } from "./_ciphers.ts";
 * const list = clientCiphers();
 * console.assert(list.includes("aes128-gcm@openssh.com"));
 * ```
 */
export function clientCiphers(): string[] {
  if (!cached) {
    const have = new Set(getCiphers());
    cached = PREFERENCE.filter(([, openssl]) => have.has(openssl)).map(([ssh]) => ssh);
  }
  return cached;
}
