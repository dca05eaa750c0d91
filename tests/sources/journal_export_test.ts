/**
 * The agentless source's export reader (sources/_journal_export.ts) gives,
 * for `journalctl -o export` of a journal, exactly the events its JSON
 * reader gives for `journalctl -o json` of the same journal, however the
 * stream is cut; and refuses what journalctl would never write, entry by
 * entry, reading on after it. The journal is real (systemd-journal-remote),
 * and so is journalctl; skipped when either is missing.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { LogEvent } from "../../core/event.ts";
import type { JournalLines } from "../../sources/journald.ts";
import { JournalExportReader } from "../../sources/_journal_export.ts";
import { JournalStreamReader } from "../../sources/_journal_stream.ts";
import { peer } from "../_peers.ts";
import {
  binaryField,
  concatBytes,
  cutBytes,
  exportEntry,
  journalRemotePath,
  makeJournal,
  sshdEntry,
} from "../fixtures/journal/journal.ts";

const journalctl = peer("journalctl", "systemd");
const remote = journalRemotePath();
if (!remote) {
  console.log("skip: systemd-journal-remote missing (apt-get install systemd-journal-remote)");
}

const encoder = new TextEncoder();

/** Entries with every kind of value journalctl writes differently in the two formats. */
function odd(kind: number, i: number): Uint8Array {
  const stamp = `__REALTIME_TIMESTAMP=${1_700_000_000_000_000 + i}\n_HOSTNAME=odd\n`;
  const kinds: Array<() => Uint8Array[]> = [
    () => [binaryField("MESSAGE", encoder.encode("two\nlines"))],
    () => [binaryField("MESSAGE", Uint8Array.of(0x61, 0xff, 0x62))],
    () => [encoder.encode("MESSAGE=tab\there\nX_EMPTY=\n")],
    () => [
      encoder.encode("MESSAGE=héllo ünïcode ☃ 𝄞\n"),
      binaryField("X_BIN", Uint8Array.of(1, 2, 10, 10, 0)),
    ],
    () => [binaryField("MESSAGE", encoder.encode("ctl\u0001 del\u007f c1\u0085"))],
    () => [binaryField("MESSAGE", encoder.encode("cr\rx \x1b[31mred\x1b[0m"))],
    () => [encoder.encode(`MESSAGE=${"x".repeat(5000)}\n`)],
    () => [
      encoder.encode("MESSAGE=m\nX_MULTI=a\nX_MULTI=b\n"),
      binaryField("X_MULTI", Uint8Array.of(1, 2)),
      binaryField("X_MULTI", encoder.encode("c\nd")),
    ],
    () => [binaryField("MESSAGE", new Uint8Array(300).fill(0x80))],
    // Outside MESSAGE, where the event keeps each value as JSON gives it (text or bytes).
    () => [
      encoder.encode("MESSAGE=fields\n"),
      binaryField("X_DEL", encoder.encode("del\u007f")),
      binaryField("X_C1", encoder.encode("c1\u0085")),
      binaryField("X_NL", encoder.encode("a\nb")),
      binaryField("X_CTL", encoder.encode("\u0002")),
      binaryField("X_BAD", Uint8Array.of(0xc3, 0x28)),
    ],
  ];
  const k = kinds[kind % kinds.length] as () => Uint8Array[];
  return concatBytes([encoder.encode(stamp), ...k(), encoder.encode("\n")]);
}

