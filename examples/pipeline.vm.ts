/**
 * The reference VM: tails `alerts.jsonl` and `yara.jsonl`, stamps the host,
 * forwards every line to the central over RELP (acknowledged only once the
 * central committed it, so the tail checkpoints never run ahead of the
 * central's database), and keeps a local SQLite backup.
 *
 * ```sh
 * deno run -A --v8-flags=--max-semi-space-size=4 runner/main.ts --state-dir /var/lib/sluice examples/pipeline.vm.ts -- \
 *   --central 10.0.0.2 --alerts /var/log/sauron/alerts.jsonl --yara /var/log/sauron/yara.jsonl
 * ```
 *
 * Queues, batches, the backup's page cache and checkpoint, and V8's heap growth are sized
 * from `--memory small|default|large|auto` (`SLUICE_MEMORY`, auto: from the machine's or
 * its cgroup's memory, core/memory_budget.ts); `small` trades about a quarter of the rate
 * for the least memory (docs/performance.md).
 *
 * Flags (after the file) or environment variables: `--central`
 * (`SLUICE_CENTRAL`, default 127.0.0.1), `--transport relp|tcp` (relp),
 * `--relp-port` (5515), `--json-port` (5514, for `--transport tcp`),
 * `--alerts` (`./data/vm/alerts.jsonl`), `--yara` (`./data/vm/yara.jsonl`),
 * `--host` (this machine's name), `--journald` (`on` to add sshd's journal),
 * `--heartbeat-seconds` (60), `--ack-timeout-seconds` (30: how long the RELP sink
 * waits for the central's answer before it reconnects and resends), `--relp-window`
 * (4096 messages in flight; the central takes up to 4096),
 * `--data` (`./data/vm`, the local backup), `--sqlite-checkpoint` (`background`:
 * the backup's WAL is copied into the database on a thread of its own; `inline`
 * leaves it to the commits, one V8 isolate fewer). `--tls-ca FILE` forwards
 * over TLS and checks the central's certificate against that CA;
 * `--tls-cert FILE --tls-key FILE` present this VM's certificate to a
 * central that asks for one (mutual TLS; certificates from `sluice certs`:
 * docs/tls.md). `--central` must then be a name or address the central's
 * certificate holds.
 * `--shrink-idle off` (on) keeps the heap V8 grew to instead of collecting it
 * once whenever the VM turns idle.
 *
 * The object channel (docs/objects.md), off by default: `--objects-to
 * user@central:/var/siem/samples --objects-key FILE --objects-known-hosts FILE|SHA256:…`
 * moves `/var/quarantine` and syncs `/var/sauron/dumps` (max-age 7d) and
 * `/var/sauron/samples` to `<root>/<host>/<job>/` every `--objects-interval`
 * (15m) at `--objects-bwlimit` (1M) each; `--objects-<job> DIR|off`,
 * `--objects-<job>-mode`, `--objects-<job>-max-age` change a job.
 * `sluice sync examples/pipeline.vm.ts --once -- <the same flags>` runs them once.
 *
 * @module
 */

// Each module from where it is defined, not through mod.ts, which loads every source and sink:
// the sources of the modules loaded stay in V8's heap for the life of the process (issue 26).
import { definePipeline, type Pipeline } from "../core/pipeline.ts";
import type { Sink, Source } from "../core/types.ts";
import type { StatsRegistry } from "../core/stats.ts";
import { heartbeatSource } from "../sources/heartbeat.ts";
import { setHost } from "../parsers/rewrites.ts";
import { fileTailSource } from "../sources/file_tail.ts";
import { lazySource } from "../core/lazy.ts";
import { forwardSink } from "../sinks/forward.ts";
import { relpSink } from "../sinks/relp.ts";
import { sqliteSink } from "../sinks/sqlite.ts";
import {
  checkpointOption,
  checkpointWalMb,
  heapStepOption,
  memoryOption,
  option,
  portOption,
} from "./_options.ts";
import { applyV8Budget } from "../core/memory_budget.ts";
import { cpuIdleCollector, sqliteShrinker } from "../core/idle_gc.ts";
import { heapCap } from "../core/heap_cap.ts";
import { objectJobs } from "./_objects.ts";
import { clientTls } from "./_tls.ts";

/**
 * Builds the VM pipeline.
 *
 * @param context Arguments and environment from the runner.
 * @returns The pipeline.
 */
