/**
 * Agentless collection: pulls `journalctl -o export` over SSH from hosts that
 * run nothing of ours, resuming each host exactly after its last stored entry.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { Source, SourceContext } from "../core/types.ts";
import { recordVmStatus } from "../siem/vms.ts";
import { EntryBudget } from "./_ssh_journal_budget.ts";
import {
  HostReader,
  type HostReaderSettings,
  type HostSsh,
  hostWindowBytes,
  REASON_TEXT,
  type SshJournalHostStatus,
} from "./_ssh_journal_host.ts";
import {
  checkHost,
  listMonitoredHosts,
  openHostRegistry,
  recordOfferedKey,
  type SshJournalHost,
} from "./_ssh_journal_registry.ts";
import { SshWorker } from "./_ssh_journal_wire.ts";

export type { SshJournalHost } from "./_ssh_journal_registry.ts";
export type { SshJournalHostStatus, SshJournalReason } from "./_ssh_journal_host.ts";

/** Options for {@linkcode sshJournalSource}. */
export interface SshJournalSourceOptions {
  /** Hosts from the pipeline file. @default {[]} */
  hosts?: SshJournalHost[];
  /**
   * An SQLite database whose `monitored_hosts` table (`sluice hosts add …`)
   * lists more hosts; polled, so adding or removing one needs no restart.
   * A pipeline host of the same name wins. @default {none}
   */
  registry?: string;
  /** How often the registry is read, in ms. @default {5000} */
  registryPollMs?: number;
  /** The SIEM database whose `vms` rows get each host's `status` and `status_reason`. @default {none} */
  vmsDatabase?: string;
  /** Field under which every journal field is kept (`_HOSTNAME` among them); `null` keeps none. @default {"journal"} */
  prefix?: string | null;
  /** Run journalctl through `sudo -n` (the user's sudoers line allows only journalctl). @default {true} */
  sudo?: boolean;
  /** journalctl on the hosts. @default {"journalctl"} */
  journalctl?: string;
  /**
   * journalctl's output format: `export`, the journal's own transfer format,
   * costs a monitored host about a third of the CPU of `json` (0.6–0.8 against
   * 2.1–2.4 s per 100k entries); the events are the same. `json` for a
   * sudoers line that allows only `journalctl -o json`.
   * @default {"export"}
   */
  output?: "export" | "json";
  /** Where a host without a saved cursor starts. @default {"beginning"} */
  startAt?: "beginning" | "end";
  /** Most entries in one batch. @default {1000} */
  maxBatch?: number;
  /** How long a partial batch waits for more entries, in ms. @default {20} */
  lingerMs?: number;
  /**
   * Most parsed entries held over all hosts before the pipeline takes them
   * (each host's pending batch, and batches waiting for a full queue); at
   * it, hosts hand on what they have and stop reading until there is room.
   * @default {max(4000, 4 × maxBatch)}
   */
  maxInFlight?: number;
  /** Longest JSON entry in bytes; a longer one is cut and counted as unparsed. @default {1048576} */
  maxLineBytes?: number;
  /** First reconnect delay in ms (doubling, with jitter). @default {1000} */
  initialBackoffMs?: number;
  /** Longest reconnect delay in ms; a host whose key was refused is tried this seldom. @default {60000} */
  maxBackoffMs?: number;
  /** Deadline of the TCP connect in ms (the SSH handshake gets twice it). @default {10000} */
  connectTimeoutMs?: number;
  /**
   * Run SSH (ssh2's handshakes, decryption, channels) in a worker thread, so
   * that it can take another core while this one parses. The hand-over
   * between the threads costs 5-7% more CPU per entry and the worker's heap
   * more memory, so it pays only when a core is idle: with the monitored
   * hosts' sshd and journalctl on the same 2 cores (bench/ssh_journal.ts) it
   * was not faster (docs/agentless.md).
   * @default {false}
   */
  worker?: boolean;
  /** A name for stats and state. */
  name?: string;
}

/** The SSH journal source, with each host's state. */
export interface SshJournalSource extends Source {
  /** Every host's state now (connected, last entry, lag, last error …). */
  hosts(): SshJournalHostStatus[];
  /** Reads the registry now instead of at the next poll. */
  refresh(): void;
}

