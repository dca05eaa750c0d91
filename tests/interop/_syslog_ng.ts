/**
 * Runs a real syslog-ng for interop tests: in the foreground, with a temp
 * config, its own persist file, pid file and control socket, on loopback
 * ports, never as a system service. Tests skip (with a message) when the
 * binary is absent.
 *
 * @module
 */

import { runWithDeadline, which } from "../_peers.ts";
import { freePort } from "../_ports.ts";

/**
 * Path of syslog-ng, or `undefined` when it is not installed or
 * `SLUICE_TEST_HIDE_PEERS` hides it. Silent: the tests that need it say
 * why they skip with `peer("syslog-ng", "syslog-ng-core")`.
 */
export const SYSLOG_NG: string | undefined = which("syslog-ng");

/** A free TCP port on 127.0.0.1 (free now; taken by whoever binds it first). */
/** A free TCP port for a test peer: see {@linkcode freePort} in tests/_ports.ts. */
export { freePort };

/** Whether some socket listens on a TCP port of 127.0.0.1, read from /proc/net/tcp. */
function _listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(file);
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === "0A") return true;
    }
  }
  return false;
}

let _configVersion: string | undefined;

async function _version(binary: string): Promise<string> {
  if (_configVersion) return _configVersion;
  const text = (await runWithDeadline(binary, ["--version"], {
    timeoutMs: 30_000,
    what: "syslog-ng --version",
  })).stdout;
  _configVersion = /Config version: (\d+\.\d+)/.exec(text)?.[1] ?? "3.35";
  return _configVersion;
}

/** A running syslog-ng. */
export interface RunningSyslogNg {
  /** Its working directory (config, persist file, pid file, control socket). */
  dir: string;
  /** What it printed so far (it runs with `-e`, logging to stderr). */
  output(): string;
  /** Waits until it listens on a TCP port. */
  waitForListen(port: number, timeoutMs?: number): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts syslog-ng in the foreground with a config.
 *
 * @param dir A temporary directory for its files.
 * @param config The config body, without the `@version` line.
 * @returns The running process.
 */
export async function startSyslogNg(dir: string, config: string): Promise<RunningSyslogNg> {
  if (!SYSLOG_NG) throw new Error("syslog-ng is not installed");
  const version = await _version(SYSLOG_NG);
  const conf = `${dir}/syslog-ng.conf`;
  await Deno.writeTextFile(
    conf,
    `@version: ${version}\noptions { stats_freq(0); use_dns(no); dns_cache(no); };\n${config}\n`,
  );
  const child = new Deno.Command(SYSLOG_NG, {
    args: [
      "-F",
      "-e",
      "--no-caps",
      "-f",
      conf,
      "-R",
      `${dir}/syslog-ng.persist`,
      "-p",
      `${dir}/syslog-ng.pid`,
      "-c",
      `${dir}/syslog-ng.ctl`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  let stopped: Promise<void> | undefined;
  return {
    dir,
    output: () => text,
    async waitForListen(port, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!_listening(port)) {
        if (exited) throw new Error(`syslog-ng exited before listening:\n${text}`);
        if (Date.now() > deadline) {
          throw new Error(`syslog-ng did not listen on ${port} within ${timeoutMs} ms:\n${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop() {
      stopped ??= (async () => {
        if (!exited) {
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
          let timer: ReturnType<typeof setTimeout> | undefined;
          const killed = new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              try {
                child.kill("SIGKILL");
              } catch {
                // already gone
              }
              resolve();
            }, 10_000);
          });
          await Promise.race([status, killed]);
          clearTimeout(timer);
        }
        await status;
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([pumps, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}

/**
 * Waits until `pred()` holds, polling.
 *
 * @param pred The condition.
 * @param what What is waited for, for the error.
 * @param timeoutMs How long at most.
 * @param diagnostics Extra text for the error (a peer's output).
 */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  diagnostics: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\n${diagnostics()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
