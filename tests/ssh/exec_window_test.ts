/**
 * exec()'s `windowBytes` against OpenSSH's sshd: while nobody reads a
 * command's stdout, the remote side gets no further than the small window
 * (plus sshd's and the pipe's buffers) lets it, where ssh2's own window lets
 * it run megabytes ahead; every byte still arrives once read.
 */

import assert from "node:assert/strict";
import type { SshConnection } from "../../ssh/connect.ts";
import { exec } from "../../ssh/exec.ts";
import { peer } from "../_peers.ts";
import { withSshdConnection } from "../fixtures/ssh/sshd.ts";

const sshd = peer("sshd", "openssh-server");
const PIECES = 512;
const PIECE = 16384;

/** How far the remote command got (pieces written), once it stops moving (or at 30 s). */
async function settled(file: string, atLeast = 0): Promise<number> {
  const read = async () => Number((await Deno.readTextFile(file).catch(() => "0")).trim() || 0);
  const deadline = Date.now() + 30_000;
  let last = -1, since = Date.now();
  while (Date.now() < deadline) {
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (now >= atLeast && Date.now() - since >= 1000) return now;
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

/** Runs the writer without reading, returns how far it got, then reads all and checks the total. */
async function unread(ssh: SshConnection, dir: string, name: string, windowBytes?: number) {
  const progress = `${dir}/${name}`;
  const p = exec(ssh, [
    "sh",
    "-c",
    'i=0; while [ "$i" -lt "$2" ]; do head -c "$3" /dev/zero || exit 1; i=$((i+1)); echo "$i" > "$1"; done',
    "sh",
    progress,
    String(PIECES),
    String(PIECE),
  ], {
    timeoutMs: 120_000,
    highWaterMark: 16 * 1024,
    ...(windowBytes === undefined ? {} : { windowBytes }),
  });
  const ahead = (await settled(progress, 1)) * PIECE;
  let bytes = 0;
  for await (const chunk of p.stdout) bytes += chunk.byteLength;
  const status = await p.status;
  assert.equal(status.code, 0, status.stderr);
  assert.equal(bytes, PIECES * PIECE, "every byte once");
  return ahead;
}

Deno.test({
  name: "exec() with windowBytes keeps an unread command's output within a small window",
  ignore: !sshd,
  async fn() {
    await withSshdConnection(async (ssh, dir) => {
      // ssh2's 2 MiB window, topped up while the channel waits: megabytes ahead.
      const wide = await unread(ssh, dir, "wide");
      assert.ok(wide >= 2 * 1024 * 1024, `ssh2's window let it run ahead only ${wide} bytes`);
      // 64 KiB: the window, sshd's buffer of the same size and the pipe's 64 KiB, about.
      const narrow = await unread(ssh, dir, "narrow", 64 * 1024);
      assert.ok(narrow <= 512 * 1024, `${narrow} bytes ahead with a 64 KiB window`);
      // The connection still carries a second capped command after the first closed.
      assert.ok((await unread(ssh, dir, "again", 64 * 1024)) <= 512 * 1024);
    }, { prefix: "sluice-ssh-window-", dirMode: 0o777 });
  },
});
