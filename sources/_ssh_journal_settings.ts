/**
 * What a host of the agentless collector reports (its status) and the
 * settings every host of one source shares, with how the SSH window is
 * divided between the hosts.
 *
 * @module
 */

import type { EntryBudget } from "./_ssh_journal_budget.ts";
import type { SshJournalReason } from "./_ssh_journal_reasons.ts";

/**
 * What one host is doing, as `sshJournalSource().hosts()` reports it.
 *
 * @example
 * ```ts
 * import type { SshJournalHostStatus } from "./_ssh_journal_settings.ts";
 * const s: SshJournalHostStatus = {
 *   name: "vm1",
 *   state: "waiting",
 *   connected: false,
 *   entries: 0,
 *   attempts: 1,
 *   reason: "unreachable",
 * };
 * console.assert(s.state === "waiting");
 * ```
 */
export interface SshJournalHostStatus {
  /** The host's name. */
  name: string;
  /** `connecting`, `reading` (journalctl runs), `waiting` (back-off before the next try), `stopped`. */
  state: "connecting" | "reading" | "waiting" | "stopped";
  /** Whether journalctl is running over an SSH session now. */
  connected: boolean;
  /** Entries read since the source started. */
  entries: number;
  /** Connection attempts since the source started. */
  attempts: number;
  /** The journal time of the last entry read (ms since the epoch). */
  lastEntryAt?: number;
  /** How far behind the last entry was when it arrived, in ms. */
  lagMs?: number;
  /** Why the last attempt failed, while it is not reading. */
  reason?: SshJournalReason;
  /** The last error's message. */
  lastError?: string;
  /** The key the host offered when refused (host-key reasons). */
  offeredKey?: string;
  /** The delay before the next attempt, while waiting. */
  retryInMs?: number;
}

/**
 * Settings shared by every host of one source, resolved once.
 *
 * @example
 * ```ts ignore
 * const settings: HostReaderSettings = { prefix: null, sudo: true, ... };
 * new HostReader(host, settings, ...);
 * ```
 */
export interface HostReaderSettings {
  prefix: string | null;
  sudo: boolean;
  journalctl: string;
  /** journalctl's `--output`. */
  output: "export" | "json";
  startAt: "beginning" | "end";
  maxBatch: number;
  lingerMs: number;
  maxLineBytes: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  connectTimeoutMs: number;
  /** How long journalctl must run without failing before the host counts as connected. */
  settleMs: number;
  /** The SSH receive window (and stream buffer) of a host's journalctl channel now, in bytes. */
  windowBytes: () => number;
  /** Parsed entries held over every host of the source. */
  budget: EntryBudget;
}

/**
 * The SSH window and stream buffer of each host's channel: what waits in
 * this process per host while the pipeline is behind (ssh2's own is a 2 MiB
 * window topped up even while paused, and a 2 MiB buffer). The source's
 * hosts share {@linkcode SHARED_WINDOW_BYTES}, each between 64 KiB (~60
 * entries, past a LAN's bandwidth-delay product) and 1 MiB: few hosts get
 * large chunks (less work per entry), 50 hosts stay small.
 *
 * @param hosts The source's hosts now.
 * @returns Bytes for each host's window.
 *
 * @example
 * ```ts
 * import { hostWindowBytes } from "./_ssh_journal_settings.ts";
 * console.assert(hostWindowBytes(1) === 1024 * 1024 && hostWindowBytes(50) === 83_886);
 * ```
 */
export function hostWindowBytes(hosts: number): number {
  return Math.max(
    64 * 1024,
    Math.min(1024 * 1024, Math.floor(SHARED_WINDOW_BYTES / Math.max(1, hosts))),
  );
}

/**
 * The window bytes the hosts of one source share (see {@linkcode hostWindowBytes}).
 *
 * @example
 * ```ts
 * import { hostWindowBytes, SHARED_WINDOW_BYTES } from "./_ssh_journal_settings.ts";
 * console.assert(hostWindowBytes(4) === SHARED_WINDOW_BYTES / 4);
 * ```
 */
export const SHARED_WINDOW_BYTES = 4 * 1024 * 1024;
