/**
 * OpenSSH's client (`sftp -b`, the bench's same-run reference) against the
 * in-process ssh2 test server: the batch ends and `sftp` exits. It once
 * waited forever: when its batch is done the client sends EOF and waits for
 * the server to close the channel, which the fixture never did.
 */

import assert from "node:assert/strict";
import { peer, runWithDeadline } from "../_peers.ts";
import { knownHostsLine, writeClientKey } from "../fixtures/ssh/keys.ts";
import { startSftpServer } from "../fixtures/ssh/sftp_server.ts";

const sftp = peer("sftp", "openssh-client");

Deno.test({
  name: "OpenSSH sftp -b puts files to the ssh2 test server and exits when its batch is done",
  ignore: !sftp,
  async fn() {
    const dir = await Deno.makeTempDir();
    const key = await writeClientKey(dir);
    await Deno.mkdir(`${dir}/jail/in`, { recursive: true });
    const server = await startSftpServer({ root: `${dir}/jail`, authorizedKey: key.publicKey });
    try {
      const kh = `${dir}/known_hosts`;
      await Deno.writeTextFile(kh, knownHostsLine("127.0.0.1", server.port, server.hostPublicKey));
      const data = crypto.getRandomValues(new Uint8Array(60_000));
      await Deno.writeFile(`${dir}/a.bin`, data);
      await Deno.writeFile(`${dir}/b.bin`, data.subarray(0, 10));
      await Deno.writeTextFile(`${dir}/batch`, `put ${dir}/a.bin /in/\nput ${dir}/b.bin /in/\n`);
      const r = await runWithDeadline(sftp as string, [
        "-q",
        "-b",
        `${dir}/batch`,
        "-i",
        key.file,
        "-o",
        `UserKnownHostsFile=${kh}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-P",
        String(server.port),
        "sluice@127.0.0.1",
      ], { timeoutMs: 30_000, what: "sftp -b against the ssh2 test server" });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await Deno.readFile(`${dir}/jail/in/a.bin`), data);
      assert.deepEqual(await Deno.readFile(`${dir}/jail/in/b.bin`), data.subarray(0, 10));
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
