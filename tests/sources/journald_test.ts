import assert from "node:assert/strict";
import { Engine } from "../../core/engine.ts";
import type { LogEvent } from "../../core/event.ts";
import { createLogger } from "../../core/log.ts";
import { definePipeline } from "../../core/pipeline.ts";
import type { Sink } from "../../core/types.ts";
import {
  journaldSource,
  type JournaldSourceOptions,
  journalEntryToEvent,
} from "../../sources/journald.ts";

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

async function until(what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function entry(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    __CURSOR: `s=0123456789abcdef0123456789abcdef;i=${i.toString(16)};b=ff;m=1;t=2;x=3`,
    __REALTIME_TIMESTAMP: String(1_700_000_000_000_000 + i * 1000),
    MESSAGE: `message ${i}`,
    _HOSTNAME: "vm1",
    SYSLOG_IDENTIFIER: "sshd",
    _PID: String(100 + i),
    PRIORITY: "6",
    ...extra,
  };
}

/**
 * Writes a stand-in for journalctl: it records its arguments, prints the
 * first entries file (or the second when started with a cursor) and then
 * either exits or, like `journalctl -f`, keeps running.
 */
async function fakeJournalctl(
  dir: string,
  first: string,
  second: string,
  keepRunning: boolean,
): Promise<string> {
  await Deno.writeTextFile(`${dir}/first.json`, first);
  await Deno.writeTextFile(`${dir}/second.json`, second);
  const script = `${dir}/journalctl`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh
echo "$*" >> "${dir}/args"
case "$*" in
  *--after-cursor=*) cat "${dir}/second.json" ;;
  *) cat "${dir}/first.json" ;;