async function run(args: string[]): Promise<Uint8Array> {
  const child = new Deno.Command("journalctl", { args, stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  assert.equal(
    out.code,
    0,
    `journalctl ${args.join(" ")} (killed at 60 s if it hung): ${
      new TextDecoder().decode(out.stderr)
    }`,
  );
  return out.stdout;
}

function cut(bytes: Uint8Array, size: number): Uint8Array[] {
  return cutBytes(bytes, size, 20_000);
}

function readAll(
  reader: { push(chunk: Uint8Array, at: number): JournalLines },
  chunks: Uint8Array[],
): { events: LogEvent[]; cursors: string[]; unparsed: number; invalidUtf8: number } {
  const events: LogEvent[] = [];
  const cursors: string[] = [];
  let unparsed = 0, invalidUtf8 = 0;
  for (const c of chunks) {
    const r = reader.push(c, 1);
    events.push(...r.events);
    if (r.cursor !== undefined) cursors.push(r.cursor);
    unparsed += r.unparsed;
    invalidUtf8 += r.invalidUtf8;
  }
  return { events, cursors, unparsed, invalidUtf8 };
}

Deno.test({
  name:
    "JournalExportReader gives journalctl -o export's entries as the JSON reader gives -o json's",
  ignore: !journalctl || !remote,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-journal-export-" });
    try {
      const journal = await makeJournal(dir, "j", "vm-remote");
      await journal.append(3000, (i) => (i % 50 === 7 ? odd(Math.floor(i / 50), i) : sshdEntry(i)));
      const common = ["--all", "--no-pager", "--quiet", `--directory=${journal.dir}`];
      const json = await run(["-o", "json", ...common]);
      const exported = await run(["-o", "export", ...common]);
      const options = { prefix: "journal", eventHost: "vm1", maxLineBytes: 1 << 20 };
      const want = readAll(new JournalStreamReader("vm1", options), cut(json, 65536));
      assert.equal(want.events.length, 3000);
      assert.equal(want.unparsed, 0);
      assert.ok(want.invalidUtf8 > 0, "the corpus has messages that are not UTF-8");
      for (const size of [0, 7, 4096, 1 << 20]) {
        const got = readAll(
          new JournalExportReader("vm1", {
            prefix: "journal",
            eventHost: "vm1",
            maxEntryBytes: 1 << 20,
          }),
          cut(exported, size),
        );
        assert.equal(got.unparsed, 0, `chunks of ${size || "varying size"}`);
        assert.equal(got.events.length, want.events.length);
        assert.deepEqual(got.events, want.events, `chunks of ${size || "varying size"}`);
        assert.equal(got.cursors.at(-1), want.cursors.at(-1));
        assert.equal(got.invalidUtf8, want.invalidUtf8);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("JournalExportReader refuses what journalctl never writes, entry by entry, and reads on", () => {
  const good = (i: number) =>
    exportEntry({ __CURSOR: `s=ab;i=${i.toString(16)}`, MESSAGE: `good ${i}`, _HOSTNAME: "h" });
  const huge = new Uint8Array(8);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
  const parts = [
    good(1),
    // Not a field at all (a shell's greeting on stdout), then a good entry.
    encoder.encode("Welcome to the machine!\n\n"),
    good(2),
    // A name journald refuses, prototype pollution among them.
    encoder.encode("__CURSOR=s=ab;i=f0\n__proto__=x\nMESSAGE=bad\n\n"),
    encoder.encode("__CURSOR=s=ab;i=f1\nlower=x\nMESSAGE=bad\n\n"),
    good(3),
    // A binary value past the entry limit: passed over by its size.
    encoder.encode("__CURSOR=s=ab;i=f2\n"),
    binaryField("MESSAGE", new Uint8Array(5000).fill(0x41)),
    encoder.encode("\n"),
    good(4),
    // A size no journal holds.
    encoder.encode("__CURSOR=s=ab;i=f3\nMESSAGE\n"),
    huge,
    encoder.encode("\n\n"),
    good(5),
    // A line past the limit, with no newline for a long while.
    encoder.encode(`__CURSOR=s=ab;i=f4\nMESSAGE=${"y".repeat(9000)}\n\n`),
    good(6),
    // An entry without a cursor.
    encoder.encode("MESSAGE=no cursor\n\n"),
    good(7),
  ];
  const bytes = concatBytes(parts);
  for (const size of [0, 1, 3, 4096]) {
    const reader = new JournalExportReader("vm1", { prefix: null, maxEntryBytes: 4096 });
    const got = readAll(reader, cut(bytes, size || 0));
    assert.deepEqual(
      got.events.map((e) => e.message),
      [1, 2, 3, 4, 5, 6, 7].map((i) => `good ${i}`),
      `chunks of ${size || "varying size"}`,
    );
    assert.equal(got.unparsed, 7, `chunks of ${size || "varying size"}`);
    assert.equal(got.cursors.at(-1), "s=ab;i=7");
  }
  // `__proto__` alone: refused by its name, and no object gains a prototype from it.
  const proto = new JournalExportReader("vm1", { prefix: "journal" }).push(
    encoder.encode("__CURSOR=s=ab;i=1\n__proto__=x\nMESSAGE=bad\n\n"),
    0,
  );
  assert.equal(proto.events.length, 0);
  assert.equal(proto.unparsed, 1);
  assert.match(proto.example ?? "", /not a journald field: "__proto__"/);
});
