/**
 * The fast journalctl JSON reader of the agentless source gives exactly what
 * the reference path (`journalLinesToEvents` of sources/journald.ts) gives,
 * for journalctl's own output and for lines it would never write.
 *
 * @module
 */

import assert from "node:assert/strict";
import { LINE_TRUNCATED } from "../../core/framing.ts";
import { journalLinesToEvents } from "../../sources/journald.ts";
import { JournalJsonReader } from "../../sources/_journal_json.ts";

const CURSOR = "s=aa5f29a564d648a0b8dfac136cec20ed;i=4e20;b=0123;m=f905f;t=60a2;x=8b97";

function entry(fields: Record<string, unknown>): string {
  return JSON.stringify({ __CURSOR: CURSOR, ...fields });
}

/** Lines in journalctl's shuffled key order, with hostile values among them. */
function lines(): string[] {
  const hostile = [
    'quote " and backslash \\ and \\" together',
    "ends with a backslash \\",
    "\\\\",
    "\x1b[31mred\x1b[0m and \u0000 NUL, \n newline, \t tab",
    "unicode é ☃ 𝄞 and a lone \ud800 surrogate",
    '","MESSAGE":"injected","X":"',
    "}",
    "",
  ];
  const out: string[] = [];
  for (let i = 0; i < 400; i++) {
    const f: Array<[string, unknown]> = [
      ["__CURSOR", `s=aa5f29a564d648a0b8dfac136cec20ed;i=${i.toString(16)};b=0123;x=8b97`],
      ["__REALTIME_TIMESTAMP", String(1_700_000_000_000_000 + i)],
      ["_HOSTNAME", `vm-${i % 3}`],
      ["MESSAGE", i % 5 === 0 ? hostile[i % hostile.length] : `Accepted publickey for u${i}`],
      ["SYSLOG_IDENTIFIER", "sshd"],
      ["_PID", String(4000 + i)],
      ["PRIORITY", String(i % 9)],
      ["SYSLOG_FACILITY", String(i % 30)],
    ];
    if (i % 7 === 0) f.push(["_SYSTEMD_UNIT", "ssh.service"]);
    if (i % 11 === 0) f.push(["CUSTOM", hostile[i % hostile.length]]);
    if (i % 13 === 0) f.push(["_SOURCE_REALTIME_TIMESTAMP", i % 2 ? "" : "1700000000123456"]);
    // journalctl's order differs per entry.
    for (let j = f.length - 1; j > 0; j--) {
      const k = (i * 31 + j * 17) % (j + 1);
      [f[j], f[k]] = [f[k] as [string, unknown], f[j] as [string, unknown]];
    }
    out.push(JSON.stringify(Object.fromEntries(f)));
  }
  return out;
}

function both(ls: string[], flags: Uint8Array | null = null, prefix: string | null = "journal") {
  const reference = journalLinesToEvents({ lines: ls, flags }, "pulled", prefix, 42);
  const fast = new JournalJsonReader("pulled", { prefix }).read({ lines: ls, flags }, 42);
  return { reference, fast };
}

Deno.test("JournalJsonReader gives the events journalLinesToEvents gives, hostile values included", () => {
  const ls = lines();
  for (const prefix of ["journal", null]) {
    const { reference, fast } = both(ls, null, prefix);
    assert.equal(reference.events.length, ls.length);
    assert.deepEqual(fast, reference);
  }
});

