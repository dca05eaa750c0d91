/**
 * The reference central: receives JSON alerts from the VMs (TCP JSON lines
 * on 5514 and RELP on 5515), syslog from routers, NAS and VMs (RFC 3164 and
 * 5424 over UDP and TCP on 5140), parses and classifies every event, and
 * stores it in SQLite (`data/siem.db`, the SIEM tables) and in JSONL backups
 * under `data/logs/` (`all_events.jsonl`, `critical.jsonl`, `by_vm/<host>.jsonl`,
 * `by_category/<category>.jsonl` hold today's lines and are renamed to
 * `<name>-YYYY-MM-DD.jsonl` each UTC day; `daily/<YYYY-MM-DD>.jsonl` by event
 * date). `--retain-jsonl 90d` gzips past days and deletes them after 90 days
 * (docs/archive.md).
 *
 * ```sh
 * deno run -A --v8-flags=--max-semi-space-size=4 runner/main.ts examples/pipeline.central.ts -- --data /srv/sluice
 * ```
 *
 * Flags (after the file) or environment variables: `--listen`
 * (`SLUICE_LISTEN`, default 127.0.0.1), `--json-port` (5514), `--relp-port`
 * (5515), `--syslog-port` (5140), `--data` (`./data`), `--sqlite-worker`
 * (`on`: the SQLite inserts run on a worker thread; `off` keeps them on the
 * main thread, for a single-core machine or the least memory),
 * `--sqlite-checkpoint` (`background`: SQLite's WAL is copied into the
 * database on a thread of its own; `inline` leaves it to the commits, one
 * V8 isolate fewer), both defaulting from `--memory small|default|large|auto`
 * (`SLUICE_MEMORY`, auto: from the machine's memory), which also sizes the
 * queues, batches, SQLite's page cache and V8's heap growth, `--ui` (`SLUICE_UI`, `127.0.0.1:8080`: the web
 * dashboard's address, `off` for none; `--ui-cert`/`--ui-key` serve it over
 * TLS). `--pull-hosts on` (off) also pulls the journal over SSH from the
 * hosts `sluice hosts add` put in siem.db, into the same auth and system
 * paths as syslog (docs/agentless.md). `--tls-cert FILE --tls-key FILE` make the JSON and RELP listeners
 * TLS; with `--tls-ca FILE` they are mutual TLS (a VM must present a
 * certificate signed by that CA), and `--tls-host-from-cert` takes each
 * event's host from it (certificates from `sluice certs`: docs/tls.md).
 * `--samples DIR` (off) reads the manifests the VMs' object jobs write under
 * DIR (their `--objects-to` directory), checks each stored file's size and
 * SHA-256 and records it in `objects` every `--samples-interval` (1m):
 * docs/objects.md. `--db postgres://…|mysql://…` (`SLUICE_DB`) stores the
 * SIEM tables on that server instead, and the dashboard reads them there;
 * several centrals may share one (docs/sql-servers.md). `--shrink-idle off`
 * (on) keeps the heap V8 grew to instead of collecting it once whenever the
 * central turns idle.
 *
 * @module
 */

