/**
 * RELP end to end: replayed alerts → RELP sink → RELP source → blackhole
 * (two engines in one process, every message acknowledged end to end),
 * beside the same alerts sent as newline-framed plain TCP to a raw
 * `Deno.listen` receiver that only counts lines — what acknowledgements,
 * framing, ids and the receiving engine cost.
 *
 * @module
 */

import { createEvent, createLogger, definePipeline, Engine, type LogEvent } from "../mod.ts";
import type { Sink, Source } from "../core/types.ts";
import { blackholeSink } from "../sinks/blackhole.ts";
import { relpSink } from "../sinks/relp.ts";
import { relpSource } from "../sources/relp.ts";
import { syntheticAlert } from "../sources/generator.ts";
import { cpuSeconds, type MeasuredScenario, spread } from "./lib.ts";
import { medianPeak, memoryFields, type MemoryPeak, sampleTree } from "./_memory.ts";

/** One run: events per second, CPU seconds of the bench process, its peak memory. */
interface _Run {
  rate: number;
  cpu: number;
  memory: MemoryPeak;
}

/** Runs `fn` (which returns seconds) measuring the bench process's CPU and memory over it. */
async function _measure(count: number, fn: () => Promise<number>): Promise<_Run> {
  const sampler = sampleTree("self", { children: false });
  const cpu0 = cpuSeconds();
  const seconds = await fn();
  const cpu = cpuSeconds() - cpu0;
  return { rate: count / seconds, cpu, memory: sampler.stop() };
}

/** Replays pre-made lines with ids, so generation is not what is measured. */
function _replay(lines: string[], batchSize = 1000): Source {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    kind: "replay",
    done,
    start(ctx) {
      (async () => {
        for (let i = 0; i < lines.length; i += batchSize) {
          const n = Math.min(batchSize, lines.length - i);
          const batch: LogEvent[] = new Array(n);
          for (let j = 0; j < n; j++) {
            batch[j] = createEvent(lines[i + j] as string, { id: `replay:${i + j}`, host: "vm-1" });
          }
          await ctx.emit(batch);
        }
        resolveDone();
      })();
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}

/** Writes each batch as newline-framed lines in one write; no acknowledgement. */
function _tcpLines(port: number): Sink {
  let conn: Deno.TcpConn | undefined;
  const encoder = new TextEncoder();
  return {
    kind: "tcp-lines",
    async open() {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    },
    async write(batch) {
      let text = "";
      for (const e of batch) text += e.message + "\n";
      const bytes = encoder.encode(text);
      let at = 0;
      while (at < bytes.length) at += await (conn as Deno.TcpConn).write(bytes.subarray(at));
    },
    close() {
      conn?.close();
      return Promise.resolve();
    },
  };
}

async function _relp(lines: string[], window: number): Promise<number> {
  const logger = createLogger("warn");
  const sink = blackholeSink();
  const source = relpSource({ port: 0, host: "127.0.0.1" });
  const central = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger,
  });
  await central.start();
  const port = source.addr?.port as number;
  const vm = new Engine(
    definePipeline({ paths: [{ from: [_replay(lines)], to: [relpSink({ port, window })] }] }),
    { logger },
  );
  const t0 = performance.now();
  await vm.start();
  await vm.done;
  const seconds = (performance.now() - t0) / 1000;
  await vm.stop();
  await central.stop();
  if (sink.count !== lines.length) {
    throw new Error(`bench relp: ${sink.count} of ${lines.length} events arrived`);
  }
  return seconds;
}

async function _tcp(lines: string[]): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const counted = (async () => {
    const conn = await listener.accept();
    const buffer = new Uint8Array(256 * 1024);
    let count = 0;
    while (count < lines.length) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let at = buffer.indexOf(10);
      while (at >= 0 && at < n) {
        count++;
        at = buffer.indexOf(10, at + 1);
      }
    }
    conn.close();
    return count;
  })();
  const vm = new Engine(
    definePipeline({ paths: [{ from: [_replay(lines)], to: [_tcpLines(port)] }] }),
    { logger: createLogger("warn") },
  );
  const t0 = performance.now();
  await vm.start();
  const count = await counted;
  const seconds = (performance.now() - t0) / 1000;
  await vm.stop();
  listener.close();
  if (count !== lines.length) throw new Error(`bench relp: tcp got ${count} of ${lines.length}`);
  return seconds;
}

/**
 * The RELP scenario: RELP with librelp's default window and a wide one,
 * beside newline TCP, alternating run by run. Both ends run in the bench
 * process on one thread, so CPU per message is what the rates follow;
 * the note gives CPU seconds per 100k messages (BENCH_RELP_EVENTS and
 * BENCH_RELP_RUNS size it).
 */
export const scenario: MeasuredScenario = async ({ quick }) => {
  const n = Number(Deno.env.get("BENCH_RELP_EVENTS") ?? (quick ? 50_000 : 500_000));
  const runs = Number(Deno.env.get("BENCH_RELP_RUNS") ?? (quick ? 1 : 3));
  const lines = Array.from({ length: n }, (_, i) => syntheticAlert(i));
  const all: Record<"tcp" | "relp" | "wide", _Run[]> = { tcp: [], relp: [], wide: [] };
  for (let r = 0; r < runs; r++) {
    all.tcp.push(await _measure(n, () => _tcp(lines)));
    all.relp.push(await _measure(n, () => _relp(lines, 128)));
    all.wide.push(await _measure(n, () => _relp(lines, 1024)));
  }
  const rate = (which: _Run[]) => spread(which.map((x) => x.rate)).median;
  const cpu = (which: _Run[]) => spread(which.map((x) => x.cpu)).median;
  const per100k = (which: _Run[]) => (cpu(which) * 1e5) / n;
  const reference = {
    subject: "engine → newline TCP → counting Deno.listen",
    value: rate(all.tcp),
    memory: medianPeak(all.tcp.map((x) => x.memory)),
  };
  const row = (subject: string, which: _Run[], note: string) => ({
    scenario: "relp",
    subject,
    value: rate(which),
    unit: "events/s",
    ...(runs > 1 ? { runs: which.map((x) => x.rate) } : {}),
    cpuSeconds: cpu(which),
    ...memoryFields(medianPeak(which.map((x) => x.memory))),
    reference,
    note: `${note}CPU ${per100k(which).toFixed(2)} s per 100k messages beside TCP's ${
      per100k(all.tcp).toFixed(2)
    } s (${(per100k(all.tcp) / per100k(which)).toFixed(2)}× by CPU); memory: the bench process`,
  });
  return [
    row(
      "engine → RELP sink (window 128) → RELP source → engine → blackhole",
      all.relp,
      `${n} alerts of ~280 bytes with ids; every message acknowledged end to end; both engines share one core; `,
    ),
    row("same with window 1024", all.wide, ""),
  ];
};
