/**
 * The agentless source's stream reader (sources/_journal_stream.ts: whole
 * lines decoded per chunk and read in place) gives, chunk by chunk, what the
 * reference path gives: `LineFramer` and `journalLinesToEvents` of
 * sources/journald.ts (`JSON.parse` of each line), for a corpus of
 * real-world-shaped entries and the odd ones among them, however the stream
 * is cut.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LineFramer } from "../../core/framing.ts";
import { type JournalLines, journalLinesToEvents } from "../../sources/journald.ts";
import { JournalStreamReader } from "../../sources/_journal_stream.ts";
import { corpusLine, oddLines } from "./_journal_corpus.ts";
import { cutBytes } from "../fixtures/journal/journal.ts";

const encoder = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The corpus as the bytes of a stream: lines, odd lines, bytes that are not UTF-8, huge lines. */
function stream(entries: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const odd = oddLines();
  for (let i = 0; i < entries; i++) {
    parts.push(encoder.encode(corpusLine(i) + "\n"));
    if (i % 97 === 0) parts.push(encoder.encode(odd[(i / 97) % odd.length] + "\n"));
    if (i % 211 === 0) {
      // Not UTF-8 on the wire (journalctl would give an array): U+FFFD, as the framer makes it.
      parts.push(encoder.encode(`{"__CURSOR":"s=0011;i=${i}","MESSAGE":"`));
      parts.push(Uint8Array.of(0xff, 0xc3, 0x28), encoder.encode('"}\n'));
    }
    if (i % 331 === 0) {
      // Longer than the line limit in bytes, in characters of two bytes.
      parts.push(
        encoder.encode(`{"__CURSOR":"s=0022;i=${i}","MESSAGE":"${"é".repeat(40_000)}"}\n`),
      );
    }
  }
  return concat(parts);
}

const cut = (bytes: Uint8Array, size: number) => cutBytes(bytes, size);

function reference(
  chunks: Uint8Array[],
  prefix: string | null,
  maxLineBytes: number,
): JournalLines[] {
  const framer = new LineFramer({ maxLineBytes });
  return chunks.map((c) => journalLinesToEvents(framer.push(c), "pulled", prefix, 5));
}

function fast(
  chunks: Uint8Array[],
  prefix: string | null,
  maxLineBytes: number,
  eventHost?: string,
): JournalLines[] {
  const reader = new JournalStreamReader("pulled", {
    prefix,
    maxLineBytes,
    ...(eventHost ? { eventHost } : {}),
  });
  return chunks.map((c) => reader.push(c, 5));
}

Deno.test("JournalStreamReader gives what LineFramer and JSON.parse give, chunk by chunk, however the stream is cut", () => {
  const bytes = stream(1500);
  // Byte by byte, over the first entries (a few of each kind).
  const head = bytes.subarray(0, 120_000);
  const runs: Array<[Uint8Array, number]> = [[head, 1], [head, 2]];
  for (const size of [0, 13, 4096, 65_536, 100_000, bytes.length]) runs.push([bytes, size]);
  for (const [input, size] of runs) {
    for (const prefix of ["journal", null]) {
      const chunks = cut(input, size);
      const want = reference(chunks, prefix, 60_000);
      const got = fast(chunks, prefix, 60_000);
      assert.equal(got.length, want.length);
      for (let i = 0; i < want.length; i++) {
        assert.deepEqual(got[i], want[i], `chunk ${i} of ${size || "varied"} bytes, ${prefix}`);
      }
    }
  }
});

Deno.test("JournalStreamReader: the totals of the corpus (it holds what it should)", () => {
  const bytes = stream(1500);
  const want = reference([bytes], "journal", 60_000)[0] as JournalLines;
  // Most entries parse; the odd ones are counted, never thrown.
  assert.ok(want.events.length > 1300, `${want.events.length}`);
  assert.ok(want.unparsed > 50, `${want.unparsed}`);
  assert.ok(want.invalidUtf8 > 50, `${want.invalidUtf8}`);
  assert.ok(want.events.some((e) => e.message.includes("\ufffd")));
  const got = fast([bytes], "journal", 60_000)[0] as JournalLines;
  assert.deepEqual(got, want);
});

Deno.test("JournalStreamReader with a line limit above every line, and with the transport's host", () => {
  const bytes = stream(400);
  const chunks = cut(bytes, 32_768);
  const want = reference(chunks, "journal", 1 << 20);
  assert.ok(want.some((r) => r.events.some((e) => e.message.length > 70_000)));
  for (const r of want) for (const e of r.events) e.host = "vm7";
  assert.deepEqual(fast(chunks, "journal", 1 << 20, "vm7"), want);
});

Deno.test("JournalStreamReader reads the entries the bench writes the same way, in any order of keys", () => {
  const lines = Array.from({ length: 3000 }, (_, i) => corpusLine(i, true));
  const bytes = encoder.encode(lines.join("\r\n") + "\n");
  const chunks = cut(bytes, 65_536);
  assert.deepEqual(fast(chunks, "journal", 1 << 20), reference(chunks, "journal", 1 << 20));
});
