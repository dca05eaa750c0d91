/**
 * Contenders of the end-to-end benchmarks: sluice, syslog-ng and rsyslog,
 * each started as its own process in the foreground on 127.0.0.1, from its
 * own temporary directory with its own configuration, persist, pid and
 * control files (never as a system service), and {@linkcode runContender},
 * which sends one workload over TCP as fast as the contender takes it and
 * measures what landed.
 *
 * Completion is detected by what landed (rows in SQLite, lines in files),
 * not by what the contender says: a run ends when every output holds every
 * event, or when nothing more has landed for a while (the stall timeout),
 * and then loss = sent − stored. That is how the reference syslog-ng
 * configuration's drops are measured.
 *
 * The shared pieces are in bench/_contender_base.ts, syslog-ng in
 * bench/_syslog_ng_contender.ts, rsyslog in bench/_rsyslog_contender.ts;
 * all are re-exported here.
 *
 * @module
 */

import {
  centralArgs,
  cpuSeconds,
  LoggedProcess,
  memoryMb,
  sleep,
  sluiceRunArgs,
  SMALL_HEAP_V8_FLAGS,
  waitFor,
} from "./lib.ts";
import { type MemoryPeak, sampleTree, type TreeSampler } from "./_memory.ts";
import {
  BENCH_ROOT,
  type Contender,
  fileLines,
  sqliteRows,
  startedContender,
} from "./_contender_base.ts";

export * from "./_contender_base.ts";
export * from "./_syslog_ng_contender.ts";
export * from "./_rsyslog_contender.ts";

const _CENTRAL = `${BENCH_ROOT}examples/pipeline.central.ts`;
const _JSONL = `${BENCH_ROOT}bench/pipelines/json_to_jsonl.ts`;
const _SQLITE = `${BENCH_ROOT}bench/pipelines/json_to_sqlite.ts`;

/** Which sluice pipeline a {@linkcode sluiceContender} runs. */
export type SluicePipeline = "central" | "sqlite" | "jsonl";

/**
 * sluice under its runner: `examples/pipeline.central.ts` (TCP → json →
 * SQLite `alerts` + the JSONL backups; outputs: alerts rows and all_events
 * lines) or `bench/pipelines/json_to_jsonl.ts` (TCP → json → one JSONL
 * file). With `smallHeap`, the pipeline runs as on a machine short of
 * memory: {@linkcode SMALL_HEAP_V8_FLAGS} and `--memory small` (SQLite on
 * the main thread, its WAL checkpointed in the commits, smaller queues,
 * batches and page cache): one isolate instead of three.
 *
 * @param pipeline Which pipeline.
 * @param options `smallHeap`: the small-machine settings above.
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sluiceContender } from "./contenders.ts";
 * assert.strictEqual(sluiceContender("jsonl").unavailable(), undefined);
 * assert.strictEqual(sluiceContender("central", { smallHeap: true }).name, "sluice central, small heap");
 * ```
 */
export function sluiceContender(
  pipeline: SluicePipeline,
  options: { smallHeap?: boolean } = {},
): Contender {
  const file = { central: _CENTRAL, sqlite: _SQLITE, jsonl: _JSONL }[pipeline];
  // The central example and the scenario-1 pipeline write the same layout under --data.
  const sqlite = pipeline !== "jsonl";
  const small = options.smallHeap === true;
  return {
    name: { central: "sluice central", sqlite: "sluice", jsonl: "sluice" }[pipeline] +
      (small ? ", small heap" : ""),
    description: {
      central:
        "sluice examples/pipeline.central.ts: TCP → json → categorize → SQLite alerts + vms, JSONL all_events, by_vm, by_category, daily, critical",
      sqlite:
        "sluice bench/pipelines/json_to_sqlite.ts: TCP → json → SQLite alerts + JSONL all_events (the contenders' work)",
      jsonl:
        "sluice bench/pipelines/json_to_jsonl.ts: TCP → json → JSONL of the parsed tree (as the contenders write it)",
    }[pipeline] +
      (small
        ? `; deno --v8-flags=${SMALL_HEAP_V8_FLAGS}, --memory small (SQLite on the main thread, inline checkpoints, smaller queues, batches and cache)`
        : ""),
    unavailable: () => undefined,
    async start(dir) {
      const data = `${dir}/data`;
      const proc = new LoggedProcess(Deno.execPath(), [
        ...sluiceRunArgs(`${dir}/state`, file, small ? SMALL_HEAP_V8_FLAGS : undefined),
        ...centralArgs(data),
        // The dashboard's default port is fixed; the bench measures the log path.
        ...(pipeline === "central" ? ["--ui", "off"] : []),
        ...(small ? ["--memory", "small"] : []),
      ]);
      const found = /over TCP\s+127\.0\.0\.1:(\d+)/;
      if (!await waitFor(() => found.test(proc.text) || proc.exited, 60_000) || proc.exited) {
        await proc.stop();
        throw new Error(`${this.name} did not start: ${proc.text.trim().slice(-2000)}`);
      }
      const port = Number(found.exec(proc.text)?.[1]);
      const outputs = sqlite
        ? [sqliteRows(`${data}/siem.db`, "alerts"), fileLines(`${data}/logs/all_events.jsonl`)]
        : [fileLines(`${data}/all_events.jsonl`)];
      return startedContender(proc, port, outputs);
    },
  };
}

/** Options for {@linkcode runContender}. */
export interface RunOptions {
  /** Stop when nothing more has landed for this long; the rest is lost. @default {10000} */
  stallMs?: number;
  /** Stop after this long whatever happens. @default {1800000} */
  timeoutMs?: number;
  /** How often outputs are counted. @default {100} */
  pollMs?: number;
  /** Time between "listening" and reading the idle memory. @default {500} */
  settleMs?: number;
}

