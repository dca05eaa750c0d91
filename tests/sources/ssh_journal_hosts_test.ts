/**
 * sshJournalSource's hosts over time against real peers: backing off from a
 * host that is down, `sluice hosts add` and `remove` while running, and the
 * central example pulling hosts from its registry into auth_events.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { buildProgram } from "../../runner/cli.ts";
import { waitFor } from "../_peers.ts";
import { startRunner } from "../examples/_procs.ts";
import { exportEntry, makeJournal } from "../fixtures/journal/journal.ts";
import { freePort, JOURNAL_USER, startJournalSshd } from "../fixtures/journal/ssh_host.ts";
import { makeKeyPair } from "../fixtures/ssh/keys.ts";
import { ignore, monitored, run, world } from "../fixtures/journal/world.ts";

Deno.test({
  name:
    "sshJournalSource() backs off from a host that is down, without a busy loop, and recovers when it comes up",
  ignore,
  async fn() {
    const w = await world();
    try {
      const journal = await makeJournal(w.dir, "journal-down");
      await journal.append(100);
      const port = freePort();
      const hostKey = makeKeyPair();
      const { sink, source, stats } = await run(w, {
        hosts: [{
          name: "down",
          address: "127.0.0.1",
          port,
          user: JOURNAL_USER,
          privateKeyFile: w.keyFile,
          hostKeyFingerprint: hostKey.fingerprint,
          args: [`--directory=${journal.dir}`],
        }],
        initialBackoffMs: 100,
        maxBackoffMs: 1600,
      });
      const delays: number[] = [];
      await waitFor(
        "five refused attempts",
        () => {
          const s = source.hosts()[0];
          if (s?.state === "waiting" && s.retryInMs && delays.at(-1) !== s.retryInMs) {
            delays.push(s.retryInMs);
          }
          return (s?.attempts ?? 0) >= 5;
        },
        30_000,
        5,
      );
      assert.equal(source.hosts()[0]?.reason, "unreachable");
      // Each wait longer than the one before (jitter is ±30% of a doubling delay).
      assert.ok(delays.length >= 3, `delays seen: ${delays}`);
      assert.ok((delays.at(-1) as number) > (delays[0] as number) * 2, `delays seen: ${delays}`);
      assert.ok((stats.counters.connect_attempts ?? 0) < 10, "no busy loop");
      const sshd = await startJournalSshd(`${w.dir}/sshd-down`, w.publicKey, { port, hostKey });
      w.cleanups.push(() => sshd.close());
      await waitFor("the entries once the host is up", () => sink.ids.size >= 100, 30_000);
      assert.equal(source.hosts()[0]?.connected, true);
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name: "sshJournalSource() picks up `sluice hosts add` and `remove` while running",
  ignore,
  async fn() {
    const w = await world();
    try {
      const a = await monitored(w, "first", 20);
      const b = await monitored(w, "second", 30);
      const db = `${w.dir}/siem.db`;
      const { sink, source } = await run(w, { hosts: [a.host], registry: db, registryPollMs: 100 });
      await waitFor("the configured host", () => sink.ids.size >= 20);
      let code = -1;
      await buildProgram((c) => (code = c)).parseAsync([
        "hosts",
        "add",
        "second",
        "--db",
        db,
        "--address",
        "127.0.0.1",
        "--port",
        String(b.sshd.port),
        "--user",
        JOURNAL_USER,
        "--key",
        w.keyFile,
        "--fingerprint",
        b.sshd.fingerprint,
        "--arg",
        `--directory=${b.journal.dir}`,
      ], { from: "user" });
      assert.equal(code, 0);
      await waitFor("the added host's entries", () => sink.ids.size >= 50);
      await buildProgram((c) => (code = c)).parseAsync(["hosts", "remove", "second", "--db", db], {
        from: "user",
      });
      assert.equal(code, 0);
      await waitFor("the removal", () => source.hosts().length === 1);
      await b.journal.append(10);
      await a.journal.append(5);
      await waitFor("the kept host's new entries", () => sink.ids.size >= 55);
      assert.equal(sink.ids.size, 55, "nothing more from the removed host");
    } finally {
      await w.close();
    }
  },
});

Deno.test({
  name:
    "central --pull-hosts on: sshd entries pulled over SSH land in auth_events under the host's name and fire the brute-force rule",
  ignore,
  async fn() {
    const w = await world();
    try {
      const h = await monitored(w, "appliance");
      const now = Date.now() * 1000;
      await h.journal.append(12, (i) =>
        exportEntry({
          __REALTIME_TIMESTAMP: String(now + i * 1000),
          __MONOTONIC_TIMESTAMP: String(1000 + i),
          _BOOT_ID: "0123456789abcdef0123456789abcdef",
          MESSAGE: `\x1b[31mFailed password for root from 198.51.100.9 port ${
            40000 + i
          } ssh2\x1b[0m`,
          _HOSTNAME: "whatever-it-calls-itself",
          SYSLOG_IDENTIFIER: "sshd",
          _PID: String(700 + i),
          PRIORITY: "5",
        }));
      const data = `${w.dir}/data`;
      const db = `${data}/siem.db`;
      await Deno.mkdir(data, { recursive: true });
      let code = -1;
      await buildProgram((c) => (code = c)).parseAsync([
        "hosts",
        "add",
        "appliance",
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
        h.sshd.fingerprint,
        "--arg",
        `--directory=${h.journal.dir}`,
      ], { from: "user" });
      assert.equal(code, 0);
      const runner = startRunner([
        "--state-dir",
        `${w.dir}/state`,
        "--log-level",
        "warn",
        new URL("../../examples/pipeline.central.ts", import.meta.url).pathname,
        "--data",
        data,
        "--json-port",
        String(freePort()),
        "--relp-port",
        String(freePort()),
        "--syslog-port",
        String(freePort()),
        "--ui",
        "off",
        "--sqlite-worker",
        "off",
        "--pull-hosts",
        "on",
      ]);
      w.cleanups.push(() => runner.kill());
      await runner.waitFor(/RELP\s+127\.0\.0\.1:\d+/, 120_000);
      const query = (sql: string) => {
        try {
          const d = new DatabaseSync(db, { readOnly: true });
          try {
            return d.prepare(sql).all() as Array<Record<string, unknown>>;
          } finally {
            d.close();
          }
        } catch {
          return [];
        }
      };
      await waitFor(
        "12 pulled auth_events",
        () => {
          if (
            query(`SELECT count(*) AS n FROM auth_events WHERE host = 'appliance'`)[0]?.n === 12
          ) {
            return true;
          }
          throw new Error(runner.stderr().slice(-2000));
        },
        60_000,
        100,
      );
      const ev = query(`SELECT * FROM auth_events WHERE host = 'appliance' LIMIT 1`)[0] ?? {};
      assert.equal(ev.src_ip, "198.51.100.9");
      assert.ok(!String(ev.message).includes("\x1b"), "no ANSI escapes");
      await waitFor(
        "the brute-force alert",
        () => query(`SELECT rule FROM alerts WHERE host = 'appliance'`).length > 0,
        30_000,
        100,
      );
      await waitFor(
        "vms status ok",
        () => query(`SELECT status FROM vms WHERE host = 'appliance'`)[0]?.status === "ok",
        30_000,
        100,
      );
      assert.equal(await runner.stop(), 0);
    } finally {
      await w.close();
    }
  },
});
