/**
 * Agentless collection speed: entries per second that `sshJournalSource`
 * pulls from one host and from 10 hosts at once, beside the ceiling in the
 * same run (OpenSSH's `ssh host sudo -n journalctl -o json | wc -l`, one per
 * host at once) and beside ssh2 reading the same output without parsing it;
 * then the source's memory with 50 hosts. Real peers: OpenSSH's sshd on
 * 127.0.0.1, a user allowed only `sudo -n journalctl`, journals written by
 * systemd-journal-remote (tests/fixtures/journal/). Needs root.
 *
 * ```sh
 * deno run -A bench/ssh_journal.ts          # 100k entries per host
 * deno run -A bench/ssh_journal.ts --quick  # 20k
 * ```
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import type { LogEvent } from "../core/event.ts";
import type { Sink } from "../core/types.ts";
import { type SshJournalHost, sshJournalSource } from "../sources/ssh_journal.ts";
import { connectSsh, exec } from "../ssh/mod.ts";
import { makeJournal } from "../tests/fixtures/journal/journal.ts";
import {
  ensureJournalUsers,
  JOURNAL_USER,
  journalHostMissing,
  startJournalSshd,
} from "../tests/fixtures/journal/ssh_host.ts";
import { writeClientKey } from "../tests/fixtures/ssh/keys.ts";
import process from "node:process";

const quick = Deno.args.includes("--quick");
const PER_HOST = quick ? 20_000 : 100_000;
const MEMORY_HOSTS = 50;
const MEMORY_PER_HOST = quick ? 2_000 : 10_000;

function counter(): Sink & { n: number } {
  const sink = {
    kind: "count",
    n: 0,
    open: () => Promise.resolve(),
    write(batch: readonly LogEvent[]) {
      sink.n += batch.length;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return sink;
}

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

/** `ssh … sudo -n journalctl -o json | wc -l` for each host at once; entries/s over all. */
async function ceiling(hosts: SshJournalHost[], keyFile: string): Promise<number> {
  const started = performance.now();
  const counts = await Promise.all(hosts.map(async (h) => {
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'ssh -i "$1" -p "$2" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$3@127.0.0.1" sudo -n journalctl -o json --no-pager --all --quiet "$4" | wc -l',
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
 * ssh2 (through ssh/) running the source's own command (`--follow --no-tail`, slower on the
 * host than a plain dump) and counting newlines up to `perHost`, no parsing: the transport's
 * ceiling for the source.
 */
async function rawSsh2(hosts: SshJournalHost[], perHost: number): Promise<number> {
  const started = performance.now();
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
        "json",
        "--no-pager",
        "--all",
        "--quiet",
        "--follow",
        "--no-tail",
        ...(h.args ?? []),
      ], { timeoutMs: 600_000, highWaterMark: 256 * 1024 });
      let lines = 0;
      for await (const chunk of p.stdout) {
        for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
        if (lines >= perHost) break;
      }
      p.kill();
      await p.status.catch(() => {});
      return lines;
    } finally {
      await conn.end();
    }
  }));
  const total = counts.reduce((a, b) => a + b, 0);
  return total / ((performance.now() - started) / 1000);
}

/** The source through an engine into a counting sink until `expect` entries; entries/s and peak RSS. */
async function source(
  hosts: SshJournalHost[],
  expect: number,
  stateDir: string,
): Promise<{ rate: number; peakRssMb: number; startRssMb: number; cpuUsPerEntry: number }> {
  const sink = counter();
  const engine = new Engine(
    definePipeline({
      sources: { pull: sshJournalSource({ hosts, maxBatch: 2000 }) },
      paths: [{ from: ["pull"], to: [sink] }],
    }),
    { stateDir, logger: createLogger("error") },
  );
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
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    rate: sink.n / seconds,
    peakRssMb: peak / 2 ** 20,
    startRssMb: startRss / 2 ** 20,
    // This process's CPU (handshakes included) per entry: what a central pays when the hosts are elsewhere.
    cpuUsPerEntry: (cpu.user + cpu.system) / Math.max(1, sink.n),
  };
}

async function main(): Promise<void> {
  const missing = journalHostMissing();
  if (missing) {
    console.log(`bench/ssh_journal.ts: skipped, needs ${missing}`);
    return;
  }
  await ensureJournalUsers();
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-ssh-journal-" });
  await Deno.chmod(dir, 0o755);
  const closers: Array<() => Promise<void>> = [];
  try {
    const key = await writeClientKey(dir);
    const hosts: SshJournalHost[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const journal = await makeJournal(dir, `journal-${i}`, `bench-${i}`);
      await journal.append(PER_HOST);
      const sshd = await startJournalSshd(`${dir}/sshd-${i}`, key.publicKey);
      closers.push(() => sshd.close());
      hosts.push({
        name: `bench-${i}`,
        address: "127.0.0.1",
        port: sshd.port,
        user: JOURNAL_USER,
        privateKeyFile: key.file,
        hostKeyFingerprint: sshd.fingerprint,
        args: [`--directory=${journal.dir}`],
      });
    }
    console.log(
      `# ${PER_HOST} entries per host written to 10 journals in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    const rows: string[] = [];
    const row = (what: string, rate: number, ceil: number, extra = "") => {
      const line = `| ${what} | ${Math.round(rate).toLocaleString("en")} | ${
        Math.round(ceil).toLocaleString("en")
      } | ${(rate / ceil).toFixed(2)}x | ${extra} |`;
      rows.push(line);
      console.log(line);
    };
    console.log("| case | entries/s | ceiling (ssh | wc -l) | ratio | notes |");
    console.log("| --- | --- | --- | --- | --- |");
    for (const n of [1, 10]) {
      const set = hosts.slice(0, n);
      const ceil = await ceiling(set, key.file);
      const raw = await rawSsh2(set, PER_HOST);
      const s = await source(set, n * PER_HOST, `${dir}/state-${n}`);
      row(
        `sshJournalSource, ${n} host${n > 1 ? "s" : ""}`,
        s.rate,
        ceil,
        `ssh2 reading the same --follow command unparsed ${
          Math.round(raw).toLocaleString("en")
        }/s (${(s.rate / raw).toFixed(2)}x); ${s.cpuUsPerEntry.toFixed(0)} µs CPU/entry; peak RSS ${
          s.peakRssMb.toFixed(0)
        } MB`,
      );
    }
    // 50 hosts: one sshd, 50 sessions, each reading its own journal of MEMORY_PER_HOST entries.
    const memJournal = await makeJournal(dir, "journal-mem", "mem");
    await memJournal.append(MEMORY_PER_HOST);
    const many = Array.from({ length: MEMORY_HOSTS }, (_, i) => ({
      ...(hosts[i % 10] as SshJournalHost),
      name: `mem-${i}`,
      args: [`--directory=${memJournal.dir}`],
    }));
    const m = await source(many, MEMORY_HOSTS * MEMORY_PER_HOST, `${dir}/state-mem`);
    console.log(
      `# ${MEMORY_HOSTS} hosts x ${MEMORY_PER_HOST}: ${
        Math.round(m.rate).toLocaleString("en")
      } entries/s, RSS ${m.startRssMb.toFixed(0)} MB before, peak ${m.peakRssMb.toFixed(0)} MB`,
    );
  } finally {
    for (const c of closers) await c().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
