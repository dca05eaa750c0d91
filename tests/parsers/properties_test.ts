import assert from "node:assert/strict";
import fc from "fast-check";
import { createEvent, type LogEvent } from "../../core/event.ts";
import type { Filter, Parser, Rewrite } from "../../core/types.ts";
import { csvParser } from "../../parsers/csv.ts";
import { dateParser } from "../../parsers/date.ts";
import {
  and,
  facility,
  host,
  inList,
  level,
  match,
  netmask,
  not,
  or,
  program,
} from "../../parsers/filters.ts";
import { jsonParser } from "../../parsers/json.ts";
import { kvParser } from "../../parsers/kv.ts";
import { regexpParser } from "../../parsers/regexp.ts";
import { groupSet, rename, set, setHost, subst, unset } from "../../parsers/rewrites.ts";
import { sshdParser } from "../../parsers/sshd.ts";

// Strings rich in the characters these formats care about, plus any text.
const SPECIAL = [..."=\"'\\ \t\n\r;,:.[]{}()%-+0123456789aAzZT\x1b#", "::", "\u00a0", "\ud83d"];
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 80 }),
  fc.json(),
  fc.constantFrom(
    "Failed password for invalid user  from  port  ssh2",
    "Nov 31 25:61:61",
    "2026-02-29T24:00:00+99:99",
    '{"__proto__":{"x":1}}',
    'a="unclosed',
    '"unclosed,',
  ),
);
const anyValue = fc.oneof(text, fc.anything(), fc.double(), fc.integer());

function event(message: string, value: unknown): LogEvent {
  const e = createEvent(message, { fields: { v: value, t: message } });
  e.sourceIp = message;
  e.host = message;
  e.program = message;
  return e;
}

const parsers: Array<[string, () => Parser]> = [
  ["jsonParser", () => jsonParser()],
  ["jsonParser exact", () => jsonParser({ prefix: "", largeIntegers: "string", field: "v" })],
  ["kvParser", () => kvParser()],
  ["kvParser ;", () => kvParser({ pairSeparator: ";", valueSeparator: ":", field: "v" })],
  ["csvParser", () => csvParser({ columns: ["a", "b", "c"], nullValue: "-" })],
  [
    "csvParser greedy",
    () =>
      csvParser({
        columns: ["a", "b.c", ""],
        delimiters: [" ", "::"],
        greedy: true,
        escape: "backslash",
        stripWhitespace: true,
        field: "v",
      }),
  ],
  ["regexpParser", () => regexpParser([/(?<a>\w+)=(?<b>\S*)/, "^(?<all>.*)$"])],
  ["sshdParser", () => sshdParser()],
  [
    "dateParser",
    () =>
      dateParser({
        field: "v",
        formats: ["iso8601", "rfc3164", "epoch", "epoch_ms", "%d/%b/%Y:%T %z", "%e %p %s %Z"],
      }),
  ],
  ["dateParser message", () => dateParser({ timezone: "Europe/Budapest" })],
];

for (const [name, make] of parsers) {
  Deno.test(`${name} never throws and answers a boolean on arbitrary input`, () => {
    const parser = make();
    fc.assert(
      fc.property(text, anyValue, (message, value) => {
        const e = event(message, value);
        assert.equal(typeof parser.parse(e), "boolean");
        assert.equal(e.message, message);
      }),
      { numRuns: 400 },
    );
  });
}

const filters: Array<[string, () => Filter]> = [
  ["match", () => match("a.*b", { value: "v" })],
  ["match template glob", () => match("*=*", { template: "${v}${HOST}", type: "glob" })],
  ["program", () => program("sshd", { type: "string", ignoreCase: true })],
  ["host", () => host("^vm-", { ignoreCase: true })],
  ["level", () => level("warning..emerg")],
  ["facility", () => facility(["auth", "local0..local7"])],
  ["netmask", () => netmask(["10.0.0.0/8", "2001:db8::/32", "::ffff:0:0/96"])],
  ["netmask field", () => netmask("0.0.0.0/0", { value: "v" })],
  ["inList", () => inList("v", ["a", 1], { ignoreCase: true })],
  ["and/or/not", () => and(or(level("err"), not(host("x"))), (e) => e.message !== "")],
];

for (const [name, make] of filters) {
  Deno.test(`filter ${name} never throws and answers a boolean on arbitrary input`, () => {
    const filter = make();
    fc.assert(
      fc.property(
        text,
        anyValue,
        fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
        (message, value, severity) => {
          const e = event(message, value);
          if (severity !== undefined) e.severity = severity;
          assert.equal(typeof filter.test(e), "boolean");
        },
      ),
      { numRuns: 400 },
    );
  });
}

Deno.test("netmask() never throws on address-like strings", () => {
  const f = netmask(["10.0.0.0/8", "fe80::/10"]);
  const addr = fc.string({
    unit: fc.constantFrom(..."0123456789abcdefABCDEF:.%[]/"),
    maxLength: 45,
  });
  fc.assert(fc.property(addr, (ip) => {
    assert.equal(typeof f.test(createEvent("m", { sourceIp: ip })), "boolean");
  }));
});

