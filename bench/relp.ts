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
import { median, type Scenario } from "./lib.ts";

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
  return lines.length / seconds;
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
  return lines.length / seconds;
}

/** The RELP scenario. */
export const scenario: Scenario = async ({ quick }) => {
  const n = quick ? 50_000 : 500_000;
  const runs = quick ? 1 : 3;
  const lines = Array.from({ length: n }, (_, i) => syntheticAlert(i));
  const tcp = await median(runs, () => _tcp(lines));
  const relp = await median(runs, () => _relp(lines, 128));
  const wide = await median(runs, () => _relp(lines, 1024));
  const reference = { subject: "engine → newline TCP → counting Deno.listen", value: tcp };
  return [
    {
      scenario: "relp",
      subject: "engine → RELP sink (window 128) → RELP source → engine → blackhole",
      value: relp,
      unit: "events/s",
      reference,
      note:
        `${n} alerts of ~280 bytes with ids; every message acknowledged end to end; both engines share one core`,
    },
    {
      scenario: "relp",
      subject: "same with window 1024",
      value: wide,
      unit: "events/s",
      reference,
    },
  ];
};