esac
${keepRunning ? "exec sleep 30" : "exit 0"}
`,
  );
  await Deno.chmod(script, 0o755);
  return script;
}

async function run(options: JournaldSourceOptions, stateDir: string) {
  const sink = collector();
  const engine = new Engine(
    definePipeline({
      sources: { journal: journaldSource({ host: "h", ...options }) },
      paths: [{ from: ["journal"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("silent") },
  );
  await engine.start();
  return { engine, sink, stats: engine.stats.get("journal")! };
}

const lines = (entries: Record<string, unknown>[]) =>
  entries.map((e) => JSON.stringify(e) + "\n").join("");

Deno.test("journalEntryToEvent() maps message, host, program, pid, priority and time", () => {
  const e = journalEntryToEvent(
    entry(31, { SYSLOG_FACILITY: "4", _SYSTEMD_UNIT: "ssh.service" }),
    "local",
  )!;
  assert.equal(e.message, "message 31");
  assert.equal(e.host, "vm1");
  assert.equal(e.program, "sshd");
  assert.equal(e.pid, "131");
  assert.equal(e.severity, 6);
  assert.equal(e.facility, 4);
  assert.equal(e.timestamp, 1_700_000_000_000_000 / 1000 + 31);
  assert.equal(e.id, "local:journald:0123456789ab:000000000000001f");
  const kept = e.fields.journald as Record<string, unknown>;
  assert.equal(kept._SYSTEMD_UNIT, "ssh.service");
  assert.equal(kept.MESSAGE, undefined, "the message is not kept twice");
});

Deno.test("journalEntryToEvent() decodes binary messages and flags invalid UTF-8", () => {
  const ok = journalEntryToEvent(entry(1, { MESSAGE: [104, 105, 10, 195, 169] }), "h")!;
  assert.equal(ok.message, "hi\né");
  assert.equal(ok.fields.sluice_invalid_utf8, undefined);
  const bad = journalEntryToEvent(entry(2, { MESSAGE: [104, 0xff, 105] }), "h", null)!;
  assert.equal(bad.message, "h\uFFFDi");
  assert.equal(bad.fields.sluice_invalid_utf8, true);
  assert.equal(bad.fields.journald, undefined);
  assert.equal(journalEntryToEvent({ MESSAGE: "no cursor" }, "h"), undefined);
  const empty = journalEntryToEvent(entry(3, { MESSAGE: null, PRIORITY: "9" }), "h")!;
  assert.equal(empty.message, "");
  assert.equal(empty.severity, undefined);
});

Deno.test("journaldSource() rejects bad matches and options with a message naming them", () => {
  assert.throws(
    () => journaldSource({ matches: ["ssh.service"] }),
    /journaldSource: each match must be "FIELD=value".*got "ssh.service"/,
  );
  assert.throws(() => journaldSource({ matches: ["_unit=x"] }), TypeError);
  assert.throws(() => journaldSource({ startAt: "now" as "end" }), /"startAt"/);
  assert.throws(() => journaldSource({ maxLineBytes: 10 }), RangeError);
  journaldSource({ matches: ["_SYSTEMD_UNIT=ssh.service", "+", "SYSLOG_IDENTIFIER=sshd"] });
});

Deno.test("journaldSource() passes matches and files to journalctl and resumes after the acknowledged cursor", async () => {
  const dir = await Deno.makeTempDir();
  const script = await fakeJournalctl(
    dir,
    lines([entry(1), entry(2), entry(3)]),
    lines([entry(4)]),
    false,
  );
  const options: JournaldSourceOptions = {
    journalctl: script,
    file: "/var/log/journal/x.journal",
    matches: ["_SYSTEMD_UNIT=ssh.service"],
  };
  const first = await run(options, `${dir}/state`);
  await first.engine.done;
  await first.engine.stop();
  assert.deepEqual(first.sink.events.map((e) => e.message), [
    "message 1",
    "message 2",
    "message 3",
  ]);
  const second = await run(options, `${dir}/state`);
  await second.engine.done;
  await second.engine.stop();
  assert.deepEqual(second.sink.events.map((e) => e.message), ["message 4"]);
  const args = (await Deno.readTextFile(`${dir}/args`)).trim().split("\n");
  assert.equal(args.length, 2);
  assert.match(args[0]!, /--output=json/);
  assert.doesNotMatch(args[0]!, /--follow|--after-cursor/);
  assert.match(args[0]!, /--file=\/var\/log\/journal\/x\.journal _SYSTEMD_UNIT=ssh\.service$/);
  assert.ok(args[1]!.includes(`--after-cursor=${entry(3).__CURSOR}`));
});

Deno.test("journaldSource() starts journalctl again after it exits, after the last entry it gave", async () => {
  const dir = await Deno.makeTempDir();
  // The first journalctl exits after two entries; the second, started with
  // the cursor, gives the third and keeps following.
  const script = await fakeJournalctl(dir, lines([entry(1), entry(2)]), lines([entry(3)]), false);
  const text = await Deno.readTextFile(script);
  await Deno.writeTextFile(
    script,
    text.replace("exit 0", `case "$*" in *--after-cursor=*) exec sleep 30 ;; esac\nexit 0`),
  );
  const { engine, sink, stats } = await run({ journalctl: script }, `${dir}/state`);
  try {
    await until("three entries", () => sink.events.length === 3);
    assert.deepEqual(sink.events.map((e) => e.message), ["message 1", "message 2", "message 3"]);
    assert.equal(stats.errors, 1, "the unexpected exit is counted");
    const args = (await Deno.readTextFile(`${dir}/args`)).trim().split("\n");
    assert.match(args[0]!, /--follow.*--no-tail/);
    assert.ok(args[1]!.includes(`--after-cursor=${entry(2).__CURSOR}`));
  } finally {
    await engine.stop();
  }
});

Deno.test("journaldSource() counts output that is not journal JSON and goes on", async () => {
  const dir = await Deno.makeTempDir();
  const script = await fakeJournalctl(
    dir,
    `not json\n{"MESSAGE":"no cursor"}\n${lines([entry(7)])}`,
    "",
    false,
  );
  const { engine, sink, stats } = await run(
    { journalctl: script, follow: false, startAt: "end" },
    `${dir}/state`,
  );
  await engine.done;
  await engine.stop();
  assert.deepEqual(sink.events.map((e) => e.message), ["message 7"]);
  assert.equal(stats.counters.unparsed_entries, 2);
  assert.match(await Deno.readTextFile(`${dir}/args`), /--lines=0/);
});