export default function vm(
  context: {
    args: string[];
    env: Record<string, string>;
    stats?: StatsRegistry;
    help?: boolean;
  } = {
    args: [],
    env: {},
  },
): Pipeline {
  const { args, env } = context;
  const data = option(args, env, "data", "./data/vm");
  const central = option(args, env, "central", "127.0.0.1");
  const transport = option(args, env, "transport", "relp");
  if (transport !== "relp" && transport !== "tcp") {
    throw new RangeError(`--transport: expected "relp" or "tcp", got "${transport}"`);
  }
  const host = option(args, env, "host", Deno.hostname());
  const budget = memoryOption(args, env);
  if (!context.help) applyV8Budget(budget);
  // `--help` builds the pipeline only to list its flags.
  if (!context.help) Deno.mkdirSync(data, { recursive: true });
  const sources: Record<string, Source> = {
    alerts: fileTailSource({
      path: option(args, env, "alerts", `${data}/alerts.jsonl`),
      host,
      name: "alerts",
    }),
    yara: fileTailSource({
      path: option(args, env, "yara", `${data}/yara.jsonl`),
      host,
      name: "yara",
    }),
  };
  const heartbeat = heartbeatSource({
    host,
    interval: Number(option(args, env, "heartbeat-seconds", "60")) * 1000,
    ...(context.stats ? { stats: context.stats } : {}),
    name: "heartbeat",
  });
  if (option(args, env, "journald", "off") === "on") {
    // Imported when it starts: off by default, and every module loaded stays in memory.
    sources.sshd = lazySource("journald", async () => {
      const { journaldSource } = await import("../sources/journald.ts");
      return journaldSource({ matches: ["_SYSTEMD_UNIT=ssh.service"], name: "sshd" });
    }, "sshd");
  }
  const tls = clientTls(args, env);
  // The object channel (docs/objects.md): off unless --objects-to is given.
  const objects = objectJobs(args, env, host);
  const forward: Sink = transport === "relp"
    ? relpSink({
      host: central,
      port: portOption(args, env, "relp-port", 5515),
      ackTimeoutMs: Number(option(args, env, "ack-timeout-seconds", "30")) * 1000,
      // The central answers a message only once it is committed, so throughput is at most
      // window ÷ commit time: 128 (librelp's default) caps it near 12k events/s, and 1024
      // kept the central's batches at half the size plain TCP gives them (docs/performance.md).
      window: Number(option(args, env, "relp-window", "4096")),
      ...(tls ? { tls } : {}),
      name: "central",
    })
    : forwardSink({
      host: central,
      port: portOption(args, env, "json-port", 5514),
      ...(tls ? { tls } : {}),
      name: "central",
    });
  const checkpoint = checkpointOption(args, env, budget.sqliteCheckpoint);
  const backup = sqliteSink({
    database: `${data}/backup.db`,
    table: "events",
    columns: { timestamp: "TEXT", host: "TEXT", source: "TEXT", raw: "TEXT" },
    values: { timestamp: "${ISODATE}", host: "${HOST}", source: "${SOURCE}", raw: "${MSG}" },
    indexes: ["timestamp"],
    // One index growing at its right edge: a small page cache is enough, and a VM's RAM is scarce.
    cacheSizeMb: Math.min(4, budget.sqliteCacheMb),
    maxBatch: budget.sqliteBatch,
    checkpoint,
    walCheckpointMb: checkpointWalMb(checkpoint),
    name: "backup",
  });
  const shrinkIdle = option(
    args,
    env,
    "shrink-idle",
    "on",
    "one full garbage collection each time the VM turns idle (on|off)",
  ) !== "off";
  const heapStepMb = heapStepOption(args, env, budget.heapStepMb);
  return definePipeline({
    name: "vm",
    role: "vm",
    queueSize: budget.queueSize,
    maxBatch: budget.maxBatch,
    // One full garbage collection each time the VM turns idle (after start, after a burst):
    // V8 keeps the heap it grew to otherwise, a young generation of --max-semi-space-size
    // among it (issue 26's idle memory).
    // And one each time the old generation grew by --heap-step-mb under a burst.
    services: {
      ...(shrinkIdle ? { memory: cpuIdleCollector({ shrink: sqliteShrinker([backup]) }) } : {}),
      ...(heapStepMb > 0 ? { heap: heapCap({ stepMb: heapStepMb }) } : {}),
    },
    sources: { ...sources, ...objects?.sources },
    sinks: {
      ...objects?.sinks,
      central: forward,
      backup,
    },
    paths: [
      { from: Object.keys(sources), steps: [setHost(host)], to: ["central", "backup"] },
      // Heartbeats (liveness and pipeline health) go to the central only.
      { from: [heartbeat], to: ["central"] },
      ...(objects?.paths ?? []),
    ],
    onStart() {
      console.error(
        `sluice vm "${host}": tailing ${
          Object.keys(sources).join(", ")
        }; forwarding over ${transport}${
          tls ? "+TLS" : ""
        } to ${central}; backup in ${data}/backup.db${objects ? `; ${objects.summary}` : ""}`,
      );
    },
  });
}
