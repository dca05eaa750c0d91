/**
 * sshJournalSource against real peers: OpenSSH's sshd on loopback, a user
 * whose sudoers line allows only journalctl, journals written by
 * systemd-journal-remote and read with `journalctl --directory`.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { vmsSink } from "../../siem/vms.ts";
import { journaldSource } from "../../sources/journald.ts";
import {
  type SshJournalHost,
  sshJournalSource,
  type SshJournalSourceOptions,
} from "../../sources/ssh_journal.ts";
import { classifyExit, stripAnsi } from "../../sources/_ssh_journal_host.ts";
import { buildProgram } from "../../runner/cli.ts";
import { skipLine, waitFor } from "../_peers.ts";
import { startRunner } from "../examples/_procs.ts";
import { exportEntry, journalRemotePath, makeJournal } from "../fixtures/journal/journal.ts";
import {
  ensureJournalUsers,
  freePort,
  JOURNAL_USER,
  journalHostMissing,
  NO_SUDO_USER,
  startJournalSshd,
} from "../fixtures/journal/ssh_host.ts";
import { makeKeyPair, writeClientKey } from "../fixtures/ssh/keys.ts";

const missing = journalHostMissing() ??
  (journalRemotePath()
    ? undefined
    : "systemd-journal-remote (apt-get install systemd-journal-remote)");
if (missing) skipLine(`ssh journal tests: ${missing}`, "install it, as .ci/run does");
const ignore = missing !== undefined;
/** Entries per host in the 3-host tests (following; kill -9 and cut): SLUICE_SSH_JOURNAL_ENTRIES, or 100,000, as the issue sets. */
const PER_HOST = Number(Deno.env.get("SLUICE_SSH_JOURNAL_ENTRIES") ?? 100_000);
const silent = createLogger("silent");

/** A sink that keeps every event id it was given and counts repeats. */
function collector(): Sink & {
  ids: Set<string>;
  repeats: number;
  events: LogEvent[];
  keep: number;
} {
  const sink = {
    kind: "collect",
    ids: new Set<string>(),
    repeats: 0,
    events: [] as LogEvent[],
    keep: 50,
    open: () => Promise.resolve(),
    write(batch: readonly LogEvent[]) {
      for (const e of batch) {
        if (sink.ids.has(e.id as string)) sink.repeats++;
        else sink.ids.add(e.id as string);
        if (sink.events.length < sink.keep) sink.events.push(e);
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return sink;
}

interface World {
  dir: string;
  keyFile: string;
  publicKey: string;
  close(): Promise<void>;
  cleanups: Array<() => Promise<void> | void>;
}

async function world(): Promise<World> {
  await ensureJournalUsers();
  const dir = await Deno.makeTempDir({ prefix: "sluice-ssh-journal-" });
  // sshd reads its authorized_keys as the logging-in user.
  await Deno.chmod(dir, 0o755);
  const key = await writeClientKey(dir);
  const cleanups: Array<() => Promise<void> | void> = [];
  return {
    dir,
    keyFile: key.file,
    publicKey: key.publicKey,
    cleanups,
    async close() {
      for (const c of cleanups.reverse()) await c();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A monitored host: its journal, its sshd, and the source's host entry for it. */
async function monitored(w: World, name: string, entries = 0) {
  const journal = await makeJournal(w.dir, `journal-${name}`, `${name}-self`);
  if (entries > 0) await journal.append(entries);
  const sshd = await startJournalSshd(`${w.dir}/sshd-${name}`, w.publicKey);
  w.cleanups.push(() => sshd.close());
  const host: SshJournalHost = {
    name,
    address: "127.0.0.1",
    port: sshd.port,
    user: JOURNAL_USER,
    privateKeyFile: w.keyFile,
    hostKeyFingerprint: sshd.fingerprint,
    args: [`--directory=${journal.dir}`],
  };
  return { journal, sshd, host };
}

async function run(
  w: World,
  options: SshJournalSourceOptions,
  sinks: Sink[] = [],
  stateDir = `${w.dir}/state`,
) {
  const sink = collector();
  const source = sshJournalSource({ initialBackoffMs: 100, maxBackoffMs: 2000, ...options });
  const engine = new Engine(
    definePipeline({
      sources: { pull: source },
      paths: [{ from: ["pull"], to: [sink, ...sinks] }],
    }),
    { stateDir, logger: silent },
  );
  await engine.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await engine.stop();
  };
  w.cleanups.push(stop);
  return { engine, sink, source, stats: engine.stats.get("pull")!, stop };
}

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
