import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import { journaldSource, type JournaldSourceOptions } from "../../sources/journald.ts";
import { notFound, peer, runWithDeadline, which } from "../_peers.ts";

const remote = which("/lib/systemd/systemd-journal-remote", "systemd-journal-remote") ??
  which("/usr/lib/systemd/systemd-journal-remote", "systemd-journal-remote");
if (!remote) {
  notFound(
    "systemd-journal-remote",
    "apt-get install systemd-journal-remote, as .ci/run does",
  );
}
const journalctl = peer("journalctl", "systemd");
const missing = !remote ? "systemd-journal-remote" : !journalctl ? "journalctl" : undefined;

const encoder = new TextEncoder();

/** One entry in the journal export format; a `Uint8Array` value is written as a binary field. */
function exportEntry(fields: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === "string") {
      parts.push(encoder.encode(`${name}=${value}\n`));
    } else {
      const size = new Uint8Array(8);
      new DataView(size.buffer).setBigUint64(0, BigInt(value.length), true);
      parts.push(encoder.encode(`${name}\n`), size, value, encoder.encode("\n"));
    }
  }
  parts.push(encoder.encode("\n"));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sshEntry(i: number, unit = "ssh.service"): Uint8Array {
  return exportEntry({
    __REALTIME_TIMESTAMP: String(1_700_000_000_000_000 + i * 1_000_000),
    __MONOTONIC_TIMESTAMP: String(1_000_000 + i),
    _BOOT_ID: "0123456789abcdef0123456789abcdef",
    MESSAGE: `Accepted publickey for user${i} from 10.0.0.${i % 250} port 22 ssh2`,
    _HOSTNAME: "vm-7",
    SYSLOG_IDENTIFIER: unit === "ssh.service" ? "sshd" : "cron",
    SYSLOG_FACILITY: "10",
    _PID: String(4000 + i),
    PRIORITY: String(i % 8),
    _SYSTEMD_UNIT: unit,
  });
}

/** Appends entries to `<dir>/remote.journal` with systemd-journal-remote. */
async function writeJournal(dir: string, entries: Uint8Array[]): Promise<void> {
  const input = `${dir}/input.export`;
  const size = entries.reduce((n, e) => n + e.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const e of entries) {
    all.set(e, at);
    at += e.length;
  }
  await Deno.writeFile(input, all);
  const out = await runWithDeadline(remote!, [`--output=${dir}/journal/remote.journal`, input], {
    timeoutMs: 30_000,
    what: "systemd-journal-remote writing a journal",
  });
  assert.equal(out.code, 0, out.stderr);
}

function collector(): Sink & { events: LogEvent[] } {
  const events: LogEvent[] = [];
  return {
    kind: "collect",
    events,
    open: () => Promise.resolve(),
    write(batch) {
      events.push(...batch);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

async function run(options: JournaldSourceOptions, stateDir: string) {
  const sink = collector();
  const engine = new Engine(
    definePipeline({
      sources: {
        journal: journaldSource({ host: "central", journalctl: journalctl!, ...options }),
      },
      paths: [{ from: ["journal"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("warn") },
  );
  await engine.start();
  return { engine, sink };
}

async function until(what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "journaldSource() reads a journal written by systemd-journal-remote and resumes by cursor",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(`${dir}/journal`);
    const entries: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      entries.push(sshEntry(i, i % 4 === 3 ? "cron.service" : "ssh.service"));
    }
    // A binary message that is not valid UTF-8 and holds a newline.
    entries.push(exportEntry({
      __REALTIME_TIMESTAMP: "1700000100000000",
      _BOOT_ID: "0123456789abcdef0123456789abcdef",
      MESSAGE: Uint8Array.from([98, 97, 100, 10, 0xff, 0xfe, 33]),
      _HOSTNAME: "vm-7",
      SYSLOG_IDENTIFIER: "sshd",
      _SYSTEMD_UNIT: "ssh.service",
      PRIORITY: "4",
    }));
    await writeJournal(dir, entries);
    const options = { directory: `${dir}/journal`, matches: ["_SYSTEMD_UNIT=ssh.service"] };

    const first = await run(options, `${dir}/state`);
    try {
      await until("16 entries", () => first.sink.events.length === 16);
      const e = first.sink.events[0]!;
      assert.equal(e.message, "Accepted publickey for user0 from 10.0.0.0 port 22 ssh2");
      assert.equal(e.host, "vm-7");
      assert.equal(e.program, "sshd");
      assert.equal(e.pid, "4000");
      assert.equal(e.severity, 0);
      assert.equal(e.facility, 10);
      assert.equal(e.timestamp, 1_700_000_000_000);
      assert.equal((e.fields.journald as Record<string, unknown>)._SYSTEMD_UNIT, "ssh.service");
      assert.match(e.id!, /^central:journald:[0-9a-f]{12}:[0-9a-f]{16}$/);
      const bin = first.sink.events[15]!;
      assert.equal(bin.message, "bad\n\uFFFD\uFFFD!");
      assert.equal(bin.fields.sluice_invalid_utf8, true);
      assert.ok(first.sink.events.every((x) => x.program === "sshd"), "only the matched unit");

      // Following: entries written while the source runs arrive.
      await writeJournal(dir, [sshEntry(100), sshEntry(101, "cron.service")]);
      await until("the followed entry", () => first.sink.events.length === 17);
      assert.equal(first.sink.events[16]!.pid, "4100");
    } finally {
      await first.engine.stop();
    }

    await writeJournal(dir, [sshEntry(200), sshEntry(201)]);
    const second = await run(options, `${dir}/state`);
    try {
      await until("two new entries", () => second.sink.events.length === 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(second.sink.events.map((x) => x.pid), ["4200", "4201"]);
      const ids = [...first.sink.events, ...second.sink.events].map((x) => x.id!);
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual([...ids].sort(), ids, "ids grow with the journal");
    } finally {
      await second.engine.stop();
    }

    // A journal file read to its end: the source finishes.
    const whole = await run({ file: `${dir}/journal/remote.journal` }, `${dir}/state-file`);
    await until("the journal file read to its end", () => whole.sink.events.length === 25);
    await Promise.race([
      whole.engine.done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("the source did not finish the file in 15 s")), 15_000)
      ),
    ]).finally(() => whole.engine.stop());
    assert.equal(whole.sink.events.length, 21 + 2 + 2);
  },
});
