/**
 * The agentless collector's SSH worker thread (sources/_ssh_journal_wire.ts):
 * errors keep their kind across the thread boundary, a refused connect and an
 * aborted one come back as ssh/ gives them, and `close()` ends the thread.
 * Reading through it against a real sshd is in ssh_journal_scale_test.ts.
 */

import assert from "node:assert/strict";
import { SshError } from "../../ssh/error.ts";
import { fromWire, SshWorker, toWire } from "../../sources/_ssh_journal_wire.ts";
import { makeKeyPair } from "../fixtures/ssh/keys.ts";

Deno.test("toWire()/fromWire() keep an SshError's reason and offered key, and other errors' names", () => {
  const key = { type: "ssh-ed25519", fingerprint: "SHA256:x", base64: "AAAA" };
  const back = fromWire(
    structuredClone(toWire(new SshError("host-key-changed", "changed", { hostKey: key }))),
  );
  assert.ok(back instanceof SshError);
  assert.equal(back.reason, "host-key-changed");
  assert.deepEqual(back.hostKey, key);
  const plain = fromWire(structuredClone(toWire(new TypeError("bad"))));
  assert.ok(!(plain instanceof SshError));
  assert.equal(plain.name, "TypeError");
  assert.equal(plain.message, "bad");
  assert.equal(fromWire(toWire("text")).message, "text");
});

Deno.test("SshWorker: a refused connect is an SshError 'unreachable'; an aborted one rejects with the reason", async () => {
  const ssh = new SshWorker();
  const deadline = setTimeout(() => {
    ssh.close();
    throw new Error("SshWorker test hung: over 60 s");
  }, 60_000);
  try {
    const { privateKey } = makeKeyPair();
    // A port nobody listens on: take one, then close it.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const options = {
      host: "127.0.0.1",
      port,
      user: "nobody",
      privateKey,
      hostKeyFingerprint: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
      connectTimeoutMs: 5_000,
    };
    await assert.rejects(
      ssh.connectSsh(options),
      (err: unknown) => err instanceof SshError && err.reason === "unreachable",
    );
    const ac = new AbortController();
    const why = new Error("stop now");
    ac.abort(why);
    await assert.rejects(ssh.connectSsh({ ...options, signal: ac.signal }), (e) => e === why);
    // A peer that accepts and never speaks SSH: the connect waits in the worker until aborted.
    const mute = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of mute) held.push(c);
    })().catch(() => {});
    try {
      const ac2 = new AbortController();
      const pending = ssh.connectSsh({
        ...options,
        port: (mute.addr as Deno.NetAddr).port,
        signal: ac2.signal,
      });
      setTimeout(() => ac2.abort(why), 200);
      await assert.rejects(pending, (e) => e === why);
    } finally {
      mute.close();
      await accepting;
      for (const c of held) c.close();
    }
  } finally {
    clearTimeout(deadline);
    ssh.close();
  }
});
