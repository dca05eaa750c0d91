/**
 * TCP intake: a separate process streams JSON alert lines over loopback
 * into tcp source → blackhole, beside a same-run ceiling: a raw Deno socket
 * read loop that only counts newlines. Also newline framing over TLS and
 * octet-counted frames, against the same ceiling.
 *
 * @module
 */

import { createLogger, definePipeline, Engine, type LogEvent, type Sink } from "../mod.ts";
import { syntheticAlert } from "../sources/generator.ts";
import { tcpSource, type TcpSourceOptions } from "../sources/tcp.ts";
import { makeTestPki, OPENSSL, type TestPki } from "../tests/fixtures/tls/pki.ts";
import { exitWithin, spawnGroup } from "../tests/_peers.ts";
import { deadline, type MeasuredRow, type MeasuredScenario } from "./lib.ts";
import { medianPeak, memoryFields, type MemoryPeak, withMemory } from "./_memory.ts";

const _SENDER = `
const [port, file, ca] = Deno.args;
const conn = ca
  ? await Deno.connectTls({ hostname: "127.0.0.1", port: Number(port), caCerts: [await Deno.readTextFile(ca)] })
  : await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
const f = await Deno.open(file);
await f.readable.pipeTo(conn.writable);
`;

interface _Input {
  file: string;
  lines: number;
  bytes: number;
}

async function _input(dir: string, name: string, lines: string[], octet: boolean): Promise<_Input> {
  const file = `${dir}/${name}`;
  const enc = new TextEncoder();
  const out = await Deno.open(file, { write: true, create: true, truncate: true });
  let bytes = 0;
  for (let i = 0; i < lines.length; i += 10_000) {
    const chunk = lines.slice(i, i + 10_000)
      .map((l) => (octet ? `${enc.encode(l).length} ${l}` : `${l}\n`))
      .join("");
    const data = enc.encode(chunk);
    bytes += data.length;
    let at = 0;
    while (at < data.length) at += await out.write(data.subarray(at));
  }
  out.close();
  return { file, lines: lines.length, bytes };
}

/** The sender, killed (and its exit awaited) after 300 s at most. */
function _send(dir: string, port: number, input: _Input, ca?: string): Promise<Deno.CommandStatus> {
  const child = spawnGroup(Deno.execPath(), {
    args: ["run", "-A", `${dir}/sender.ts`, String(port), input.file, ...(ca ? [ca] : [])],
    stdout: "null",
    stderr: "inherit",
  });
  return exitWithin(child, 300_000, "tcp bench sender");
}

/** The ceiling: accept one connection, read into 256 KiB, count newlines. Seconds from first byte to EOF. */
async function _ceiling(dir: string, input: _Input): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const sent = _send(dir, port, input);
  const conn = await deadline("tcp bench: the sender's connection", 60_000, listener.accept());
  const buf = new Uint8Array(256 * 1024);
  let newlines = 0;
  let first = 0;
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    if (first === 0) first = performance.now();
    const view = buf.subarray(0, n);
    let i = view.indexOf(10);
    while (i >= 0) {
      newlines++;
      i = view.indexOf(10, i + 1);
    }
  }
  const seconds = (performance.now() - first) / 1000;
  conn.close();
  listener.close();
  await sent;
  if (newlines !== input.lines) throw new Error(`bench tcp: ceiling counted ${newlines} lines`);
  return seconds;
}

/** tcp source → counting sink. Seconds from the first batch to the last event written. */
async function _pipeline(
  dir: string,
  input: _Input,
  options: Partial<TcpSourceOptions> = {},
  pki?: TestPki,
): Promise<number> {
  let count = 0;
  let first = 0;
  let last = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const sink: Sink = {
    kind: "blackhole",
    open: () => Promise.resolve(),
    write(batch: readonly LogEvent[]) {
      if (first === 0) first = performance.now();
      count += batch.length;
      if (count >= input.lines) {
        last = performance.now();
        resolveAll();
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  const source = tcpSource({ host: "127.0.0.1", port: 0, ...options });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: createLogger("warn"),
  });
  await engine.start();
  const sent = _send(dir, source.addr?.port as number, input, pki?.caFile);
  await deadline(`tcp bench: ${input.lines} lines through the tcp source`, 300_000, all);
  await sent;
  await engine.stop();
  return (last - first) / 1000;
}

function _median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The tcp scenario. */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const n = quick ? 50_000 : 1_000_000;
  const runs = quick ? 1 : 3;
  await Deno.writeTextFile(`${dir}/sender.ts`, _SENDER);
  const lines = Array.from({ length: n }, (_, i) => syntheticAlert(i));
  const newline = await _input(dir, "alerts.jsonl", lines, false);
  const octet = await _input(dir, "alerts.octet", lines, true);
  let pki: TestPki | undefined;
  if (OPENSSL) pki = await makeTestPki(await Deno.makeTempDir({ dir, prefix: "pki-" }), []);
  // Interleaved, so that load from elsewhere weighs on every subject alike.
  const ceiling: number[] = [];
  const plain: number[] = [];
  const counted: number[] = [];
  const tls: number[] = [];
  // The source runs in the bench process: its memory is the bench process's, the sender (a
  // child) left out.
  const memory: Record<"plain" | "counted" | "tls", MemoryPeak[]> = {
    plain: [],
    counted: [],
    tls: [],
  };
  const measure = async (
    into: number[],
    which: keyof typeof memory,
    run: () => Promise<number>,
  ) => {
    const m = await withMemory(run);
    into.push(m.value);
    memory[which].push(m.memory);
  };
  for (let r = 0; r < runs; r++) {
    ceiling.push(await _ceiling(dir, newline));
    await measure(plain, "plain", () => _pipeline(dir, newline));
    await measure(counted, "counted", () => _pipeline(dir, octet));
    if (pki) {
      const p = pki;
      await measure(tls, "tls", () =>
        _pipeline(dir, newline, {
          tls: { cert: p.server.cert, key: p.server.key, peerVerify: "none" },
        }, p));
    }
  }
  const mb = newline.bytes / 1e6;
  const c = _median(ceiling);
  const ref = { subject: "raw Deno socket read loop counting newlines", value: n / c };
  const rows: MeasuredRow[] = [
    {
      scenario: "tcp",
      subject: "tcp source (newline) → blackhole",
      value: n / _median(plain),
      unit: "lines/s",
      ...memoryFields(medianPeak(memory.plain)),
      reference: ref,
      note: `${n.toLocaleString("en-US")} JSON alert lines of ~${
        Math.round(newline.bytes / n)
      } bytes streamed by another process over loopback; median of ${runs}`,
    },
    {
      scenario: "tcp",
      subject: "tcp source (newline) → blackhole",
      value: mb / _median(plain),
      unit: "MB/s",
      ...memoryFields(medianPeak(memory.plain)),
      reference: { subject: ref.subject, value: mb / c },
    },
    {
      scenario: "tcp",
      subject: "tcp source (octet counting) → blackhole",
      value: n / _median(counted),
      unit: "lines/s",
      ...memoryFields(medianPeak(memory.counted)),
      reference: ref,
    },
  ];
  if (tls.length) {
    rows.push({
      scenario: "tcp",
      subject: "tcp source over TLS (node:tls) → blackhole",
      value: n / _median(tls),
      unit: "lines/s",
      ...memoryFields(medianPeak(memory.tls)),
      reference: ref,
      note: "server-only TLS; the sender is Deno.connectTls",
    });
  }
  return rows;
};
