/**
 * Parser throughput: each parser's lines/s over a generated file of its
 * format (1M lines; 20k with `quick`), beside same-run ceilings: splitting
 * the file into lines, `JSON.parse` alone, `split(" ")` alone and
 * `Date.parse` alone on the same lines.
 *
 * Parser rows include making the event (`createEvent`) in batches of 1000,
 * as the engine hands them over; ceiling rows do no event work at all.
 *
 * @module
 */

import { createEvent, type LogEvent } from "../core/event.ts";
import type { Parser } from "../core/types.ts";
import { csvParser } from "../parsers/csv.ts";
import { dateParser } from "../parsers/date.ts";
import { jsonParser } from "../parsers/json.ts";
import { kvParser } from "../parsers/kv.ts";
import { regexpParser } from "../parsers/regexp.ts";
import { sshdParser } from "../parsers/sshd.ts";
import { seededRandom, syntheticAlert } from "../sources/generator.ts";
import type { MeasuredRow, MeasuredScenario } from "./lib.ts";
import { maxOf, memoryFields, type MemoryPeak, treeMemory } from "./_memory.ts";

const _SCENARIO = "parsers";

function _ip(r: () => number): string {
  return `${1 + Math.floor(r() * 223)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${
    1 + Math.floor(r() * 254)
  }`;
}

function _mac(r: () => number): string {
  const out: string[] = [];
  for (let i = 0; i < 6; i++) out.push(Math.floor(r() * 256).toString(16).padStart(2, "0"));
  return out.join(":");
}

/** Line makers, one per format, deterministic. */
const _FORMATS: Record<string, (r: () => number, n: number) => string> = {
  json: (_r, n) => syntheticAlert(n),
  netfilter: (r, n) =>
    `[UFW BLOCK] IN=eth0 OUT= MAC=${_mac(r)}:${_mac(r)}:08:00 SRC=${_ip(r)} DST=${
      _ip(r)
    } LEN=60 TOS=0x00 PREC=0x00 TTL=${32 + Math.floor(r() * 32)} ID=${n % 65536} DF PROTO=TCP SPT=${
      1024 + Math.floor(r() * 60000)
    } DPT=${[22, 23, 80, 443, 3389][n % 5]} WINDOW=64240 RES=0x00 SYN URGP=0`,
  addrwatch: (r, n) =>
    `daemon ${1_700_000_000 + n} eth0 0 ${_mac(r)} ${
      n % 4 === 0 ? `fe80::${Math.floor(r() * 65536).toString(16)}:ff:fe12:3456` : _ip(r)
    } ${["ARP_REQ", "ARP_REP", "ARP_ACD", "ND_NS"][n % 4]}`,
  sshd: (r, n) => {
    const ip = _ip(r);
    const port = 1024 + Math.floor(r() * 60000);
    switch (n % 4) {
      case 0:
        return `Failed password for root from ${ip} port ${port} ssh2`;
      case 1:
        return `Failed password for invalid user admin${n % 100} from ${ip} port ${port} ssh2`;
      case 2:
        return `Accepted publickey for deploy from ${ip} port ${port} ssh2: ED25519 SHA256:Tz0kSMv8UbGr3mMZbD6Q3WJ8h+uFx1V2mB5yQ8J0p4E`;
      default:
        return `Connection closed by authenticating user root ${ip} port ${port} [preauth]`;
    }
  },
  iso: (r, n) => {
    const ms = Date.UTC(2026, 0, 1) + n * 1000 + Math.floor(r() * 1000);
    return new Date(ms).toISOString().replace("Z", "+00:00");
  },
};

async function _generate(dir: string, format: string, count: number): Promise<string> {
  const path = `${dir}/${format}.log`;
  const make = _FORMATS[format] as (r: () => number, n: number) => string;
  const r = seededRandom(7);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const encoder = new TextEncoder();
    const chunk: string[] = [];
    for (let n = 0; n < count; n++) {
      chunk.push(make(r, n));
      if (chunk.length === 10_000 || n === count - 1) {
        const bytes = encoder.encode(chunk.join("\n") + "\n");
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
        chunk.length = 0;
      }
    }
  } finally {
    file.close();
  }
  return path;
}

/** One subject of a group: a name, the work over all lines, and its reference's name. */
type _Subject = [
  name: string,
  work: (lines: string[]) => void,
  reference?: string | undefined,
  note?: string,
];

/**
 * Measures every subject of a group over the same lines: one warm-up pass on
 * a slice, then `runs` rounds in which each subject runs once in turn (so
 * drift and garbage collection hit all of them alike); the median per
 * subject, in lines/s.
 */
/**
 * Rates per subject, median over runs, and the bench process's memory
 * just after each subject's pass (the loops hold the event loop, so no
 * timer samples during them; the end of a pass, its garbage not yet
 * collected, is its peak), the largest over runs.
 */
