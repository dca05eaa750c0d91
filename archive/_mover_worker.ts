/**
 * The thread of the central's archive passes ({@linkcode archiveInWorker}):
 * the move from SQLite into Parquet is CPU work done in long synchronous
 * stretches (a row group encoded and compressed at once), which on the
 * central's own thread would hold up its sources for as long. Here it runs
 * beside them, and the OS shares the cores. One request at a time: a pass,
 * answered with its summary or its error, and its log lines as they come.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { setPriority } from "node:os";
import { archiveOnce, type ArchiveOptions, type ArchiveSummary } from "./mover.ts";
import { describeShares, restSignal } from "./_rest.ts";

/** A request: one pass with these options (no hooks: they do not cross threads). */
export type MoverRequest =
  & Omit<
    ArchiveOptions,
    "log" | "onStep" | "now" | "busy" | "onCommitThread"
  >
  & {
    /**
     * Rest (`restRatio`) only while the central is busy: one of the process's
     * other threads was on a CPU at least this share of the time
     * (archive/_rest.ts). @default {unset: rest after every part}
     */
    busyShare?: number;
    /**
     * The thread's nice value (Linux: this thread only; the central's
     * threads keep theirs): with 19 the OS gives the central's sources a
     * core before the mover. Where it cannot be set, the pass runs as it is.
     * @default {unchanged}
     */
    nice?: number;
  };

/** What the thread posts: log lines during a pass, then its end. */
export type MoverMessage =
  | { log: "debug" | "info" | "warn" | "error"; message: string }
  | { summary: ArchiveSummary }
  | { error: string };

const _log = (level: "debug" | "info" | "warn" | "error") => (message: string) =>
  self.postMessage({ log: level, message } satisfies MoverMessage);
const _logger = {
  debug: _log("debug"),
  info: _log("info"),
  warn: _log("warn"),
  error: _log("error"),
  child() {
    return _logger;
  },
};

self.onmessage = async (e: MessageEvent<MoverRequest>) => {
  const { nice, busyShare, ...request } = e.data;
  if (nice !== undefined) {
    try {
      // Pid 0 is the calling thread on Linux: this one, not the central's.
      setPriority(0, nice);
    } catch (err) {
      _logger.debug(`archive: the mover's nice value stays (${(err as Error).message})`);
    }
  }
  try {
    // Made here, on the mover's thread: the signal leaves the calling thread out.
    const signal = busyShare === undefined ? undefined : restSignal({ busyShare });
    const summary = await archiveOnce({
      ...request,
      log: _logger,
      // The commit thread runs at this thread's nice value, and is the pass's, not the central's.
      ...(nice !== undefined ? { commitNice: nice } : {}),
      onCommitThread: (tid) => signal?.ignore(tid),
      ...(signal ? { busy: signal.busy } : {}),
    });
    if (busyShare !== undefined) {
      _logger.info(
        `archive: the central's load over the pass: ${
          signal ? describeShares(signal.shares) : "not known here (rested after every part)"
        }`,
      );
    }
    self.postMessage({ summary } satisfies MoverMessage);
  } catch (err) {
    self.postMessage(
      { error: err instanceof Error ? err.message : String(err) } satisfies MoverMessage,
    );
  }
};
