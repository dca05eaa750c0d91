/**
 * Reads the systemd journal through `journalctl -o json`, following it and
 * resuming after the last acknowledged entry by its cursor. Entries become
 * events in sources/_journal_entries.ts (re-exported here).
 *
 * @module
 */

import { backoff, sleep } from "../core/backoff.ts";
import { LineFramer } from "../core/framing.ts";
import type { Source, SourceContext } from "../core/types.ts";
import { countJournalLines, journalLinesToEvents } from "./_journal_entries.ts";

export * from "./_journal_entries.ts";

/** Options for {@linkcode journaldSource}. */
export interface JournaldSourceOptions {
  /**
   * journalctl matches, e.g. `["_SYSTEMD_UNIT=ssh.service"]`; matches of
   * different fields must all hold, `"+"` between groups means "or".
   * @default {[]} (every entry)
   */
  matches?: string[];
  /** Journal files to read (`--file`); journalctl cannot follow files, so the source ends at their end. */
  file?: string | string[];
  /** A journal directory to read (`--directory`), e.g. one written by `systemd-journal-remote`. */
  directory?: string;
  /** The journalctl program. @default {"journalctl"} */
  journalctl?: string;
  /** Where to start without a saved cursor. @default {"beginning"} */
  startAt?: "beginning" | "end";
  /** Keep running and read new entries as they come (`-f`). @default {true} unless `file` is given */
  follow?: boolean;
  /** Longest JSON entry in bytes; a longer one is cut, cannot be parsed, and is counted. @default {1048576} */
  maxLineBytes?: number;
  /** Field under which every journal field is kept; `null` keeps none. @default {"journald"} */
  prefix?: string | null;
  /** Host name used in event ids. @default {Deno.hostname()} */
  host?: string;
  /** More journalctl arguments, e.g. `["--boot"]` or `["--unit", "ssh"]`. @default {[]} */
  args?: string[];
  /** A name for stats and state. */
  name?: string;
}

const _MATCH = /^[A-Z0-9_]+=.*$/s;
function _hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Reads the systemd journal by running `journalctl -o json` (following with
 * `-f` unless told otherwise), optionally limited by matches such as
 * `_SYSTEMD_UNIT=ssh.service`, or reads journal files (`file`) or a journal
 * directory (`directory`, e.g. one written by `systemd-journal-remote`).
 *
 * Each entry becomes an event (see {@linkcode journalEntryToEvent}) whose id
 * comes from the entry's cursor. The cursor of the last acknowledged entry
 * is kept in the state directory; after a restart journalctl starts with
 * `--after-cursor`. If journalctl exits while following, it is started
 * again with back-off. Entries journalctl cannot give as JSON, or too long
 * to parse, are counted as errors (`unparsed_entries`).
 *
 * @param options Matches, journal location, start, limits.
 * @returns The source.
 * @throws {TypeError} When a match is not `FIELD=value` or `+`, or an option has the wrong type.
 * @throws {RangeError} When `maxLineBytes` is out of range.
 *
 * @example Follow sshd
 * ```ts
 * import { journaldSource } from "./journald.ts";
 * const source = journaldSource({ matches: ["_SYSTEMD_UNIT=ssh.service"] });
 * ```
 */
