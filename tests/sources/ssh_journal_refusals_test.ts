/**
 * sshJournalSource refusing what it must against real peers: a changed or
 * unknown host key, sudo refused, journalctl missing; nothing read until
 * the key is accepted.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { vmsSink } from "../../siem/vms.ts";
import { buildProgram } from "../../runner/cli.ts";
import { waitFor } from "../_peers.ts";
import { JOURNAL_USER, NO_SUDO_USER } from "../fixtures/journal/ssh_host.ts";
import { makeKeyPair } from "../fixtures/ssh/keys.ts";
import { ignore, monitored, run, world } from "../fixtures/journal/world.ts";

Deno.test({
  name:
    "sshJournalSource() refuses a changed host key, reads nothing, shows why in vms, and reads once the key is accepted",
  ignore,
  async fn() {
    const w = await world();
    try {
      const h = await monitored(w, "rekeyed", 50);
      const db = `${w.dir}/siem.db`;
      // The registry, as `sluice hosts add` leaves it, pinned to the host's old key.
      const old = makeKeyPair();
      const cli = async (...args: string[]) => {
        let code = -1;
        await buildProgram((c) => (code = c)).parseAsync(args, { from: "user" });
        return code;
      };
      const { sink, source } = await run(
        w,
        { registry: db, registryPollMs: 100, vmsDatabase: db },
        [vmsSink({ database: db })],
      );
      assert.equal(
        await cli(
          "hosts",
          "add",
          "rekeyed",
          "--db",
          db,
          "--address",
          "127.0.0.1",
          "--port",
          String(h.sshd.port),
          "--user",
          JOURNAL_USER,
          "--key",
          w.keyFile,
          "--fingerprint",
          old.fingerprint,
          "--arg",
          `--directory=${h.journal.dir}`,
        ),
        0,
      );
      const refused = await waitFor(
        "the refusal",
        () => source.hosts().find((s) => s.reason === "host-key-changed"),
      );
      assert.equal(refused.offeredKey, h.sshd.fingerprint);
      assert.equal(refused.entries, 0);
      assert.equal(sink.ids.size, 0, "nothing read from a host whose key changed");
      const row = await waitFor("vms status", () => {
        const d = new DatabaseSync(db, { readOnly: true });
        try {
          return d.prepare(`SELECT status, status_reason FROM vms WHERE host = 'rekeyed'`).get() as
            | { status: string; status_reason: string }
            | undefined;
        } finally {
          d.close();
        }
      });
      assert.deepEqual({ ...row }, { status: "unreachable", status_reason: "host key changed" });
      await waitFor("the offered key in the registry", () => {
        const d = new DatabaseSync(db, { readOnly: true });
        try {
          return (d.prepare(`SELECT offered_key FROM monitored_hosts`).get() as {
            offered_key: string;
          })
            ?.offered_key === h.sshd.fingerprint;
        } finally {
          d.close();
        }
      });
      assert.equal(await cli("hosts", "accept-key", "rekeyed", "--db", db), 0);
      await waitFor("the entries after accept-key", () => sink.ids.size >= 50, 30_000);
      await waitFor("vms status ok", () => {
        const d = new DatabaseSync(db, { readOnly: true });
        try {
          return (d.prepare(`SELECT status FROM vms WHERE host = 'rekeyed'`).get() as {
            status: string;
          })
            ?.status === "ok";
        } finally {
          d.close();
        }
      });
      assert.equal(sink.repeats, 0);
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "sshJournalSource() says sudo refused, and journalctl missing, without reading",
  ignore,
  async fn() {
    const w = await world();
    try {
      const h = await monitored(w, "nosudo", 10);
      const gone = await monitored(w, "nojournal", 10);
      const { sink, source } = await run(w, {
        hosts: [{ ...h.host, user: NO_SUDO_USER }, { ...gone.host, name: "nojournal" }],
      });
      await waitFor("the refusal and the other host's entries", () => {
        const s = source.hosts();
        return s.find((x) => x.name === "nosudo")?.reason === "sudo-refused" &&
          sink.ids.size >= 10;
      });
      assert.match(
        source.hosts().find((x) => x.name === "nosudo")?.lastError ?? "",
        /password is required/,
      );
      assert.equal(sink.ids.size, 10, "only the host with sudo was read");
      await w.cleanups.pop()?.();
      const { source: other } = await run(
        w,
        {
          hosts: [{ ...gone.host, name: "nojournal" }],
          sudo: false,
          journalctl: "no-such-journalctl",
        },
        [],
        `${w.dir}/state2`,
      );
      await waitFor("journalctl missing", () => other.hosts()[0]?.reason === "journalctl-missing");
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name:
    "sshJournalSource() refuses a host added without its key as 'host key unknown', records the offered key, and reads after accept-key",
  ignore,
  async fn() {
    const w = await world();
    try {
      const h = await monitored(w, "newcomer", 25);
      const db = `${w.dir}/siem.db`;
      const { sink, source } = await run(w, { registry: db, registryPollMs: 100 });
      const cli = async (...args: string[]) => {
        let code = -1;
        await buildProgram((c) => (code = c)).parseAsync(args, { from: "user" });
        return code;
      };
      assert.equal(
        await cli(
          "hosts",
          "add",
          "newcomer",
          "--db",
          db,
          "--address",
          "127.0.0.1",
          "--port",
          String(h.sshd.port),
          "--user",
          JOURNAL_USER,
          "--key",
          w.keyFile,
          "--arg",
          `--directory=${h.journal.dir}`,
        ),
        0,
      );
      const refused = await waitFor(
        "the refusal",
        () => source.hosts().find((s) => s.reason === "host-key-unknown"),
      );
      assert.equal(refused.offeredKey, h.sshd.fingerprint);
      assert.equal(sink.ids.size, 0);
      await waitFor("the offered key in the registry", () => {
        const d = new DatabaseSync(db, { readOnly: true });
        try {
          return (d.prepare(`SELECT offered_key FROM monitored_hosts`).get() as {
            offered_key: string | null;
          })?.offered_key === h.sshd.fingerprint;
        } finally {
          d.close();
        }
      });
      assert.equal(await cli("hosts", "accept-key", "newcomer", "--db", db), 0);
      await waitFor("the entries after accept-key", () => sink.ids.size >= 25, 30_000);
    } finally {
      await w.close();
    }
  },
});