// Each module from where it is defined, not through mod.ts, which loads every source and sink:
// the sources of the modules loaded stay in V8's heap for the life of the process (issue 26).
import { definePipeline, type Pipeline, type PipelineDefinition } from "../core/pipeline.ts";
import type { Sink, Step } from "../core/types.ts";
import { jsonParser } from "../parsers/json.ts";
import { kvParser } from "../parsers/kv.ts";
import { csvParser } from "../parsers/csv.ts";
import { sshdParser } from "../parsers/sshd.ts";
import { syslogFramed } from "../parsers/syslog_framed.ts";
import { level, match, not, or, program } from "../parsers/filters.ts";
import { tcpSource } from "../sources/tcp.ts";
import { relpSource } from "../sources/relp.ts";
import { syslogSource } from "../sources/syslog.ts";
import { jsonLine, jsonlSink } from "../sinks/jsonl.ts";
import { categorize } from "../siem/categorize.ts";
import { siemSqliteSink } from "../siem/schema.ts";
import { workerSink } from "../sinks/worker.ts";
import { vmsSink } from "../siem/vms.ts";
import { alertPaths, correlateStore, hasAlert } from "../siem/correlate.ts";
import { sshdBruteForce } from "../siem/rules/sshd_brute_force.ts";
import { invalidUserSweep } from "../siem/rules/invalid_user_sweep.ts";
import { sshdSuccessAfterFailures } from "../siem/rules/success_after_failures.ts";
import { newDevice } from "../siem/rules/new_device.ts";
import { criticalAlert } from "../siem/rules/critical_alert.ts";
import { hostWatchSource } from "../sources/host_watch.ts";
import { objectManifestsSource } from "../sources/object_manifests.ts";
import { importLate, lazySource } from "../core/lazy.ts";
import { checkpointWalMb, option } from "./_options.ts";
import { centralSettings } from "./_central_settings.ts";
import { applyV8Budget } from "../core/memory_budget.ts";
import { cpuIdleCollector, sqliteShrinker } from "../core/idle_gc.ts";
import { heapCap } from "../core/heap_cap.ts";
import { listenerTls } from "./_tls.ts";
import { lazyUiService } from "../ui/lazy_service.ts";
import { respondSettings, respondSinkFor } from "./_respond.ts";
import { archiveFor } from "./_archive.ts";
import { dbTarget, refuseServerRetention, serverStoreOpener } from "./_db.ts";
import { sharedServerDbSink } from "./_shared_db.ts";
import { jsonHostFirst, stampHost as stampJsonHost } from "./_central_hosts.ts";

interface _DbOptions {
  database: string;
  checkpoint: "background" | "inline";
  walCheckpointMb: number;
  cacheSizeMb?: number;
  maxBatch?: number;
}

export { type CentralSettings, centralSettings } from "./_central_settings.ts";

/**
 * Builds the central pipeline.
 *
 * @param context Arguments and environment from the runner.
 * @returns The pipeline.
 */