export function journaldSource(options: JournaldSourceOptions = {}): Source {
  const matches = options.matches ?? [];
  if (!Array.isArray(matches)) {
    throw new TypeError(`journaldSource: "matches" must be an array of strings`);
  }
  for (const m of matches) {
    if (typeof m !== "string" || (m !== "+" && !_MATCH.test(m))) {
      throw new TypeError(
        `journaldSource: each match must be "FIELD=value" (upper-case field) or "+", got ${
          JSON.stringify(m)
        }`,
      );
    }
  }
  if (
    options.startAt !== undefined && options.startAt !== "beginning" && options.startAt !== "end"
  ) {
    throw new TypeError(
      `journaldSource: "startAt" must be "beginning" or "end", got ${
        JSON.stringify(options.startAt)
      }`,
    );
  }
  const maxLine = options.maxLineBytes ?? 1 << 20;
  if (!Number.isInteger(maxLine) || maxLine < 1024) {
    throw new RangeError(
      `journaldSource: "maxLineBytes" must be an integer of at least 1024, got ${
        JSON.stringify(options.maxLineBytes)
      }`,
    );
  }
  const files = options.file === undefined
    ? []
    : Array.isArray(options.file)
    ? options.file
    : [options.file];
  const follow = options.follow ?? files.length === 0;
  const program = options.journalctl ?? "journalctl";
  const prefix = options.prefix === undefined ? "journald" : options.prefix;

  let child: Deno.ChildProcess | undefined;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let wakeSleep: AbortController | undefined;
  let emitting = false;
  let signal: AbortSignal | undefined;

  const buildArgs = (cursor: string | undefined): string[] => {
    const args = ["--output=json", "--all", "--no-pager", "--quiet"];
    if (follow) args.push("--follow");
    if (cursor) {
      args.push(`--after-cursor=${cursor}`);
      // --follow alone shows only the last 10 entries, even after a cursor.
      if (follow) args.push("--no-tail");
    } else if (options.startAt === "end") args.push("--lines=0");
    else if (follow) args.push("--no-tail");
    for (const f of files) args.push(`--file=${f}`);
    if (options.directory !== undefined) args.push(`--directory=${options.directory}`);
    args.push(...(options.args ?? []), ...matches);
    return args;
  };

  /** Runs journalctl once; resolves with its exit status and the end of its stderr. */
  const runOnce = async (
    ctx: SourceContext,
    host: string,
    from: { cursor: string | undefined },
  ): Promise<{ code: number; stderr: string; entries: number }> => {
    const command = new Deno.Command(program, {
      args: buildArgs(from.cursor),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    child = command.spawn();
    const proc = child;
    let stderr = "";
    const errDone = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr) {
        stderr = (stderr + decoder.decode(chunk, { stream: true })).slice(-4096);
      }
    })().catch(() => {});
    const framer = new LineFramer({ maxLineBytes: maxLine });
    let entries = 0;
    const reader = proc.stdout.getReader();
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        const framed = framer.push(value);
        if (framed.lines.length === 0) continue;
        const parsed = journalLinesToEvents(framed, host, prefix, Date.now());
        countJournalLines(ctx, parsed);
        const batch = parsed.events;
        const last = parsed.cursor;
        entries += batch.length;
        if (last === undefined) continue;
        from.cursor = last;
        ctx.stats.received += batch.length;
        const cursor = last;
        emitting = true;
        try {
          await ctx.emit(batch, () => ctx.state.set("cursor", cursor));
        } finally {
          emitting = false;
        }
        if (stopped) break;
      }
    } finally {
      reader.releaseLock();
    }
    if (stopped) {
      try {
        proc.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    await proc.stdout.cancel().catch(() => {});
    const status = await proc.status;
    await errDone;
    child = undefined;
    return { code: status.code, stderr: stderr.trim(), entries };
  };

  const run = async (ctx: SourceContext) => {
    const host = options.host ?? _hostname();
    const saved = ctx.state.get("cursor");
    const from = { cursor: typeof saved === "string" ? saved : undefined };
    let failures = 0;
    while (!stopped) {
      let result: { code: number; stderr: string; entries: number };
      try {
        result = await runOnce(ctx, host, from);
      } catch (err) {
        result = { code: -1, stderr: String(err), entries: 0 };
      }
      if (stopped) break;
      if (result.code === 0 && !follow) break;
      ctx.stats.errors++;
      if (/cursor/i.test(result.stderr) && from.cursor && result.entries === 0) {
        ctx.log.warn("journalctl rejected the saved cursor; starting without it", {
          cursor: from.cursor,
          stderr: result.stderr,
        });
        from.cursor = undefined;
        ctx.state.delete("cursor");
        continue;
      }
      if (!follow) {
        ctx.log.error(`journalctl exited with code ${result.code}`, { stderr: result.stderr });
        break;
      }
      failures = result.entries > 0 ? 1 : failures + 1;
      const wait = backoff(failures, { initialMs: 500, maxMs: 30_000 });
      ctx.log.error(`journalctl exited with code ${result.code}; starting it again in ${wait} ms`, {
        stderr: result.stderr,
      });
      wakeSleep = new AbortController();
      await sleep(wait, AbortSignal.any([wakeSleep.signal, ctx.signal]));
    }
  };

  return {
    kind: "journald",
    ...(options.name ? { name: options.name } : {}),
    // A source that follows the journal never finishes.
    ...(follow ? {} : { done }),
    start(ctx) {
      signal = ctx.signal;
      loop = run(ctx)
        .catch((err) => {
          ctx.stats.errors++;
          ctx.log.error("journald source failed", { error: String(err) });
        })
        .finally(resolveDone);
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      wakeSleep?.abort();
      try {
        child?.kill("SIGTERM");
      } catch {
        // already gone
      }
      // An emit() held up by a sink that cannot write must not hold the stop up:
      // the entries are not acknowledged and are read again after a restart.
      while (loop && !(await _settlesWithin(loop, 100))) {
        if (emitting && signal?.aborted) break;
      }
    },
  };
}

/** Waits for a promise at most `ms`; `true` when it settled. */
function _settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true, () => true), timeout]).finally(() =>
    clearTimeout(timer)
  );
}
