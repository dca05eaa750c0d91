/**
 * sshJournalSource's two remote commands, `journalctl -o export` (the
 * default) and `-o json`, give the same events over a real SSH session
 * (OpenSSH's sshd, a user whose sudoers line allows only journalctl, a
 * journal written by systemd-journal-remote), odd values among them; and a
 * wrong `output` is refused naming it.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { LogEvent } from "../../core/event.ts";
import { sshJournalSource } from "../../sources/ssh_journal.ts";
import { waitFor } from "../_peers.ts";
import { exportEntry, sshdEntry } from "../fixtures/journal/journal.ts";
import { ignore, monitored, run, world } from "../fixtures/journal/world.ts";

const ENTRIES = 600;

/** Every 40th entry carries what the two formats write differently. */
function entry(i: number): Uint8Array {
  if (i % 40 !== 5) return sshdEntry(i);
  return exportEntry({
    __REALTIME_TIMESTAMP: String(1_700_000_000_000_000 + i * 1000),
    // Of the same boot as sshdEntry's (`--follow` shows one boot's entries).
    __MONOTONIC_TIMESTAMP: String(1_000_000 + i),
    _BOOT_ID: "0123456789abcdef0123456789abcdef",
    MESSAGE: `\x1b[31mFailed password\x1b[0m for x from 198.51.100.${
      i % 250
    } port 22 ssh2\nsecond line`,
    _HOSTNAME: "odd",
    SYSLOG_IDENTIFIER: "sshd",
    X_BYTES: Uint8Array.of(0xff, 0x00, 0x41),
    X_UNICODE: "héllo ☃",
    X_TAB: "a\tb",
  });
}

Deno.test("sshJournalSource() refuses an output other than export or json", () => {
  const h = { name: "vm1", user: "u", privateKeyFile: "k" };
  assert.throws(
    () => sshJournalSource({ hosts: [h], output: "short" as "json" }),
    /"output" must be "export" or "json", got "short"/,
  );
});

Deno.test({
  name: "sshJournalSource() gives the same events with output export (default) and json",
  ignore,
  async fn() {
    const w = await world();
    try {
      const h = await monitored(w, "both");
      await h.journal.append(ENTRIES, entry);
      const read = async (output: "export" | "json" | undefined): Promise<LogEvent[]> => {
        const r = await run(
          w,
          { hosts: [h.host], ...(output ? { output } : {}) },
          [],
          `${w.dir}/state-${output ?? "default"}`,
        );
        r.sink.keep = ENTRIES;
        await waitFor(
          `${ENTRIES} entries over SSH with ${output ?? "the default"}`,
          () => r.sink.ids.size >= ENTRIES,
          60_000,
        );
        await r.stop();
        assert.equal(r.sink.repeats, 0);
        assert.equal(r.stats.counters.unparsed_entries ?? 0, 0);
        // The receive time is the only thing that differs between two reads.
        return r.sink.events.map((e) => ({ ...e, receivedAt: 0 }));
      };
      const exported = await read(undefined);
      const json = await read("json");
      assert.equal(exported.length, ENTRIES);
      assert.deepEqual(exported, json);
      const odd = exported.find((e) =>
        e.fields.journal && e.host === "both" &&
        e.message.startsWith("Failed password for x")
      );
      assert.ok(odd, "the odd entries came through, colours stripped");
      assert.equal(
        odd.message,
        "Failed password for x from 198.51.100.5 port 22 ssh2\nsecond line",
      );
      const fields = odd.fields.journal as Record<string, unknown>;
      assert.deepEqual(fields.X_BYTES, [0xff, 0x00, 0x41]);
      assert.equal(fields.X_UNICODE, "héllo ☃");
      assert.equal(fields.X_TAB, "a\tb");
    } finally {
      await w.close();
    }
  },
});