Deno.test("JournalJsonReader hands lines journalctl would not write to the reference path", () => {
  const ls = [
    entry({ MESSAGE: "bytes", _X: [104, 105] }), // a binary field
    entry({ MESSAGE: [255, 254, 104] }), // a message that is not UTF-8
    entry({ MESSAGE: "twice", F: ["a", "b"] }), // a repeated field
    entry({ MESSAGE: "null", F: null }),
    entry({ MESSAGE: 7 }),
    `{"__CURSOR":"${CURSOR}","MESSAGE":"dup","MESSAGE":"again"}`,
    `{"__CURSOR":"${CURSOR}","__proto__":"x","MESSAGE":"proto"}`,
    `{"__CURSOR":"${CURSOR}","lower":"x"}`,
    ` {"__CURSOR":"${CURSOR}","MESSAGE":"space"}`,
    `{"__CURSOR":"${CURSOR}","MESSAGE":"trailing"}x}`,
    `{"__CURSOR":"${CURSOR}","MESSAGE":"bad \\q escape"}`,
    `{"__CURSOR":"${CURSOR}","MESSAGE":"unterminated}`,
    `{"MESSAGE":"no cursor"}`,
    `{"__CURSOR":"not a journal cursor","MESSAGE":"odd cursor"}`,
    `{"__CURSOR":"s=;i=zz","MESSAGE":"odd cursor"}`,
    "{}",
    "[]",
    "not json",
    "",
  ];
  const { reference, fast } = both(ls);
  assert.deepEqual(fast, reference);
  assert.ok(reference.unparsed > 0 && reference.invalidUtf8 === 1);
});

Deno.test("JournalJsonReader counts a cut line as unparsed, as the reference path does", () => {
  const ls = [entry({ MESSAGE: "cut" }), entry({ MESSAGE: "whole" })];
  const { reference, fast } = both(ls, Uint8Array.of(LINE_TRUNCATED, 0));
  assert.deepEqual(fast, reference);
  assert.equal(fast.unparsed, 1);
});

Deno.test("JournalJsonReader keeps its shapes apart across kinds of entries and calls", () => {
  const reader = new JournalJsonReader("pulled", { prefix: "journal", eventHost: "vm9" });
  const ls = lines();
  const reference = journalLinesToEvents({ lines: ls, flags: null }, "pulled", "journal", 1);
  const got = [];
  for (let i = 0; i < ls.length; i += 37) {
    got.push(...reader.read({ lines: ls.slice(i, i + 37), flags: null }, 1).events);
  }
  for (const e of reference.events) e.host = "vm9";
  assert.deepEqual(got, reference.events);
  const kinds = Array.from(
    { length: 20 },
    (_, i) =>
      entry(Object.fromEntries(Array.from({ length: i % 10 }, (_, j) => [`F${j}`, String(i)]))),
  );
  const r = reader.read({ lines: kinds, flags: null }, 1);
  const ref = journalLinesToEvents({ lines: kinds, flags: null }, "pulled", "journal", 1);
  for (const e of ref.events) e.host = "vm9";
  assert.deepEqual(r, ref);
});

Deno.test("JournalJsonReader tells apart field names that differ only where its hash does not look", () => {
  // The name table hashes a few characters and the length: these pairs share all of them.
  const ls: string[] = [];
  for (let i = 0; i < 60; i++) {
    const f: Record<string, string> = {
      __CURSOR: `s=aa5f29a564d648a0b8dfac136cec20ed;i=${i.toString(16)}`,
      MESSAGE: `m${i}`,
    };
    f[i % 2 ? "AB_CDE" : "ZB_CDE"] = `v${i % 3}`;
    if (i % 3 === 0) f[i % 4 ? "QB_CDE" : "XB_CDE"] = "same";
    ls.push(JSON.stringify(f));
  }
  const { reference, fast } = both(ls);
  assert.deepEqual(fast, reference);
  assert.equal(reference.events.length, 60);
});

Deno.test("JournalJsonReader reads on past its table of field names, through the reference path", () => {
  const reader = new JournalJsonReader("pulled", { prefix: "journal" });
  // More distinct names than the table keeps (a stream of ever-new custom fields).
  const ls = Array.from(
    { length: 700 },
    (_, i) =>
      JSON.stringify({ __CURSOR: `s=ab;i=${i.toString(16)}`, MESSAGE: `m${i}`, [`F_${i}`]: "x" }),
  );
  const reference = journalLinesToEvents({ lines: ls, flags: null }, "pulled", "journal", 7);
  const got = reader.read({ lines: ls, flags: null }, 7);
  assert.deepEqual(got, reference);
  // Known names still take the fast path afterwards, with the same result.
  const again = [entry({ MESSAGE: "after", F_3: "y", PRIORITY: "4" })];
  assert.deepEqual(
    reader.read({ lines: again, flags: null }, 7),
    journalLinesToEvents({ lines: again, flags: null }, "pulled", "journal", 7),
  );
});
