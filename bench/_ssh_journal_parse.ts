/**
 * The agentless source's own CPU per entry, without SSH: recorded
 * `journalctl -o json` output (a file of its lines) cut into chunks of the
 * size ssh/exec.ts hands on, pushed through what the source does after ssh2
 * has handed over the bytes. Modes:
 *
 * - `count`: newlines counted with `indexOf` (what the bench's ssh2 reference does with them);
 * - `reader`: `LineFramer` + `JournalJsonReader.read` (the parsing path of lines);
 * - `stream`: `JournalStreamReader` (sources/_journal_stream.ts: whole lines read in place);
 * - `source`: a host reader (sources/_ssh_journal_host.ts) through an engine into a counting
 *   sink, its SSH a stand-in that streams the chunks: framing, parsing, batches, the cursor
 *   saved on acknowledgement, the engine.
 *
 * Each mode runs `rounds` times in turn in one process; it prints the CPU µs per entry (user +
 * system) per round and the median. Run under the bench lock, with `--cpu-prof` to profile:
 *
 * ```sh
 * journalctl -o json --all --no-pager > /tmp/j.json   # or a journal of tests/fixtures/journal
 * deno run -A bench/_ssh_journal_parse.ts /tmp/j.json [rounds] [chunkKiB] [modes]
 * ```
 *
 * @module
 */

import process from "node:process";
import { Engine } from "../core/engine.ts";
import { LineFramer } from "../core/framing.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import type { Source } from "../core/types.ts";
import { EntryBudget } from "../sources/_ssh_journal_budget.ts";
import { HostReader, type HostSsh } from "../sources/_ssh_journal_host.ts";
import { JournalJsonReader } from "../sources/_journal_json.ts";
import { JournalStreamReader } from "../sources/_journal_stream.ts";
import { counter } from "./_ssh_journal_memory.ts";

/** Chunks of `bytes`, each `size` bytes (the last shorter), cut wherever they fall. */
function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.slice(at, at + size));
  return out;
}

function countLines(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const chunk of chunks) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

function readLines(chunks: readonly Uint8Array[]): number {
  const framer = new LineFramer({ maxLineBytes: 1 << 20 });
  const reader = new JournalJsonReader("bench-0", { prefix: "journal", eventHost: "bench-0" });
  let n = 0;
  for (const chunk of chunks) {
    const framed = framer.push(chunk);
    if (framed.lines.length > 0) n += reader.read(framed, Date.now()).events.length;
  }
  return n;
}

function readStream(chunks: readonly Uint8Array[]): number {
  const reader = new JournalStreamReader("bench-0", {
    prefix: "journal",
    eventHost: "bench-0",
    maxLineBytes: 1 << 20,
  });
  let n = 0;
  for (const chunk of chunks) n += reader.push(chunk, Date.now()).events.length;
  return n;
}

/** An ssh/ stand-in whose one command streams `chunks`, then waits until killed. */
function replaySsh(chunks: readonly Uint8Array[]): HostSsh {
  class ReplayError extends Error {}
  return {
    SshError: ReplayError as unknown as HostSsh["SshError"],
    connectSsh: () => Promise.resolve({ end: () => Promise.resolve() }),
    exec(_conn, args) {
      let i = 0;
      let done!: () => void;
      const killed = new Promise<void>((resolve) => (done = resolve));
      const stdout = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i < chunks.length) c.enqueue(chunks[i++] as Uint8Array);
          else {
            await killed;
            c.close();
          }
        },
        cancel: () => done(),
      }, { highWaterMark: 0 });
      return {
        command: args.join(" "),
        stdout,
        status: killed.then(() => ({ code: 0, signal: undefined, stderr: "" })),
        kill: () => done(),
      } as unknown as ReturnType<HostSsh["exec"]>;
    },
  };
}

async function throughSource(chunks: readonly Uint8Array[], expect: number): Promise<number> {
  const sink = counter();
  const readers: HostReader[] = [];
  const ssh = replaySsh(chunks);
  const source: Source = {
    kind: "replay",
    start(ctx) {
      const reader = new HostReader(
        { name: "bench-0", user: "u", privateKeyFile: "/dev/null" },
        ssh,
        ctx,
        {
          prefix: "journal",
          sudo: true,
          journalctl: "journalctl",
          // The recording is `journalctl -o json` output.
          output: "json",
          startAt: "beginning",
          maxBatch: 2000,
          lingerMs: 20,
          maxLineBytes: 1 << 20,
          initialBackoffMs: 1000,
          maxBackoffMs: 60_000,
          connectTimeoutMs: 10_000,
          settleMs: 1000,
          windowBytes: () => 1 << 20,
          budget: new EntryBudget(8000),
        },
        () => {},
      );
      readers.push(reader);
      reader.start();
      return Promise.resolve();
    },
    async stop() {
      await Promise.all(readers.map((r) => r.stop()));
    },
  };
  const stateDir = await Deno.makeTempDir({ prefix: "ssh-journal-parse-" });
  const engine = new Engine(
    definePipeline({ sources: { pull: source }, paths: [{ from: ["pull"], to: [sink] }] }),
    { stateDir, logger: createLogger("error") },
  );
  await engine.start();
  const deadline = Date.now() + 120_000;
  while (sink.n < expect) {
    if (Date.now() > deadline) throw new Error(`replay through the source hung at ${sink.n}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  await engine.stop();
  await Deno.remove(stateDir, { recursive: true });
  return sink.n;
}

const MODES = {
  count: (chunks: Uint8Array[]) => Promise.resolve(countLines(chunks)),
  reader: (chunks: Uint8Array[]) => Promise.resolve(readLines(chunks)),
  stream: (chunks: Uint8Array[]) => Promise.resolve(readStream(chunks)),
  source: (chunks: Uint8Array[], expect: number) => throughSource(chunks, expect),
} as const;

if (import.meta.main) {
  const [file, roundsArg, kibArg, modesArg] = Deno.args;
  if (!file) {
    throw new Error("usage: _ssh_journal_parse.ts <journal.json> [rounds] [chunkKiB] [modes]");
  }
  const rounds = Number(roundsArg ?? 5);
  const chunks = chunksOf(await Deno.readFile(file), Number(kibArg ?? 64) * 1024);
  const entries = countLines(chunks);
  const modes = (modesArg ?? "count,reader,source").split(",") as (keyof typeof MODES)[];
  const got: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      const cpu0 = process.cpuUsage();
      const n = await MODES[mode](chunks, entries);
      const cpu = process.cpuUsage(cpu0);
      if (n !== entries) throw new Error(`${mode}: ${n} entries, expected ${entries}`);
      (got[mode] ??= []).push((cpu.user + cpu.system) / n);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  for (const mode of modes) {
    const xs = got[mode] as number[];
    console.log(
      `${mode.padEnd(7)} median ${median(xs).toFixed(2)} µs/entry (${
        (median(xs) / 10).toFixed(3)
      } CPU s per 100k); rounds ${xs.map((x) => x.toFixed(2)).join(" ")}`,
    );
  }
  console.log(`# ${entries} entries, ${chunks.length} chunks, load ${Deno.loadavg()[0]}`);
  // A stopped host reader may leave a timer of its back-off behind: do not wait for it.
  Deno.exit(0);
}
