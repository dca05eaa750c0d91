/**
 * ssh/connect.ts and ssh/sftp.ts against the in-process ssh2 server (a real
 * SSH implementation): login with a key, host-key pinning refused before
 * login, and every failure's reason.
 */

import assert from "node:assert/strict";
import { connectSsh } from "../../ssh/connect.ts";
import { isSshError, SshError } from "../../ssh/error.ts";
import { openSftp } from "../../ssh/sftp.ts";
import { knownHostsLine, makeKeyPair, writeClientKey } from "../fixtures/ssh/keys.ts";
import { startSftpServer } from "../fixtures/ssh/sftp_server.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "sluice-ssh-connect-" });
  await Deno.mkdir(`${dir}/served`);
  const key = await writeClientKey(dir);
  const server = await startSftpServer({ root: `${dir}/served`, authorizedKey: key.publicKey });
  const knownHostsFile = `${dir}/known_hosts`;
  await Deno.writeTextFile(
    knownHostsFile,
    knownHostsLine("127.0.0.1", server.port, server.hostPublicKey) + "\n",
  );
  const base = {
    host: "127.0.0.1",
    port: server.port,
    user: "sluice",
    privateKeyFile: key.file,
    readyTimeoutMs: 10_000,
  };
  return {
    dir,
    server,
    knownHostsFile,
    base,
    async close() {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("connectSsh() logs in with a key to a pinned host and opens SFTP", async () => {
  const t = await setup();
  try {
    await Deno.writeTextFile(`${t.dir}/served/hello.txt`, "hi");
    const ssh = await connectSsh({ ...t.base, knownHostsFile: t.knownHostsFile });
    try {
      assert.equal(ssh.hostKey.fingerprint, t.server.fingerprint);
      const sftp = await openSftp(ssh);
      const names = (await sftp.readdir("/")).map((e) => e.filename);
      assert.ok(names.includes("hello.txt"), names.join(","));
      assert.equal((await sftp.stat("/hello.txt"))?.size, 2);
      assert.equal(await sftp.stat("/missing"), undefined);
    } finally {
      await ssh.end();
    }
    assert.equal(ssh.closed, true);
    const byFingerprint = await connectSsh({ ...t.base, hostKeyFingerprint: t.server.fingerprint });
    await byFingerprint.end();
  } finally {
    await t.close();
  }
});

Deno.test("connectSsh() refuses a changed host key before login, with reason host-key-changed", async () => {
  const t = await setup();
  try {
    const other = makeKeyPair();
    await Deno.writeTextFile(
      t.knownHostsFile,
      knownHostsLine("127.0.0.1", t.server.port, other.publicKey) + "\n",
    );
    const err = await connectSsh({ ...t.base, knownHostsFile: t.knownHostsFile }).then(
      () => assert.fail("connected"),
      (e: unknown) => e,
    );
    assert.ok(isSshError(err, "host-key-changed"), String(err));
    assert.match(err.message, /host key changed/);
    assert.ok(err.message.includes(t.server.fingerprint), "names the offered key");
    assert.ok(err.message.includes(other.fingerprint), "names the pinned key");
    assert.equal(err.hostKey?.fingerprint, t.server.fingerprint);
    const pinned = await connectSsh({ ...t.base, hostKeyFingerprint: other.fingerprint }).catch((
      e,
    ) => e);
    assert.ok(isSshError(pinned, "host-key-changed"), String(pinned));
  } finally {
    await t.close();
  }
});

Deno.test("connectSsh() refuses a host no known_hosts line names: host-key-unknown", async () => {
  const t = await setup();
  try {
    await Deno.writeTextFile(t.knownHostsFile, "# nothing\nother.example ssh-ed25519 AAAA\n");
    const err = await connectSsh({ ...t.base, knownHostsFile: t.knownHostsFile }).catch((e) => e);
    assert.ok(isSshError(err, "host-key-unknown"), String(err));
    assert.match(err.message, /ssh-keyscan/);
  } finally {
    await t.close();
  }
});

Deno.test("connectSsh() says auth-refused when the server refuses the key", async () => {
  const t = await setup();
  try {
    const stranger = await writeClientKey(`${t.dir}/served`);
    const err = await connectSsh({
      ...t.base,
      privateKeyFile: stranger.file,
      knownHostsFile: t.knownHostsFile,
    }).catch((e) => e);
    assert.ok(isSshError(err, "auth-refused"), String(err));
  } finally {
    await t.close();
  }
});

Deno.test("connectSsh() says unreachable for a closed port and timeout for a silent one", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  const dir = await Deno.makeTempDir({ prefix: "sluice-ssh-connect-" });
  try {
    const key = await writeClientKey(dir);
    const base = {
      host: "127.0.0.1",
      user: "x",
      privateKeyFile: key.file,
      hostKeyFingerprint: key.fingerprint,
    };
    const silent = await connectSsh({ ...base, port, readyTimeoutMs: 500 }).catch((e) => e);
    assert.ok(isSshError(silent, "timeout"), String(silent));
    listener.close();
    await accepting.catch(() => {});
    for (const c of accepted) c.close();
    const closed = await connectSsh({ ...base, port }).catch((e) => e);
    assert.ok(isSshError(closed, "unreachable"), String(closed));
  } finally {
    try {
      listener.close();
    } catch {
      // closed above
    }
    for (const c of accepted) {
      try {
        c.close();
      } catch {
        // closed above
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("connectSsh() refuses options that would not pin the host key", async () => {
  await assert.rejects(
    connectSsh({ host: "h", user: "u", privateKey: "k" }),
    /an unpinned host key is never accepted/,
  );
  await assert.rejects(
    connectSsh({ host: "h", user: "u", privateKey: "k", hostKeyFingerprint: "MD5:aa" }),
    RangeError,
  );
  assert.ok(new SshError("timeout", "x") instanceof Error);
});
