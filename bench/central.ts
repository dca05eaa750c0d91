/**
 * End to end on the central: TCP JSON lines → json → SQLite + JSONL (the
 * reference central example) and TCP → json → JSONL, each beside syslog-ng
 * doing network() → json-parser() → file() on the same lines in the same
 * run, when syslog-ng is installed. Reports events/s and peak RSS.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { syntheticAlert } from "../sources/generator.ts";
import { type BenchRow, memoryMb, type Scenario } from "./lib.ts";

const MAIN = new URL("../runner/main.ts", import.meta.url).pathname;
const CENTRAL = new URL("../examples/pipeline.central.ts", import.meta.url).pathname;
const JSONL = new URL("./pipelines/json_to_jsonl.ts", import.meta.url).pathname;

async function _waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

async function _send(port: number, payload: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    let off = 0;
    while (off < payload.length) off += await conn.write(payload.subarray(off, off + (1 << 20)));
  } finally {
    conn.close();
  }
}

function _lines(file: string): number {
  try {
    const bytes = Deno.readFileSync(file);
    let n = 0;
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

interface _Run {
  rate: number;
  peakMb: number;
  stored: number;
}

async function _sluice(
  pipeline: string,
  dir: string,
  payload: Uint8Array,
  n: number,
  sqlite: boolean,
): Promise<_Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--log-level",
      "warn",
      "--state-dir",
      `${dir}/state`,
      pipeline,
      "--data",
      dir,
      "--json-port",
      "0",
      "--relp-port",
      "0",
      "--syslog-port",
      "0",
    ],
    stderr: "piped",
    stdout: "null",
  }).spawn();
  let text = "";
  const reader = (async () => {
    for await (const c of child.stderr) text += new TextDecoder().decode(c);
  })();
  try {
    await _waitFor(() => /over TCP\s+127\.0\.0\.1:\d+/.test(text), 30_000);
    const port = Number(/over TCP\s+127\.0\.0\.1:(\d+)/.exec(text)?.[1]);
    const idle = memoryMb(child.pid).rss;
    const t0 = performance.now();
    await _send(port, payload);
    let stored = 0;
    const count = () => {
      if (!sqlite) return (stored = _lines(`${dir}/all_events.jsonl`)) >= n;
      try {
        const db = new DatabaseSync(`${dir}/siem.db`, { readOnly: true });
        stored = Number((db.prepare("SELECT count(*) AS n FROM alerts").get() as { n: number }).n);
        db.close();
      } catch {
        // not created yet
      }
      return stored >= n;
    };
    await _waitFor(count, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    const peakMb = memoryMb(child.pid).hwm;
    void idle;
    return { rate: stored / seconds, peakMb, stored };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reader;
  }
}

async function _syslogNg(dir: string, payload: Uint8Array, n: number): Promise<_Run | undefined> {
  const bin = ["/usr/sbin/syslog-ng", "/usr/bin/syslog-ng"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!bin) return undefined;
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const out = `${dir}/syslog-ng.jsonl`;
  // A competent user's tuned config: flow control, large windows, a JSON parser, one file.
  const conf = `@version: 3.38
options { log-fifo-size(200000); stats_freq(0); };
source s { network(ip(127.0.0.1) port(${port}) transport(tcp) flags(no-parse) log-iw-size(100000) max-connections(10)); };
parser p { json-parser(prefix("json.")); };
destination d { file("${out}" template("$(format-json --key json.*)\\n")); };
log { source(s); parser(p); destination(d); flags(flow-control); };
`;
  await Deno.writeTextFile(`${dir}/syslog-ng.conf`, conf);
  const child = new Deno.Command(bin, {
    args: [
      "-F",
      "-f",
      `${dir}/syslog-ng.conf`,
      "--persist-file",
      `${dir}/sng.persist`,
      "--pidfile",
      `${dir}/sng.pid`,
      "--control",
      `${dir}/sng.ctl`,
      "--no-caps",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const up = await _waitFor(async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return false;
      }
    }, 10_000);
    if (!up) return undefined;
    const t0 = performance.now();
    await _send(port, payload);
    let stored = 0;
    await _waitFor(() => (stored = _lines(out)) >= n, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    return { rate: stored / seconds, peakMb: memoryMb(child.pid).hwm, stored };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

/** The central end-to-end scenario. */
export const scenario: Scenario = async ({ quick, dir }) => {
  const n = Number(Deno.env.get("BENCH_EVENTS") ?? (quick ? 20_000 : 1_000_000));
  const text = Array.from({ length: n }, (_, i) => syntheticAlert(i) + "\n").join("");
  const payload = new TextEncoder().encode(text);
  const mb = payload.length / 1e6;
  const rows: BenchRow[] = [];
  await Deno.mkdir(`${dir}/sng`, { recursive: true });
  const ref = quick ? undefined : await _syslogNg(`${dir}/sng`, payload, n);
  const refRow = ref
    ? { subject: "syslog-ng network() → json-parser() → file()", value: ref.rate }
    : undefined;
  const jsonl = await _sluice(JSONL, `${dir}/jsonl`, payload, n, false);
  rows.push({
    scenario: "central",
    subject: `sluice TCP → json → JSONL (${mb.toFixed(0)} MB)`,
    value: jsonl.rate,
    unit: "events/s",
    ...(refRow ? { reference: refRow } : {}),
    note: `peak RSS ${jsonl.peakMb.toFixed(0)} MB${
      ref ? `; syslog-ng ${ref.peakMb.toFixed(0)} MB` : ""
    }; stored ${jsonl.stored}/${n}`,
  });
  const central = await _sluice(CENTRAL, `${dir}/central`, payload, n, true);
  rows.push({
    scenario: "central",
    subject: "sluice central example: TCP → json → SQLite alerts + 6 JSONL files",
    value: central.rate,
    unit: "events/s",
    ...(refRow ? { reference: refRow } : {}),
    note: `peak RSS ${central.peakMb.toFixed(0)} MB; stored ${central.stored}/${n}`,
  });
  return rows;
};