/** What one run of one contender measured. */
export interface ContenderRun {
  /** The contender's name. */
  contender: string;
  /** Events written to its socket. */
  sent: number;
  /** Bytes written to its socket. */
  bytes: number;
  /** Events in every output (the smallest output count). */
  stored: number;
  /** `sent − stored`. */
  loss: number;
  /** Each output's final count. */
  outputs: Record<string, number>;
  /** From the first byte sent to the last event seen landing, in seconds. */
  seconds: number;
  /** Stored events per second. */
  rate: number;
  /** Megabytes (10⁶ bytes) of stored lines per second. */
  mbPerSecond: number;
  /** CPU seconds (user + system) the process spent from just before sending to the end. */
  cpuSeconds: number;
  /** Resident memory after start, before sending, in MB. */
  idleRssMb: number;
  /** Peak resident memory (VmHWM) at the end, in MB. */
  peakRssMb: number;
  /** Peak RSS, private memory and PSS of its process tree over the workload. */
  memory: MemoryPeak;
  /** Resident pages mapped from files (RssFile) at the end, in MB. */
  fileRssMb: number;
  /** How the run ended. */
  end: "complete" | "stalled" | "timeout" | "exited";
}

/** Sends bytes over one connection as fast as the peer reads them, until done or aborted. */
async function _send(
  port: number,
  payload: Uint8Array,
  progress: { written: number },
  signal: AbortSignal,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const abort = () => {
    try {
      conn.close();
    } catch {
      // closed already
    }
  };
  signal.addEventListener("abort", abort, { once: true });
  try {
    while (progress.written < payload.length && !signal.aborted) {
      progress.written += await conn.write(
        payload.subarray(progress.written, progress.written + (1 << 20)),
      );
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener("abort", abort);
    abort();
  }
}

function _newlines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * Starts a contender in `dir`, reads its idle memory, sends `payload` (JSON
 * lines) over one TCP connection as fast as it takes them, and watches its
 * outputs until each holds `count` events, or nothing more lands for
 * `stallMs`; then reads its CPU time and peak memory and stops it.
 *
 * @param contender The contender.
 * @param payload The workload: `count` lines, each ending in `\n`.
 * @param count How many lines `payload` holds.
 * @param dir An empty directory for the contender's files.
 * @param options Timeouts.
 * @returns The measurements.
 * @throws {Error} When the contender does not start.
 *
 * @example
 * ```ts ignore
 * import { runContender, sluiceContender } from "./contenders.ts";
 * const payload = new TextEncoder().encode('{"host":"vm-1"}\n'.repeat(1000));
 * const run = await runContender(sluiceContender("jsonl"), payload, 1000, await Deno.makeTempDir());
 * console.log(run.rate, run.loss);
 * ```
 */
export async function runContender(
  contender: Contender,
  payload: Uint8Array,
  count: number,
  dir: string,
  options: RunOptions = {},
): Promise<ContenderRun> {
  const stallMs = options.stallMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 1_800_000;
  const pollMs = options.pollMs ?? 100;
  const started = await contender.start(dir);
  let sampler: TreeSampler | undefined;
  try {
    await sleep(options.settleMs ?? 500);
    const pid = started.pid;
    const idleRssMb = memoryMb(pid).rss;
    // The whole tree: a daemon that forks (syslog-ng's supervisor) counts whole, as sluice does.
    sampler = sampleTree(pid);
    const cpu0 = cpuSeconds(pid);
    const progress = { written: 0 };
    const abort = new AbortController();
    const t0 = performance.now();
    let sendError: unknown;
    const sending = _send(started.port, payload, progress, abort.signal).catch((err) => {
      sendError = err;
    });
    const counts = started.outputs.map(() => 0);
    let lastLanded = t0;
    let end: ContenderRun["end"];
    for (;;) {
      await sleep(pollMs);
      const now = performance.now();
      let all = true;
      started.outputs.forEach((o, i) => {
        const n = o.count();
        if (n !== counts[i]) {
          counts[i] = n;
          lastLanded = now;
        }
        if (n < count) all = false;
      });
      if (all) {
        end = "complete";
        break;
      }
      if (started.exited()) {
        end = "exited";
        break;
      }
      if (now - lastLanded > stallMs) {
        end = "stalled";
        break;
      }
      if (now - t0 > timeoutMs) {
        end = "timeout";
        break;
      }
    }
    const seconds = (lastLanded - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const memory = sampler.stop();
    const { file: fileRssMb } = memoryMb(pid);
    const peakRssMb = memory.rssMb;
    abort.abort();
    await sending;
    if (sendError && end === "complete") throw sendError;
    const outputs: Record<string, number> = {};
    started.outputs.forEach((o, i) => {
      outputs[o.name] = o.exact ? o.exact() : o.count();
      counts[i] = outputs[o.name] as number;
    });
    const sent = progress.written >= payload.length
      ? count
      : _newlines(payload.subarray(0, progress.written));
    const stored = Math.min(...counts);
    const storedBytes = payload.length * (stored / count);
    if (end === "exited") {
      throw new Error(`${contender.name} exited during the run: ${started.printed()}`);
    }
    return {
      contender: contender.name,
      sent,
      bytes: progress.written,
      stored,
      loss: Math.max(0, sent - stored),
      outputs,
      seconds,
      rate: seconds > 0 ? stored / seconds : 0,
      mbPerSecond: seconds > 0 ? storedBytes / 1e6 / seconds : 0,
      cpuSeconds: cpu,
      idleRssMb,
      peakRssMb,
      memory,
      fileRssMb,
      end,
    };
  } finally {
    sampler?.stop();
    await started.stop();
  }
}