function _int(value: unknown, name: string, min: number, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw new RangeError(
      `sshJournalSource: "${name}" must be an integer of at least ${min}, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return v;
}

function _output(value: unknown): "export" | "json" {
  if (value === undefined || value === "export" || value === "json") return value ?? "export";
  throw new RangeError(
    `sshJournalSource: "output" must be "export" or "json", got ${JSON.stringify(value)}`,
  );
}

function _gauge(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * Pulls the journal of many hosts over SSH at once: for each, a session
 * running `sudo -n journalctl -o export --follow --after-cursor=<saved>`
 * (an argument array, every argument quoted; `--unit`, matches and extra
 * arguments from the host). Each entry becomes an event (see
 * `journalEntryToEvent` in sources/journald.ts) with `HOST` = the host's
 * configured name (the SSH transport vouches for it; the journal's own
 * `_HOSTNAME` stays under the prefix), the message without ANSI escapes, and
 * an id from the host name and the entry's cursor. Entries go out in
 * batches; a full pipeline stops the reading and SSH's window stops
 * journalctl. A host's cursor is saved only when its batch is acknowledged
 * end to end, so a restart or a cut link resumes after the last stored entry.
 *
 * A host that fails is retried with exponential back-off and jitter; one
 * whose key is refused (changed or unknown) is never read until the pin
 * changes (`sluice hosts accept-key`). Each host's state is in
 * {@linkcode SshJournalSource.hosts}, in the stats (`hosts`,
 * `hosts_connected`, `host_<name>_connected`, `host_<name>_lag_ms`) and,
 * with `vmsDatabase`, in `vms.status` / `vms.status_reason`. `npm:ssh2` is
 * loaded only when the source starts (in a worker thread with `worker: true`).
 *
 * @param options Hosts, registry and limits.
 * @returns The source.
 * @throws {TypeError} On a malformed host or option.
 * @throws {RangeError} On a limit out of range.
 *
 * @example Pull sshd's entries from two VMs
 * ```ts
 * import { sshJournalSource } from "./ssh_journal.ts";
 * const source = sshJournalSource({
 *   hosts: ["vm1", "vm2"].map((name) => ({
 *     name,
 *     user: "sluice",
 *     privateKeyFile: "/etc/sluice/id_ed25519",
 *     knownHostsFile: "/etc/sluice/known_hosts",
 *     units: ["ssh.service"],
 *   })),
 * });
 * ```
 */
export function sshJournalSource(options: SshJournalSourceOptions = {}): SshJournalSource {
  const where = "sshJournalSource";
  const configured = (options.hosts ?? []).map((h) => checkHost(h, where));
  const names = new Set<string>();
  for (const h of configured) {
    if (names.has(h.name)) throw new TypeError(`${where}: host "${h.name}" is listed twice`);
    names.add(h.name);
  }
  if (options.registry !== undefined && typeof options.registry !== "string") {
    throw new TypeError(`${where}: "registry" must be a database file`);
  }
  if (
    options.startAt !== undefined && options.startAt !== "beginning" && options.startAt !== "end"
  ) {
    throw new TypeError(
      `${where}: "startAt" must be "beginning" or "end", got ${JSON.stringify(options.startAt)}`,
    );
  }
  if (options.worker !== undefined && typeof options.worker !== "boolean") {
    throw new TypeError(`${where}: "worker" must be true or false`);
  }
  const maxBatch = _int(options.maxBatch, "maxBatch", 1, 1000);
  const settings: HostReaderSettings = {
    prefix: options.prefix === undefined ? "journal" : options.prefix,
    sudo: options.sudo ?? true,
    journalctl: options.journalctl ?? "journalctl",
    output: _output(options.output),
    startAt: options.startAt ?? "beginning",
    maxBatch,
    lingerMs: _int(options.lingerMs, "lingerMs", 0, 20),
    maxLineBytes: _int(options.maxLineBytes, "maxLineBytes", 1024, 1 << 20),
    initialBackoffMs: _int(options.initialBackoffMs, "initialBackoffMs", 1, 1000),
    maxBackoffMs: _int(options.maxBackoffMs, "maxBackoffMs", 1, 60_000),
    connectTimeoutMs: _int(options.connectTimeoutMs, "connectTimeoutMs", 1, 10_000),
    settleMs: 1000,
    windowBytes: () => hostWindowBytes(readers.size),
    budget: new EntryBudget(
      _int(options.maxInFlight, "maxInFlight", 1, Math.max(4000, 4 * maxBatch)),
    ),
  };
  const pollMs = _int(options.registryPollMs, "registryPollMs", 10, 5000);

  const readers = new Map<string, { reader: HostReader; key: string; fromRegistry: boolean }>();
  const written = new Map<string, string>();
  let ctx: SourceContext | undefined;
  let ssh: HostSsh | undefined;
  let thread: SshWorker | undefined;
  let registry: DatabaseSync | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let stopped = false;

  const onStatus = (reader: HostReader) => {
    if (!ctx) return;
    const st = reader.status;
    const g = _gauge(st.name);
    ctx.stats.set(`host_${g}_connected`, st.connected ? 1 : 0);
    if (st.lagMs !== undefined) ctx.stats.set(`host_${g}_lag_ms`, st.lagMs);
    if (st.lastEntryAt !== undefined) ctx.stats.set(`host_${g}_last_entry_ms`, st.lastEntryAt);
    let connected = 0;
    for (const r of readers.values()) if (r.reader.status.connected) connected++;
    ctx.stats.set("hosts", readers.size);
    ctx.stats.set("hosts_connected", connected);
    const fromRegistry = readers.get(st.name)?.fromRegistry ?? false;
    if (st.state === "waiting" && st.offeredKey && fromRegistry && registry) {
      try {
        recordOfferedKey(registry, st.name, st.offeredKey);
      } catch (err) {
        ctx.log.warn("could not record the offered host key", {
          host: st.name,
          error: String(err),
        });
      }
    }
    if (!options.vmsDatabase) return;
    const want = st.connected
      ? "ok|"
      : st.state === "waiting" && st.reason
      ? `unreachable|${REASON_TEXT[st.reason]}`
      : undefined;
    if (want === undefined || written.get(st.name) === want) return;
    const [status, reason] = want.split("|") as ["ok" | "unreachable", string];
    try {
      if (recordVmStatus(options.vmsDatabase, st.name, status, reason || null)) {
        written.set(st.name, want);
      }
    } catch (err) {
      ctx.log.warn("could not record the host's status in vms", {
        host: st.name,
        error: String(err),
      });
    }
  };

  const keyOf = (h: SshJournalHost) =>
    JSON.stringify([
      h.address ?? h.name,
      h.port ?? 22,
      h.user,
      h.privateKeyFile,
      h.knownHostsFile ?? null,
      h.hostKeyFingerprint ?? null,
      h.units ?? [],
      h.matches ?? [],
      h.args ?? [],
    ]);

  const launch = (host: SshJournalHost, fromRegistry: boolean) => {
    if (!ctx || !ssh) return;
    const reader = new HostReader(host, ssh, ctx, settings, onStatus);
    readers.set(host.name, { reader, key: keyOf(host), fromRegistry });
    reader.start();
  };

  const forget = async (name: string) => {
    const r = readers.get(name);
    if (!r) return;
    readers.delete(name);
    await r.reader.stop();
    if (!ctx) return;
    const g = _gauge(name);
    for (const k of [`host_${g}_connected`, `host_${g}_lag_ms`, `host_${g}_last_entry_ms`]) {
      delete ctx.stats.gauges[k];
    }
    ctx.stats.set("hosts", readers.size);
  };

  let refreshing: Promise<void> = Promise.resolve();
  const refresh = () => {
    refreshing = refreshing.then(async () => {
      if (!registry || stopped || !ctx) return;
      let rows;
      try {
        rows = listMonitoredHosts(registry);
      } catch (err) {
        ctx.stats.errors++;
        ctx.log.warn("could not read monitored_hosts", { error: String(err) });
        return;
      }
      const seen = new Set<string>();
      for (const row of rows) {
        if (names.has(row.name)) continue;
        let host: SshJournalHost;
        try {
          host = checkHost(
            {
              name: row.name,
              address: row.address ?? row.name,
              port: row.port ?? 22,
              user: row.user,
              privateKeyFile: row.privateKeyFile,
              units: row.units ?? [],
              args: row.args ?? [],
              ...(row.hostKeyFingerprint ? { hostKeyFingerprint: row.hostKeyFingerprint } : {}),
            },
            "monitored_hosts",
          );
        } catch (err) {
          ctx.log.warn("a monitored host is malformed; skipped", { error: String(err) });
          continue;
        }
        seen.add(host.name);
        const have = readers.get(host.name);
        if (have && have.key === keyOf(host)) continue;
        if (have) await forget(host.name);
        if (stopped) return;
        launch(host, true);
      }
      for (const [name, r] of [...readers]) {
        if (r.fromRegistry && !seen.has(name)) await forget(name);
      }
    });
  };

  return {
    kind: "ssh-journal",
    ...(options.name ? { name: options.name } : {}),
    async start(c) {
      ctx = c;
      if (options.worker) ssh = thread = new SshWorker();
      else ssh = await import("../ssh/mod.ts");
      if (options.registry) registry = openHostRegistry(options.registry);
      for (const host of configured) launch(host, false);
      ctx.stats.set("hosts", readers.size);
      ctx.stats.set("hosts_connected", 0);
      if (registry) {
        refresh();
        await refreshing;
        poll = setInterval(refresh, pollMs);
      }
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      await refreshing.catch(() => {});
      await Promise.all([...readers.values()].map((r) => r.reader.stop()));
      thread?.close();
      thread = undefined;
      registry?.close();
      registry = undefined;
    },
    hosts: () => [...readers.values()].map((r) => ({ ...r.reader.status })),
    refresh,
  };
}
