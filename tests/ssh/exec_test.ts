/**
 * ssh/exec.ts against OpenSSH's sshd: an argument array arrives as literal
 * arguments however hostile, stdout streams with back-pressure, exit codes,
 * signals, stderr, deadlines and aborts. Skipped when sshd is missing.
 */

import assert from "node:assert/strict";
import type { SshConnection } from "../../ssh/connect.ts";
import { isSshError } from "../../ssh/error.ts";
import { exec, execOutput, shellCommand } from "../../ssh/exec.ts";
import { peer, waitFor } from "../_peers.ts";
import { withSshdConnection } from "../fixtures/ssh/sshd.ts";

const sshd = peer("sshd", "openssh-server");

function withSshd(fn: (ssh: SshConnection, dir: string) => Promise<void>): Promise<void> {
  return withSshdConnection(fn, { prefix: "sluice-ssh-exec-" });
}

const HOSTILE = [
  "; rm -rf /",
  "$(touch PWNED)",
  "`touch PWNED`",
  "it's",
  '"double" \\back',
  "two\nlines",
  "",
  "  spaced  ",
  "*",
  "a|b&c>d<e",
  "$HOME ${PATH}",
  "-n",
  "\u00e9\u202e",
  "!event",
  "#comment",
  "~root",
];

Deno.test({
  name: "exec() passes hostile arguments to sshd's shell as single literal arguments",
  ignore: !sshd,
  async fn() {
    await withSshd(async (ssh, dir) => {
      // printf '%s\0' shows where each argument starts and ends, newlines included.
      const r = await execOutput(ssh, ["printf", "%s\\0", ...HOSTILE], {
        timeoutMs: 10_000,
        check: true,
      });
      assert.deepEqual(r.text.split("\0").slice(0, -1), HOSTILE);
      const lines = await execOutput(ssh, ["printf", "%s\n", "; rm -rf /", "$(id)"], {
        timeoutMs: 10_000,
      });
      assert.equal(lines.text, "; rm -rf /\n$(id)\n");
      const cwd = await execOutput(ssh, ["sh", "-c", 'cd "$1" && ls', "sh", dir], {
        timeoutMs: 10_000,
      });
      assert.doesNotMatch(cwd.text, /PWNED/);
      await assert.rejects(Deno.stat(`${dir}/PWNED`), Deno.errors.NotFound);
    });
  },
});

Deno.test("shellCommand() refuses NUL and an empty command", () => {
  assert.throws(() => shellCommand([]), TypeError);
  assert.throws(() => shellCommand(["echo", "a\0b"]), TypeError);
  assert.equal(shellCommand(["echo", "ok", "x y"]), "echo ok 'x y'");
});

Deno.test({
  name: "exec() reports the exit code, stderr and a failed command's reason",
  ignore: !sshd,
  async fn() {
    await withSshd(async (ssh) => {
      const r = await execOutput(ssh, ["sh", "-c", "echo out; echo oops >&2; exit 3"], {
        timeoutMs: 10_000,
      });
      assert.equal(r.code, 3);
      assert.equal(r.text, "out\n");
      assert.equal(r.stderr, "oops\n");
      const err = await execOutput(ssh, ["sh", "-c", "echo denied >&2; exit 1"], {
        timeoutMs: 10_000,
        check: true,
      }).catch((e) => e);
      assert.ok(isSshError(err, "command-failed"), String(err));
      assert.equal(err.exitCode, 1);
      assert.equal(err.stderr, "denied\n");
      const missing = await execOutput(ssh, ["no-such-program-sluice"], { timeoutMs: 10_000 });
      assert.equal(missing.code, 127);
    });
  },
});

Deno.test({
  name: "exec() kills a command at its deadline and on abort, and the connection stays usable",
  ignore: !sshd,
  async fn() {
    await withSshd(async (ssh) => {
      const slow = await execOutput(ssh, ["sleep", "30"], { timeoutMs: 300 }).catch((e) => e);
      assert.ok(isSshError(slow, "timeout"), String(slow));
      const controller = new AbortController();
      const p = exec(ssh, ["sh", "-c", "echo started; sleep 30"], { signal: controller.signal });
      const reader = p.stdout.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), "started\n");
      controller.abort(new Error("stop following"));
      await assert.rejects(p.status, /stop following/);
      await assert.rejects(reader.read(), /stop following/);
      const after = await execOutput(ssh, ["echo", "still here"], { timeoutMs: 10_000 });
      assert.equal(after.text, "still here\n");
    });
  },
});

Deno.test({
  name: "exec() holds the remote command back while stdout is not read, then delivers every byte",
  ignore: !sshd,
  async fn() {
    await withSshd(async (ssh, dir) => {
      const size = 64 * 1024 * 1024;
      const marker = `${dir}/written`;
      const p = exec(
        ssh,
        ["sh", "-c", 'head -c "$1" /dev/zero && touch "$2"', "sh", String(size), marker],
        { timeoutMs: 120_000, highWaterMark: 256 * 1024 },
      );
      const reader = p.stdout.getReader();
      let got = (await reader.read()).value?.byteLength ?? 0;
      // Nothing read for a while: SSH's window and the pipes hold a few MB, not 64.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(
        await Deno.stat(marker).then(() => true, () => false),
        false,
        "the remote side finished writing although nobody read",
      );
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        got += value.byteLength;
      }
      assert.equal(got, size);
      assert.equal((await p.status).code, 0);
      await waitFor("the marker file", () => Deno.stat(marker).then(() => true, () => false));
    });
  },
});
