/**
 * Runs example pipelines as child processes for end-to-end tests.
 *
 * @module
 */

const MAIN = new URL("../../runner/main.ts", import.meta.url).pathname;

/** A running `sluice` child process with its stderr collected. */
export interface Runner {
  child: Deno.ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Waits until stderr matches, then returns the match. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * SIGTERM, then the exit code; SIGKILL and an error naming the arguments
   * when it has not exited within `timeoutMs` (30 s).
   */
  stop(timeoutMs?: number): Promise<number>;
  /** SIGKILL, then waits for exit. */
  kill(): Promise<void>;
}

/** Starts `runner/main.ts` with the given arguments. */
export function startRunner(args: string[], cwd?: string): Runner {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
    ...(cwd ? { cwd } : {}),
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = (async () => {
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await pump;
    return s;
  });
  return {
    child,
    stderr: () => text,
    async waitFor(pattern, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const m = text.match(pattern);
        if (m) return m;
        if (exited) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`timed out waiting for ${pattern} in:\n${text}`);
    },
    async stop(timeoutMs = 30_000) {
      if (!exited) child.kill("SIGTERM");
      let hung = false;
      const timer = setTimeout(() => {
        hung = true;
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, timeoutMs);
      const s = await status.finally(() => clearTimeout(timer));
      if (hung) {
        throw new Error(`sluice ${args.join(" ")} did not stop within ${timeoutMs} ms of SIGTERM`);
      }
      return s.code;
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await status;
    },
  };
}
