/**
 * sshJournalSource's checks that need no peers (colours, sudo's refusals,
 * malformed options), `sluice hosts` itself, and journaldSource's --no-tail
 * resume. The tests against real peers (OpenSSH's sshd on loopback, a user
 * whose sudoers line allows only journalctl, journals written by
 * systemd-journal-remote) are in ssh_journal_scale_test.ts,
 * ssh_journal_refusals_test.ts and ssh_journal_hosts_test.ts; their shared
 * setup is tests/fixtures/journal/world.ts.
 */

import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import { definePipeline } from "../../core/pipeline.ts";
import { journaldSource } from "../../sources/journald.ts";
import { sshJournalSource } from "../../sources/ssh_journal.ts";
import { classifyExit, stripAnsi } from "../../sources/_ssh_journal_host.ts";
import { waitFor } from "../_peers.ts";
import { journalRemotePath, makeJournal } from "../fixtures/journal/journal.ts";
import { collector, silent } from "../fixtures/journal/world.ts";

Deno.test("stripAnsi() and classifyExit() read colours and sudo's refusals", () => {
  assert.equal(
    stripAnsi("\x1b[1;31mFailed\x1b[0m password \x1b]0;title\x07for x"),
    "Failed password for x",
  );
  assert.equal(stripAnsi("plain"), "plain");
  assert.equal(classifyExit(1, "sudo: a password is required\n"), "sudo-refused");
  assert.equal(
    classifyExit(1, "Sorry, user x is not allowed to execute '/usr/bin/journalctl' as root"),
    "sudo-refused",
  );
  assert.equal(classifyExit(127, "sh: 1: journalctl: not found"), "journalctl-missing");
  assert.equal(classifyExit(1, "Failed to open files"), "command-failed");
});

Deno.test("sshJournalSource() rejects malformed hosts and options naming them", () => {
  const h = { name: "vm1", user: "u", privateKeyFile: "k" };
  assert.throws(() => sshJournalSource({ hosts: [{ ...h, name: "a b" }] }), /"name"/);
  assert.throws(() => sshJournalSource({ hosts: [{ ...h, user: "" }] }), /needs "user"/);
  assert.throws(() => sshJournalSource({ hosts: [{ ...h, port: 70000 }] }), RangeError);
  assert.throws(() => sshJournalSource({ hosts: [h, h] }), /listed twice/);
  assert.throws(() => sshJournalSource({ hosts: [{ ...h, matches: ["sshd"] }] }), /FIELD=value/);
  assert.throws(
    () => sshJournalSource({ hosts: [{ ...h, hostKeyFingerprint: "md5:aa" }] }),
    /hostKeyFingerprint/,
  );
  assert.throws(() => sshJournalSource({ maxBatch: 0 }), /"maxBatch"/);
});

Deno.test("sluice hosts: add, list, accept-key and remove, with exit codes for mistakes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-hosts-cli-" });
  try {
    const db = `${dir}/siem.db`;
    const out: string[] = [];
    const err: string[] = [];
    const cli = async (...args: string[]) => {
      let code = -1;
      const { Command } = await import("commander");
      const { registerHostsCommand } = await import("../../runner/hosts.ts");
      const program = registerHostsCommand(
        new Command("sluice").exitOverride(),
        (c) => (code = c),
        {
          out: (l) => out.push(l),
          err: (l) => err.push(l),
        },
      );
      await program.parseAsync(args, { from: "user" });
      return code;
    };
    const fp = "SHA256:" + "Q".repeat(43);
    assert.equal(
      await cli(
        "hosts",
        "add",
        "nas",
        "--db",
        db,
        "--user",
        "pull",
        "--key",
        "/k",
        "--unit",
        "ssh.service",
        "--unit",
        "cron.service",
        "--fingerprint",
        fp,
      ),
      0,
    );
    assert.equal(
      await cli("hosts", "add", "bad name", "--db", db, "--user", "u", "--key", "/k"),
      2,
    );
    assert.match(err.at(-1) ?? "", /"name"/);
    assert.equal(
      await cli("hosts", "add", "x", "--db", db, "--user", "u", "--key", "/k", "--port", "0"),
      2,
    );
    assert.equal(
      await cli(
        "hosts",
        "add",
        "y",
        "--db",
        db,
        "--user",
        "u",
        "--key",
        "/k",
        "--fingerprint",
        "md5",
      ),
      2,
    );
    out.length = 0;
    assert.equal(await cli("hosts", "list", "--db", db, "--json"), 0);
    assert.equal(out.length, 1);
    const listed = JSON.parse(out[0] as string);
    assert.deepEqual(
      [listed.name, listed.address, listed.port, listed.units, listed.hostKeyFingerprint],
      ["nas", "nas", 22, ["ssh.service", "cron.service"], fp],
    );
    assert.equal(await cli("hosts", "accept-key", "nope", "--db", db), 1);
    assert.equal(await cli("hosts", "remove", "nas", "--db", db), 0);
    assert.equal(await cli("hosts", "remove", "nas", "--db", db), 1);
    assert.match(err.at(-1) ?? "", /no monitored host "nas"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "journaldSource() following from a saved cursor reads every later entry, not the last 10 (--no-tail)",
  ignore: !journalRemotePath(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-journald-tail-" });
    try {
      const journal = await makeJournal(dir);
      await journal.append(40);
      const start = async () => {
        const sink = collector();
        const engine = new Engine(
          definePipeline({
            sources: { journal: journaldSource({ host: "h", directory: journal.dir }) },
            paths: [{ from: ["journal"], to: [sink] }],
          }),
          { stateDir: `${dir}/state`, logger: silent },
        );
        await engine.start();
        return { engine, sink };
      };
      const first = await start();
      await waitFor("the first 40 entries", () => first.sink.ids.size >= 40);
      await first.engine.stop();
      await journal.append(40);
      const second = await start();
      try {
        await waitFor("the 40 entries after the saved cursor", () => second.sink.ids.size >= 40);
        assert.equal(second.sink.ids.size, 40);
        assert.equal(second.sink.repeats, 0);
      } finally {
        await second.engine.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
