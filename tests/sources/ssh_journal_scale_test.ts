/**
 * sshJournalSource at scale against real peers: 3 hosts at once, a cut SSH
 * session mid-stream, and a kill -9 of sluice plus a cut of every session,
 * each entry stored exactly once.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { LogEvent } from "../../core/event.ts";
import type { Sink } from "../../core/types.ts";
import { waitFor } from "../_peers.ts";
import { ignore, monitored, PER_HOST, run, world } from "../fixtures/journal/world.ts";

Deno.test({
  name:
    `sshJournalSource() pulls 3 hosts at once, ${PER_HOST} entries each and more appended while following, each exactly once`,
  ignore,
  async fn() {
    const w = await world();
    try {
      const hosts = await Promise.all(
        ["alpha", "bravo", "charlie"].map((n) => monitored(w, n, PER_HOST)),
      );
      const { sink, source } = await run(w, { hosts: hosts.map((h) => h.host), maxBatch: 2000 });
      await waitFor(
        `${3 * PER_HOST} entries from 3 hosts`,
        () => sink.ids.size >= 3 * PER_HOST,
        Math.max(60_000, PER_HOST * 3),
        100,
      );
      // Appended while journalctl follows.
      await Promise.all(hosts.map((h) => h.journal.append(500)));
      await waitFor(
        "the appended entries",
        () => sink.ids.size >= 3 * (PER_HOST + 500),
        60_000,
        50,
      );
      assert.equal(sink.repeats, 0);
      assert.equal(sink.ids.size, 3 * (PER_HOST + 500));
      const status = source.hosts();
      assert.deepEqual(status.map((s) => [s.name, s.connected, s.entries]).sort(), [
        ["alpha", true, PER_HOST + 500],
        ["bravo", true, PER_HOST + 500],
        ["charlie", true, PER_HOST + 500],
      ]);
      const e = sink.events[0] as LogEvent;
      assert.ok(["alpha", "bravo", "charlie"].includes(e.host as string));
      const journal = e.fields.journal as Record<string, unknown>;
      assert.equal(journal._HOSTNAME, `${e.host}-self`, "the host's own name is kept");
      assert.equal(journal.MESSAGE, undefined);
      assert.equal(e.program, "sshd");
      assert.ok(e.pid);
      assert.equal(e.timestamp, 1_700_000_000_000);
      assert.match(e.message, /^(Failed password|Accepted publickey)/);
      assert.match(e.id as string, new RegExp(`^${e.host}:`));
    } finally {
      await w.close();
    }
  },
});

for (const worker of [true, false]) {
  Deno.test({
    name:
      `sshJournalSource() resumes exactly after the last entry when the SSH session is cut mid-stream (SSH ${
        worker ? "in a worker thread" : "in the main thread"
      })`,
    ignore,
    fn: () => cutMidStream(worker),
  });
}

async function cutMidStream(worker: boolean): Promise<void> {
  const w = await world();
  try {
    const total = 30_000;
    const h = await monitored(w, "cut", total);
    let slow = true;
    // A sink slow enough that the cut lands mid-stream.
    const brake: Sink = {
      kind: "brake",
      maxBatch: 500,
      queueSize: 1000,
      open: () => Promise.resolve(),
      write: () => slow ? new Promise((r) => setTimeout(r, 20)) : Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const { sink, source, stats } = await run(
      w,
      { hosts: [h.host], maxBatch: 500, worker },
      [brake],
    );
    await waitFor("some entries before the cut", () => sink.ids.size >= 3000, 60_000);
    assert.ok(sink.ids.size < total, "the cut must land mid-stream");
    assert.ok((await h.sshd.cutSessions()) > 0, "a session to cut");
    slow = false;
    await waitFor(
      "every entry after the cut",
      () => {
        if (sink.ids.size >= total) return true;
        throw new Error(`${sink.ids.size} so far; ${JSON.stringify(source.hosts())}`);
      },
      60_000,
      50,
    );
    await waitFor(
      "a second connection",
      () => (stats.counters.connect_attempts ?? 0) >= 2,
      10_000,
    );
    assert.equal(sink.repeats, 0);
    assert.equal(sink.ids.size, total);
    assert.equal(source.hosts()[0]?.entries, total);
  } finally {
    await w.close();
  }
}

Deno.test({
  name:
    `sshJournalSource() stores each entry of 3 hosts x ${PER_HOST} exactly once across a kill -9 of sluice and a cut of every SSH session, both mid-stream`,
  ignore,
  async fn() {
    const w = await world();
    let child: Deno.ChildProcess | undefined;
    const killChild = async () => {
      if (!child) return;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      child = undefined;
    };
    try {
      const per = PER_HOST;
      const names = ["kilo", "lima", "mike"];
      const total = names.length * per;
      const hosts = await Promise.all(names.map((n) => monitored(w, n, per)));
      const db = `${w.dir}/pull.db`;
      const start = () => {
        child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            new URL("../../runner/main.ts", import.meta.url).pathname,
            "--state-dir",
            `${w.dir}/state`,
            "--log-level",
            "error",
            new URL("../fixtures/journal/pull_pipeline.ts", import.meta.url).pathname,
          ],
          env: {
            SLUICE_TEST_PULL_HOSTS: JSON.stringify(hosts.map((h) => h.host)),
            SLUICE_TEST_PULL_DB: db,
          },
          stdin: "null",
          stdout: "null",
          stderr: "inherit",
        }).spawn();
      };
      const rows = () => {
        try {
          const d = new DatabaseSync(db, { readOnly: true });
          try {
            return d.prepare(`SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events`)
              .get() as {
                n: number;
                ids: number;
              };
          } finally {
            d.close();
          }
        } catch {
          return { n: 0, ids: 0 };
        }
      };
      start();
      await waitFor("some rows before the kill", () => rows().n >= 4000, 120_000, 20);
      await killChild();
      const before = rows().n;
      assert.ok(before < total, `the kill must land mid-stream (${before} rows)`);
      start();
      // Then every host's SSH session is cut while the restarted sluice reads.
      const cutAt = before + Math.min(10_000, Math.floor((total - before) / 4));
      await waitFor("rows after the restart", () => rows().n >= cutAt, 120_000, 10);
      let cut = 0;
      for (const h of hosts) cut += await h.sshd.cutSessions();
      const atCut = rows().n;
      assert.ok(cut >= names.length, `a session per host to cut (${cut})`);
      assert.ok(atCut < total, `the cut must land mid-stream (${atCut} rows)`);
      await waitFor(
        "every row after the restart and the cut",
        () => rows().n >= total,
        Math.max(120_000, total),
        100,
      );
      // Entries appended after both too.
      await Promise.all(hosts.map((h) => h.journal.append(100)));
      await waitFor("the appended rows", () => rows().n >= total + 300, 60_000, 100);
      await killChild();
      const after = rows();
      assert.equal(after.n, total + 300);
      assert.equal(after.ids, after.n);
    } finally {
      await killChild();
      await w.close();
    }
  },
});
