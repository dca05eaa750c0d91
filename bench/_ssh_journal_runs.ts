/**
 * The rate measurements of bench/ssh_journal.ts, per host set: the ceiling
 * (OpenSSH's `ssh … | wc -l`), ssh2 reading the source's command unparsed,
 * and the source itself through an engine into a counting sink.
 *
 * @module
 */

import process from "node:process";
import type { SshJournalHost } from "../sources/ssh_journal.ts";
import { connectSsh, exec } from "../ssh/mod.ts";
import { JOURNAL_USER } from "../tests/fixtures/journal/ssh_host.ts";
import { pullEngine } from "./_ssh_journal_memory.ts";

async function withDeadline<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} hung: over ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `ssh … sudo -n journalctl -o json | wc -l` for each host at once (the
 * issue's ceiling), or with `-o export` counting entries (`grep -c`, a line
 * `__CURSOR=` per entry), the format the source reads; entries/s over all.
 *
 * @param hosts The hosts (127.0.0.1, each journal in its first argument).
 * @param keyFile The client's private key.
 * @param output journalctl's output format.
 * @returns Entries a second over all hosts.
 *
 * @example
 * ```ts ignore
 * import { ceiling } from "./_ssh_journal_runs.ts";
 * declare const hosts: import("../sources/ssh_journal.ts").SshJournalHost[];
 * console.log(await ceiling(hosts, "/tmp/key"));
 * ```
 */
export async function ceiling(
  hosts: SshJournalHost[],
  keyFile: string,
  output: "json" | "export" = "json",
): Promise<number> {
  const count = output === "json" ? "wc -l" : "grep -ac '^__CURSOR='";
  const started = performance.now();
  const counts = await Promise.all(hosts.map(async (h) => {
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `ssh -i "$1" -p "$2" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$3@127.0.0.1" sudo -n journalctl -o ${output} --no-pager --all --quiet "$4" | ${count}`,
        "sh",
        keyFile,
        String(h.port),
        JOURNAL_USER,
        (h.args ?? [])[0] as string,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    const out = await child.output();
    clearTimeout(timer);
    return Number(new TextDecoder().decode(out.stdout).trim());
  }));
  const seconds = (performance.now() - started) / 1000;
  const total = counts.reduce((a, b) => a + b, 0);
  return total / seconds;
}

/**
 * ssh2 (through ssh/) running the source's own command (`-o export --follow --no-tail`) and
 * counting entries (empty lines) up to `perHost`, no parsing: the transport's ceiling for the
 * source. Newlines are found with `indexOf` (memchr, as `wc -l`), and the time
 * ends when the last host's last entry arrived, as the source's ends at its last entry stored:
 * neither counts its teardown.
 *
 * @param hosts The hosts.
 * @param perHost Entries to read from each.
 * @returns Entries a second over all hosts and this process's CPU µs per entry.
 *
 * @example
 * ```ts ignore
 * import { rawSsh2 } from "./_ssh_journal_runs.ts";
 * declare const hosts: import("../sources/ssh_journal.ts").SshJournalHost[];
 * const { rate, cpuUsPerEntry } = await rawSsh2(hosts, 20_000);
 * console.log(rate, cpuUsPerEntry);
 * ```
 */
export async function rawSsh2(
  hosts: SshJournalHost[],
  perHost: number,
): Promise<{ rate: number; cpuUsPerEntry: number }> {
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let last = started;
  const counts = await Promise.all(hosts.map(async (h) => {
    const conn = await connectSsh({
      host: "127.0.0.1",
      port: h.port as number,
      user: h.user,
      privateKeyFile: h.privateKeyFile,
      hostKeyFingerprint: h.hostKeyFingerprint as string,
    });
    try {
      const p = exec(conn, [
        "sudo",
        "-n",
        "journalctl",
        "-o",
        "export",
        "--no-pager",
        "--all",
        "--quiet",
        "--follow",
        "--no-tail",
        ...(h.args ?? []),
      ], { timeoutMs: 600_000, highWaterMark: 256 * 1024 });
      // An entry ends with an empty line: a newline right after a newline.
      let lines = 0;
      let prev = 0;
      for await (const chunk of p.stdout) {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
          if ((i === 0 ? prev : chunk[i - 1]) === 10) lines++;
        }
        prev = chunk[chunk.length - 1] ?? prev;
        if (lines >= perHost) break;
      }
      last = Math.max(last, performance.now());
      p.kill();
      await p.status.catch(() => {});
      return lines;
    } finally {
      await conn.end();
    }
  }));
  const total = counts.reduce((a, b) => a + b, 0);
  const cpu = process.cpuUsage(cpu0);
  return {
    rate: total / ((last - started) / 1000),
    cpuUsPerEntry: (cpu.user + cpu.system) / Math.max(1, total),
  };
}

/**
 * The source through an engine into a counting sink until `expect` entries; entries/s and peak RSS.
 *
 * @param hosts The hosts.
 * @param expect Entries over all hosts.
 * @param stateDir The engine's state directory.
 * @param worker SSH in a worker thread.
 * @returns Entries a second up to the last stored, RSS and CPU µs per entry.
 *
 * @example
 * ```ts ignore
 * import { source } from "./_ssh_journal_runs.ts";
 * declare const hosts: import("../sources/ssh_journal.ts").SshJournalHost[];
 * const { rate } = await source(hosts, 20_000, await Deno.makeTempDir());
 * console.log(rate);
 * ```
 */
export async function source(
  hosts: SshJournalHost[],
  expect: number,
  stateDir: string,
  worker = false,
): Promise<{ rate: number; peakRssMb: number; startRssMb: number; cpuUsPerEntry: number }> {
  const { engine, sink } = pullEngine(hosts, stateDir, worker);
  const startRss = Deno.memoryUsage().rss;
  let peak = startRss;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  await engine.start();
  try {
    await withDeadline(
      `the source reading ${expect} entries`,
      600_000,
      (async () => {
        while (sink.n < expect) {
          peak = Math.max(peak, Deno.memoryUsage().rss);
          await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
  } finally {
    await engine.stop();
  }
  // Up to the last entry stored, as ssh2's rate ends at its last entry read.
  const seconds = (sink.at - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    rate: sink.n / seconds,
    peakRssMb: peak / 2 ** 20,
    startRssMb: startRss / 2 ** 20,
    // This process's CPU (handshakes included) per entry: what a central pays when the hosts are elsewhere.
    cpuUsPerEntry: (cpu.user + cpu.system) / Math.max(1, sink.n),
  };
}