const rewrites: Array<[string, () => Rewrite]> = [
  ["set", () => set("x.y", "${v}-${HOST}")],
  ["unset", () => unset(["v", "t", "HOST"])],
  ["rename", () => rename("v", "w.z")],
  ["subst", () => subst("[a=]", "$&$1", { value: "v", global: true })],
  ["setHost", () => setHost("${v:-none}")],
  ["groupSet", () => groupSet(["*", "t"], "<${_}>")],
];

for (const [name, make] of rewrites) {
  Deno.test(`rewrite ${name} never throws on arbitrary input`, () => {
    const rewrite = make();
    fc.assert(
      fc.property(text, anyValue, (message, value) => {
        rewrite.apply(event(message, value));
      }),
      { numRuns: 300 },
    );
  });
}

// ---------------------------------------------------------------- round trips

const kvKey = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.:-]{0,10}$/).filter((k) =>
  k !== "_text" && !k.includes(":")
);
const kvEntries = fc.uniqueArray(
  fc.tuple(
    kvKey,
    fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom(...SPECIAL) }),
      fc.constant(true as const),
    ),
  ),
  { selector: ([k]) => k, minLength: 1, maxLength: 12 },
).map((entries) => {
  // A bare word before the first pair is leading text, not a flag.
  if (entries[0]![1] === true) entries[0] = [entries[0]![0], "v"];
  return entries;
});

function kvQuote(value: string): string {
  return '"' +
    value.replace(
      /[\\"\n\r\t]/g,
      (c) => c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : "\\" + c,
    ) + '"';
}

Deno.test("kvParser() round-trips what it parses (blank-separated)", () => {
  const parser = kvParser({ prefix: "" });
  fc.assert(
    fc.property(kvEntries, (entries) => {
      const line = entries.map(([k, v]) =>
        v === true ? k : `${k}=${/[\s"'\\]/.test(v) ? kvQuote(v) : v}`
      ).join(" ");
      const e = createEvent(line);
      assert.ok(parser.parse(e), line);
      assert.deepEqual(e.fields, Object.fromEntries(entries));
    }),
    { numRuns: 500 },
  );
});

Deno.test("kvParser() round-trips what it parses (with a pair separator)", () => {
  const parser = kvParser({ prefix: "", pairSeparator: "; " });
  fc.assert(
    fc.property(kvEntries, (entries) => {
      const line = entries.map(([k, v]) =>
        v === true ? k : `${k}=${/^\s|\s$|[;"'\\\n\r\t]/.test(v) || v === "" ? kvQuote(v) : v}`
      ).join("; ");
      const e = createEvent(line);
      assert.ok(parser.parse(e), line);
      assert.deepEqual(e.fields, Object.fromEntries(entries));
    }),
    { numRuns: 500 },
  );
});

for (const delimiter of [",", " ", "\t", "::"]) {
  Deno.test(`csvParser() round-trips what it parses (delimiter ${JSON.stringify(delimiter)})`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...SPECIAL) })), {
          minLength: 1,
          maxLength: 8,
        }),
        (values) => {
          const columns = values.map((_, i) => `c${i}`);
          const parser = csvParser({
            columns,
            delimiters: delimiter.length === 1 ? delimiter : [delimiter],
            prefix: "",
          });
          const line = values.map((v) =>
            v.includes('"') || [...delimiter].some((d) => v.includes(d))
              ? '"' + v.replaceAll('"', '""') + '"'
              : v
          ).join(delimiter);
          const e = createEvent(line);
          assert.ok(parser.parse(e), line);
          assert.deepEqual(e.fields, Object.fromEntries(columns.map((c, i) => [c, values[i]])));
        },
      ),
      { numRuns: 300 },
    );
  });
}

Deno.test("jsonParser() agrees with JSON.parse on valid input", () => {
  const parser = jsonParser({ prefix: "j" });
  const merged = jsonParser({ prefix: "" });
  fc.assert(
    fc.property(
      fc.oneof(fc.json(), fc.dictionary(fc.string(), fc.jsonValue()).map((o) => JSON.stringify(o))),
      (json) => {
        const expected = JSON.parse(json);
        const isObject = expected !== null && typeof expected === "object" &&
          !Array.isArray(expected);
        const e = createEvent(json);
        assert.equal(parser.parse(e), isObject);
        if (isObject) assert.deepEqual(e.fields.j, expected);
        else assert.deepEqual(e.fields, {});
        const top = createEvent(json);
        assert.equal(merged.parse(top), isObject);
        if (isObject) assert.deepEqual(top.fields, expected);
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("dateParser() reads back any ISO 8601 time it is given", () => {
  const parser = dateParser({ field: "t" });
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, "0");
  fc.assert(
    fc.property(
      fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31) }),
      fc.integer({ min: -12 * 60, max: 14 * 60 }),
      (ms, offset) => {
        const wall = new Date(ms + offset * 60_000);
        const text = `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${
          pad(wall.getUTCDate())
        }T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}.${
          pad(wall.getUTCMilliseconds(), 3)
        }${offset < 0 ? "-" : "+"}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
        const e = createEvent("m", { fields: { t: text } });
        assert.ok(parser.parse(e), text);
        assert.equal(e.timestamp, ms);
        assert.equal(e.tzOffset, offset);
      },
    ),
    { numRuns: 500 },
  );
});
