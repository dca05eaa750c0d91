/**
 * The SSH client's cipher choice (ssh/_ciphers.ts) against OpenSSH's sshd:
 * chacha20-poly1305 when the server offers it, AES-GCM or AES-CTR when the
 * server allows only those, and 3 MiB each way intact with every one.
 * Skipped when sshd is missing.
 */

import assert from "node:assert/strict";
import { clientCiphers } from "../../ssh/_ciphers.ts";
import type { SshConnection } from "../../ssh/connect.ts";
import { isSshError } from "../../ssh/error.ts";
import { execOutput } from "../../ssh/exec.ts";
import { peer } from "../_peers.ts";
import { withSshdConnection } from "../fixtures/ssh/sshd.ts";

const sshd = peer("sshd", "openssh-server");

/** 3 MiB of random bytes through `cat` on the server and back, compared byte for byte. */
async function roundTrip(ssh: SshConnection): Promise<void> {
  const sent = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < sent.length; i += 65536) crypto.getRandomValues(sent.subarray(i, i + 65536));
  const r = await execOutput(ssh, ["cat"], { stdin: sent, timeoutMs: 30_000, check: true });
  assert.equal(r.stdout.length, sent.length);
  assert.ok(r.stdout.every((b, i) => b === sent[i]), "the bytes came back changed");
}

Deno.test("clientCiphers() puts chacha20-poly1305 first, then AES-GCM and AES-CTR", () => {
  const list = clientCiphers();
  assert.equal(list[0], "chacha20-poly1305@openssh.com");
  assert.deepEqual(list.slice(1, 3), ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]);
  assert.ok(list.includes("aes256-ctr"));
  assert.ok(!list.some((c) => /cbc|arcfour|3des|blowfish/.test(c)), "no weak cipher offered");
});

for (
  const [allowed, expected] of [
    [undefined, "chacha20-poly1305@openssh.com"],
    ["aes128-gcm@openssh.com", "aes128-gcm@openssh.com"],
    ["aes256-ctr", "aes256-ctr"],
  ] as const
) {
  Deno.test({
    name: `connectSsh() agrees on ${expected} when sshd allows ${allowed ?? "its defaults"}`,
    ignore: !sshd,
    async fn() {
      await withSshdConnection(async (ssh) => {
        assert.equal(ssh.cipher, expected);
        await roundTrip(ssh);
      }, { prefix: "sluice-ssh-cipher-", config: allowed ? [`Ciphers ${allowed}`] : [] });
    },
  });
}

Deno.test({
  name: "connectSsh() fails with a reason when sshd allows only ciphers it does not offer",
  ignore: !sshd,
  async fn() {
    await assert.rejects(
      withSshdConnection(() => Promise.resolve(), {
        prefix: "sluice-ssh-cipher-",
        config: ["Ciphers aes128-cbc"],
      }),
      // Refused in the key exchange, named as such: not a server that failed to start.
      (err: Error) => isSshError(err, "unreachable") && /no matching .*cipher/i.test(err.message),
    );
  },
});
