/**
 * The agentless bench's source runs, each in a process of its own: the
 * rate, CPU and memory of `sshJournalSource` alone, not of the bench
 * process around it (which holds the journals it wrote and every earlier
 * run's garbage: measured in the bench process, the 10-host row's peak
 * swung by 190 MB with what had run before it).
 *
 * Run as a script, it reads a {@linkcode ChildJob} (JSON, first argument),
 * runs it and prints its result as JSON on the last line of stdout.
 *
 * @module
 */

import type { SshJournalHost } from "../sources/ssh_journal.ts";
import { inOwnProcess } from "./_children.ts";
import type { MemoryPeak } from "./_memory.ts";
import { manyHosts, type ManyHostsResult } from "./_ssh_journal_memory.ts";
import { source } from "./_ssh_journal_runs.ts";

/** One run: the source into a counting sink (`source`), or the 50-host memory run (`many`). */
export interface ChildJob {
  mode: "source" | "many";
  hosts: SshJournalHost[];
  /** Entries over all hosts. */
  expect: number;
  stateDir: string;
  /** SSH in a worker thread (`source` only). */
  worker?: boolean;
  /** The run's own deadline inside the child, ms. */
  deadlineMs: number;
}

/** What a `source` run gives: its rate, CPU per entry, and its process's peak memory. */
export interface SourceRun {
  rate: number;
  cpuUsPerEntry: number;
  memory: MemoryPeak;
}

async function _inChild(job: ChildJob): Promise<unknown> {
  const { value, memory } = await inOwnProcess<Record<string, unknown>>(
    new URL(import.meta.url),
    job,
    `sshJournalSource (${job.mode}, ${job.hosts.length} hosts, ${job.expect} entries) in its process`,
    // The child has its own deadline; this one catches a child that hangs past it.
    job.deadlineMs + 30_000,
  );
  return { ...value, memory };
}

/**
 * `source()` of bench/_ssh_journal_runs.ts in a process of its own, started
 * with the flags `deno task start` ships; its memory sampled from outside.
 *
 * @param hosts The hosts.
 * @param expect Entries over all hosts.
 * @param stateDir The engine's state directory.
 * @param worker SSH in a worker thread.
 * @returns Rate, CPU µs per entry (the child's own, from before its engine started) and peaks.
 *
 * @example
 * ```ts ignore
 * import { sourceInChild } from "./_ssh_journal_child.ts";
 * declare const hosts: import("../sources/ssh_journal.ts").SshJournalHost[];
 * const { rate, memory } = await sourceInChild(hosts, 100_000, "/tmp/state");
 * ```
 */
export async function sourceInChild(
  hosts: SshJournalHost[],
  expect: number,
  stateDir: string,
  worker = false,
): Promise<SourceRun> {
  const r = await _inChild({
    mode: "source",
    hosts,
    expect,
    stateDir,
    worker,
    deadlineMs: 600_000,
  });
  return r as SourceRun;
}

/**
 * `manyHosts()` of bench/_ssh_journal_memory.ts in a process of its own,
 * which samples its own memory (the halves need the sink's count).
 *
 * @param hosts The hosts (50 sessions).
 * @param expect Entries over all hosts.
 * @param stateDir The engine's state directory.
 * @param deadlineMs The run's deadline.
 * @returns What `manyHosts` measured, for the child.
 *
 * @example
 * ```ts ignore
 * import { manyHostsInChild } from "./_ssh_journal_child.ts";
 * declare const hosts: import("../sources/ssh_journal.ts").SshJournalHost[];
 * const r = await manyHostsInChild(hosts, 50 * 10_000, "/tmp/state", 600_000);
 * ```
 */
export async function manyHostsInChild(
  hosts: SshJournalHost[],
  expect: number,
  stateDir: string,
  deadlineMs: number,
): Promise<ManyHostsResult> {
  return await _inChild({ mode: "many", hosts, expect, stateDir, deadlineMs }) as ManyHostsResult;
}

if (import.meta.main) {
  const job = JSON.parse(Deno.args[0] ?? "{}") as ChildJob;
  const result = job.mode === "many"
    ? await manyHosts(job.hosts, job.expect, job.stateDir, job.deadlineMs)
    : await source(job.hosts, job.expect, job.stateDir, job.worker ?? false);
  console.log(JSON.stringify(result));
}