export default function central(
  context: { args: string[]; env: Record<string, string>; help?: boolean } = { args: [], env: {} },
): Pipeline {
  const s = centralSettings(context.args, context.env);
  if (!context.help) applyV8Budget(s.budget);
  const logs = `${s.data}/logs`;
  // `--help` builds the pipeline only to list its flags.
  if (!context.help) Deno.mkdirSync(s.data, { recursive: true });
  // --tls-cert/--tls-key/--tls-ca/--tls-host-from-cert: TLS or mutual TLS on both VM listeners.
  const secure = listenerTls(context.args, context.env);
  const samplesDir = option(
    context.args,
    context.env,
    "samples",
    "off",
    "the VMs' --objects-to directory: record the objects stored there in the objects table",
  );
  const sources = {
    json: tcpSource({ host: s.listen, port: s.jsonPort, name: "json", ...secure }),
    relp: relpSource({ host: s.listen, port: s.relpPort, name: "relp", ...secure }),
    syslog: syslogSource({
      host: s.listen,
      port: s.syslogPort,
      transport: "tcp+udp",
      name: "syslog",
    }),
    // Raises host_silent / host_recovered alerts from the vms registry.
    hosts: hostWatchSource({ database: `${s.data}/siem.db`, name: "hosts" }),
    // Agentless hosts: their journal over SSH (its modules and ssh2 are loaded only when this
    // starts).
    ...(s.pullHosts
      ? {
        pulled: lazySource("ssh-journal", async () => {
          const { sshJournalSource } = await importLate<typeof import("../sources/ssh_journal.ts")>(
            new URL("../sources/ssh_journal.ts", import.meta.url),
          );
          return sshJournalSource({
            registry: `${s.data}/siem.db`,
            vmsDatabase: `${s.data}/siem.db`,
            name: "pulled",
          });
        }, "pulled"),
      }
      : {}),
    // The object channel (docs/objects.md): what the VMs stored there, checked, into `objects`.
    ...(samplesDir === "off" ? {} : {
      samples: objectManifestsSource({
        dir: samplesDir,
        interval: option(
          context.args,
          context.env,
          "samples-interval",
          "1m",
          "time between reads of --samples' manifests",
        ),
        name: "samples",
      }),
    }),
  };
  // Pulled journal entries take syslog's auth and system paths: sshd into auth_events and the rules.
  const textFrom = s.pullHosts ? ["syslog", "pulled"] : ["syslog"];
  // Detection rules mark the event that crosses their threshold; the embedded
  // "rule alert" path below turns a marked event (a copy) into a row of `alerts`.
  const authRules = [sshdBruteForce(), invalidUserSweep(), sshdSuccessAfterFailures()];
  const deviceRules = [newDevice()];
  // fsync once a second, as durable as the SQLite store (WAL, synchronous=NORMAL): both
  // survive a crash of the process, neither a power loss. Six fsyncs per batch would make
  // every RELP acknowledgement wait for the disk. Files without a date in their path are
  // renamed to <name>-YYYY-MM-DD.jsonl each UTC day, for --retain-jsonl to gzip and delete.
  const jsonl = (name: string, path: string, maxPathsPerDay?: number) =>
    jsonlSink({
      dir: logs,
      path,
      line: jsonLine,
      fsync: "interval",
      name,
      rotateDaily: !path.includes("${YEAR}"),
      ...(maxPathsPerDay ? { maxPathsPerDay } : {}),
    });
  // node:sqlite is synchronous: on a thread of their own, the inserts and commits run beside
  // parsing and the JSONL files instead of taking turns with them. Both sinks of siem.db
  // share the thread, so they never wait for each other's lock.
  const siemDb = (
    factory: string,
    module: string,
    name: string,
    inline: (options: _DbOptions & { name: string }) => Sink,
    sized: Partial<_DbOptions> = {},
  ): Sink => {
    const options = {
      database: `${s.data}/siem.db`,
      checkpoint: s.sqliteCheckpoint,
      // Both connections of siem.db take it: the first commit that finds the WAL past its size
      // checkpoints.
      walCheckpointMb: checkpointWalMb(s.sqliteCheckpoint),
      ...sized,
    };
    return s.sqliteWorker
      ? workerSink({
        module: new URL(module, import.meta.url),
        factory,
        options,
        thread: "siem.db",
        name,
        // Its queue is the worker sink's default, three batches: two in flight on the worker and
        // one filling here. With room for two only (the budget's queueSize), both threads were
        // ~57 % busy, taking turns (docs/performance.md).
        maxBatch: s.budget.sqliteBatch,
      })
      : inline({ ...options, name });
  };
  // The alerts' connection: its page cache and transactions sized from --memory.
  const dbSize = { cacheSizeMb: s.budget.sqliteCacheMb, maxBatch: s.budget.sqliteBatch };
  // Active response (dry-run unless --respond on) takes the rule alerts beside the alerts table.
  const respond = respondSinkFor(
    respondSettings(context.args, context.env),
    `${s.data}/siem.db`,
    context.help,
  );
  // --db postgres://… or mysql://… stores the SIEM tables there, and the dashboard reads them
  // (and keeps its users, sessions and triage) there. Still on --data/siem.db: the vms registry
  // that host watching reads, the monitored hosts, active response's blocks and --retain-db; the
  // rules' windows stay in --state-dir, and the sshd rules also count the other centrals' events
  // stored on the server (examples/_shared_db.ts, docs/sql-servers.md).
  const db = dbTarget(context.args, context.env, s.data);
  const sinks = {
    ...(respond ? { respond } : {}),
    db: sharedServerDbSink(db, "db", authRules) ??
      siemDb("siemSqliteSink", "../siem/schema.ts", "db", siemSqliteSink, dbSize),
    vms: siemDb("vmsSink", "../siem/vms.ts", "vms", vmsSink),
    rules: correlateStore([...authRules, ...deviceRules], { name: "rules" }),
    all: jsonl("all_events", "all_events.jsonl"),
    critical: jsonl("critical", "critical.jsonl"),
    // Any sender names its host: at most this many by_vm/ files a day, then by_vm/_other.jsonl.
    byVm: jsonl("by_vm", "by_vm/${HOST:-unknown}.jsonl", s.maxHostsPerDay),
    byCategory: jsonl("by_category", "by_category/${category:-system}.jsonl"),
    daily: jsonl("daily", "daily/${YEAR}-${MONTH}-${DAY}.jsonl"),
    unparsed: jsonl("unparsed", "unparsed.jsonl"),
  };
  if (Boolean(s.uiCert) !== Boolean(s.uiKey)) {
    throw new RangeError("--ui-cert and --ui-key: give both or neither");
  }
  const ui = s.ui === "off" ? undefined : lazyUiService({
    database: db.target,
    listen: s.ui,
    dataDir: s.data,
    // With a server, users, sessions and triage live there; the Monitored hosts page keeps siem.db.
    ...(db.kind === "sqlite" ? {} : {
      hostRegistry: `${s.data}/siem.db`,
      openStore: serverStoreOpener(db),
    }),
    env: context.env,
    ...(s.uiCert ? { tls: { certFile: s.uiCert, keyFile: s.uiKey } } : {}),
    // The Responses page blocks and unblocks through the running responder.
    ...(respond ? { respond: () => respond.responder } : {}),
  });
  // Retention (--retain-db, --retain-archive, --max-disk, --retain-jsonl): off unless asked.
  const archive = archiveFor(context.args, context.env, s.data);
  if (!context.help) refuseServerRetention(db, context.args, context.env);
  const shrinkIdle = option(
    context.args,
    context.env,
    "shrink-idle",
    "on",
    "one full garbage collection each time the central turns idle (on|off)",
  ) !== "off";
  const isCritical = or(criticalAlert(), level("emerg..crit"));
  // Every classified event is stored the same way: parse once, then fan out.
  const store: PipelineDefinition["paths"] = [
    { to: ["db", "vms", "all", "byVm", "byCategory", "daily"] },
    { steps: [isCritical], to: ["critical"] },
    {
      // One path per rule: two rules firing on one event store two alerts.
      name: "rule alert",
      steps: [hasAlert()],
      paths: alertPaths([...authRules, ...deviceRules], {
        name: "rule alert",
        to: ["db", "all", "byCategory", ...(respond ? ["respond"] : [])],
        paths: [{ steps: [isCritical], to: ["critical"] }],
      }),
    },
  ];
  const withRules = (rules: readonly Step[]): PipelineDefinition["paths"] => [
    { steps: [...rules], paths: [{ to: ["rules"] }, ...store] },
  ];
  const stampHost: Step = { kind: "stamp-host", apply: stampJsonHost };
  // rsyslog's omrelp/omfwd default templates put a syslog header before the JSON.
  const framed = syslogFramed({ host: "field" });
  return definePipeline({
    name: "central",
    role: "central",
    queueSize: s.budget.queueSize,
    maxBatch: s.budget.maxBatch,
    sources,
    sinks,
    deadLetter: "unparsed",
    services: {
      // One full garbage collection each time the central turns idle (after start, after a
      // burst): V8 keeps the heap it grew to otherwise, and the store's connection the pages
      // SQLite read (issue 26's idle memory).
      ...(shrinkIdle ? { memory: cpuIdleCollector({ shrink: sqliteShrinker([sinks.db]) }) } : {}),
      // A full collection each time the old generation grew by --heap-step-mb under a burst.
      ...(s.heapStepMb > 0 ? { heap: heapCap({ stepMb: s.heapStepMb }) } : {}),
      ...(ui ? { ui } : {}),
      ...(archive ? { archive } : {}),
    },
    paths: [
      {
        name: "alerts",
        from: ["json", "relp"],
        steps: [framed, jsonParser({ prefix: "json" }), stampHost, categorize()],
        paths: store,
      },
      {
        // Text lines that reached the JSON ports (journald or auth lines forwarded by a VM).
        // Lines that look like JSON but are broken stay unparsed: they go to unparsed.jsonl.
        name: "vm-text",
        from: ["json", "relp"],
        flags: ["fallback"],
        steps: [framed, not(match("^\\s*[{[]")), stampHost, sshdParser(), categorize()],
        onUnparsed: "continue",
        paths: withRules(authRules),
      },
      {
        // A JSON alert sent as syslog (rsyslog or syslog-ng forwarding to the syslog port).
        name: "syslog-json",
        from: ["syslog"],
        flags: ["final"],
        steps: [
          match("^\\s*\\{"),
          jsonParser({ prefix: "json" }),
          { kind: "json-host-first", apply: jsonHostFirst },
          categorize(),
        ],
        onUnparsed: "continue",
        paths: store,
      },
      {
        name: "firewall",
        from: ["syslog"],
        flags: ["final"],
        steps: [match("\\bSRC=\\S+ DST=\\S+"), kvParser({ prefix: "fw" }), categorize()],
        paths: store,
      },
      {
        name: "addrwatch",
        from: ["syslog"],
        flags: ["final"],
        steps: [
          program("^addrwatch$"),
          csvParser({
            columns: ["timestamp", "interface", "vlan", "mac", "ip", "type"],
            delimiters: " ",
            prefix: "arp",
          }),
          categorize(),
        ],
        paths: withRules(deviceRules),
      },
      {
        name: "auth",
        from: textFrom,
        flags: ["final"],
        steps: [program("^sshd"), sshdParser(), categorize()],
        paths: withRules(authRules),
      },
      {
        name: "system",
        from: textFrom,
        flags: ["fallback"],
        steps: [categorize()],
        paths: store,
      },
      { name: "host watch", from: ["hosts"], paths: store },
      ...(samplesDir === "off"
        ? []
        : [{ name: "samples", from: ["samples"], steps: [categorize()], to: ["db", "all"] }]),
    ],
    onStart() {
      const dim = (t: string) => Deno.stderr.isTerminal() ? `\x1b[2m${t}\x1b[0m` : t;
      const lines = [
        `sluice central listening on ${s.listen}:`,
        `  JSON lines over TCP  ${s.listen}:${sources.json.addr?.port ?? s.jsonPort}`,
        `  RELP                 ${s.listen}:${sources.relp.addr?.port ?? s.relpPort}`,
        ...(secure ? [`  (both over ${secure.tls.caFile ? "mutual " : ""}TLS)`] : []),
        `  syslog UDP + TCP     ${s.listen}:${sources.syslog.tcpAddr?.port ?? s.syslogPort}`,
        db.kind === "sqlite"
          ? `writing SQLite to ${s.data}/siem.db and JSONL under ${logs}/`
          : `writing the SIEM tables to ${db.shown}, JSONL under ${logs}/`,
        ...(ui?.url ? [`dashboard              ${ui.url}`] : []),
        dim(
          `send a test alert:  echo '{"host":"vm-1","severity":"critical","rule":"Test_Rule","msg":"hello"}' > /dev/tcp/${s.listen}/${
            sources.json.addr?.port ?? s.jsonPort
          }`,
        ),
        dim(`then look:          deno run -A runner/main.ts query critical --db ${db.shown}`),
      ];
      console.error(lines.join("\n"));
    },
  });
}