function _group(
  runs: number,
  lines: string[],
  subjects: _Subject[],
): Map<string, { rate: number; memory: MemoryPeak }> {
  const warm = lines.slice(0, Math.min(lines.length, 20_000));
  for (const [, work] of subjects) work(warm);
  const samples = new Map<string, number[]>(subjects.map(([name]) => [name, []]));
  const memory = new Map<string, MemoryPeak[]>(subjects.map(([name]) => [name, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, work] of subjects) {
      const t0 = performance.now();
      work(lines);
      samples.get(name)!.push(lines.length / ((performance.now() - t0) / 1000));
      memory.get(name)!.push(treeMemory("self", false));
    }
  }
  const out = new Map<string, { rate: number; memory: MemoryPeak }>();
  for (const [name, values] of samples) {
    values.sort((a, b) => a - b);
    out.set(name, {
      rate: values[Math.floor(values.length / 2)] as number,
      memory: maxOf(memory.get(name)!),
    });
  }
  return out;
}

function _parseAll(parser: Parser): (lines: string[]) => void {
  return (lines) => {
    const batch: LogEvent[] = new Array(1000);
    let failed = 0;
    for (let i = 0; i < lines.length; i += 1000) {
      const n = Math.min(1000, lines.length - i);
      for (let j = 0; j < n; j++) batch[j] = createEvent(lines[i + j] as string);
      for (let j = 0; j < n; j++) if (!parser.parse(batch[j] as LogEvent)) failed++;
    }
    if (failed > 0) throw new Error(`bench parsers: ${parser.kind} failed on ${failed} lines`);
  };
}

let _sink = 0;

function _splitBlanks(lines: string[]): void {
  let n = 0;
  for (const line of lines) n += line.split(" ").length;
  _sink += n;
}

function _jsonOnly(lines: string[]): void {
  let n = 0;
  for (const line of lines) if (JSON.parse(line) !== null) n++;
  _sink += n;
}

function _dateOnly(lines: string[]): void {
  let n = 0;
  for (const line of lines) n += Date.parse(line) > 0 ? 1 : 0;
  _sink += n;
}

/** The `parsers` benchmark scenario. */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const count = quick ? 20_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  const rows: MeasuredRow[] = [];
  const measure = (lines: string[], subjects: _Subject[]): void => {
    const rates = _group(runs, lines, subjects);
    for (const [name, , reference, note] of subjects) {
      rows.push({
        scenario: _SCENARIO,
        subject: name,
        value: rates.get(name)!.rate,
        unit: "lines/s",
        ...memoryFields(rates.get(name)!.memory),
        ...(reference
          ? { reference: { subject: reference, value: rates.get(reference)!.rate } }
          : {}),
        ...(note ? { note } : {}),
      });
    }
  };
  const load = async (format: string): Promise<string> => {
    const path = await _generate(dir, format, count);
    const text = await Deno.readTextFile(path);
    await Deno.remove(path);
    return text;
  };
  const lines = (text: string): string[] => {
    const out = text.split("\n");
    out.pop();
    return out;
  };

  // JSON: the parser against JSON.parse alone; splitting the file as the outer ceiling.
  {
    const text = await load("json");
    const json = lines(text);
    // Splitting leaves a million strings of garbage: measured in a group of
    // its own, so that collecting it is not charged to the next subject.
    measure(json, [[
      "split file into lines (JSON file)",
      () => void (_sink += text.split("\n").length),
      undefined,
      `${count} lines per pass`,
    ]]);
    const parse = "JSON.parse only";
    measure(json, [
      [parse, _jsonOnly],
      ["jsonParser()", _parseAll(jsonParser()), parse],
      [
        'jsonParser({ largeIntegers: "string" })',
        _parseAll(jsonParser({ largeIntegers: "string" })),
        parse,
        "a regexp test per line; lines with a 16-digit number take a reviver",
      ],
    ]);
  }

  // Blank-separated formats: each parser against split(" ") on the same lines.
  const addrwatch = ["facility", "timestamp", "interface", "vlan", "mac", "ip", "type"];
  const groups: Array<[string, Array<[string, Parser]>]> = [
    ["netfilter", [["kvParser() on netfilter LOG lines", kvParser({ prefix: "fw" })]]],
    [
      "addrwatch",
      [[
        "csvParser() on addrwatch lines",
        csvParser({ columns: addrwatch, delimiters: " ", prefix: "arp" }),
      ]],
    ],
    [
      "sshd",
      [
        ["sshdParser() on OpenSSH auth lines", sshdParser()],
        [
          "regexpParser() on OpenSSH auth lines",
          regexpParser([
            /^(?<outcome>Accepted|Failed) (?<method>\S+) for (?:invalid user )?(?<user>.*) from (?<ip>\S+) port (?<port>\d+)/,
            /^Connection closed by (?:\S+ user (?<user>.*) )?(?<ip>\S+) port (?<port>\d+)/,
          ], { prefix: "ssh" }),
        ],
      ],
    ],
  ];
  for (const [format, parsers] of groups) {
    const split = `split(" ") only, ${format} lines`;
    measure(lines(await load(format)), [
      [split, _splitBlanks],
      ...parsers.map(([name, parser]): _Subject => [name, _parseAll(parser), split]),
    ]);
  }

  // Dates: the parser against Date.parse alone on ISO 8601 stamps.
  {
    const parse = "Date.parse only, ISO 8601 stamps";
    measure(lines(await load("iso")), [
      [parse, _dateOnly],
      ["dateParser() on ISO 8601 stamps", _parseAll(dateParser()), parse],
    ]);
  }
  if (_sink < 0) console.log(_sink);
  return rows;
};
