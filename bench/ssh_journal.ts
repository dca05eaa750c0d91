/**
 * Agentless collection speed: entries per second that `sshJournalSource`
 * pulls from one host and from 10 hosts at once, beside the ceiling in the
 * same run (the issue's: OpenSSH's `ssh host sudo -n journalctl -o json |
 * wc -l`, one per host at once; and the same with `-o export`, the format the
 * source reads) and beside ssh2 reading the source's own command without
 * parsing it; then the source's memory with 50 hosts. Real peers: OpenSSH's
 * sshd on 127.0.0.1, a user allowed only `sudo -n journalctl`, journals
 * written by systemd-journal-remote (tests/fixtures/journal/). Needs root.
 *
 * The issue's goal (≥ 0.8x) is against the JSON ceiling; the rows beside
 * ssh2 unparsed are alternated in the same run; the CPU this process
 * spends per 100k entries is the figure that the machine's load moves least.
 * Each run of the source is a process of its own (bench/_ssh_journal_child.ts),
 * started with the V8 flags `deno task start` ships, so its memory and CPU
 * are the source's alone.
 *
 * ```sh
 * deno task bench ssh_journal               # as a scenario of the suite
 * deno run -A bench/ssh_journal.ts          # 100k entries per host
 * deno run -A bench/ssh_journal.ts --quick  # 20k
 * ```
 *
 * `BENCH_SSH_JOURNAL_ENTRIES` (entries per host) and `BENCH_SSH_JOURNAL_RUNS`
 * (alternated runs of ssh2 and the source; the median is reported) change the
 * sizes; `BENCH_SSH_JOURNAL_COMPARE=worker` adds to each round the source with
 * SSH in a worker thread (`worker: true`), and rows for it.
 *
 * @module
 */

import type { SshJournalHost } from "../sources/ssh_journal.ts";
import { makeJournal } from "../tests/fixtures/journal/journal.ts";
import {
  ensureJournalUsers,
  JOURNAL_USER,
  journalHostMissing,
  startJournalSshd,
} from "../tests/fixtures/journal/ssh_host.ts";
import { writeClientKey } from "../tests/fixtures/ssh/keys.ts";
import { memoryFields } from "./_memory.ts";
import { manyHostsInChild, sourceInChild } from "./_ssh_journal_child.ts";
import { isFlat, type ManyHostsResult } from "./_ssh_journal_memory.ts";
import { ceiling, rawSsh2 } from "./_ssh_journal_runs.ts";
import { type MeasuredRow, type MeasuredScenario, spread } from "./lib.ts";

const MEMORY_HOSTS = 50;

/** What one run of the scenario measured, per host count. */
interface _Case {
  hosts: number;
  /** `ssh … | wc -l` entries/s, one per round (the issue's ceiling). */
  ceiling: number[];
  /** The same with `-o export`, the format the source reads. */
  ceilingExport: number[];
  raw: number[];
  rawCpu: number[];
  rate: number[];
  cpu: number[];
  /** The source with SSH in a worker thread (`BENCH_SSH_JOURNAL_COMPARE=worker`), same rounds. */
  rateWorker: number[];
  cpuWorker: number[];
  peakWorker: ReturnType<typeof memoryFields>;
  peak: ReturnType<typeof memoryFields>;
}

/** Journals, sshds and the measurements; `log` prints progress. */
async function measure(
  dir: string,
  perHost: number,
  runs: number,
  memoryPerHost: number,
  log: (line: string) => void,
): Promise<{ cases: _Case[]; many: ManyHostsResult[] }> {
  await ensureJournalUsers();
  await Deno.chmod(dir, 0o755);
  // BENCH_SSH_JOURNAL_ONLY=memory: the 50-host row alone (no 1- and 10-host journals).
  const memoryOnly = Deno.env.get("BENCH_SSH_JOURNAL_ONLY") === "memory";
  // BENCH_SSH_JOURNAL_COMPARE=worker: each round also runs the source with SSH in a worker thread.
  const compareWorker = Deno.env.get("BENCH_SSH_JOURNAL_COMPARE") === "worker";
  const closers: Array<() => Promise<void>> = [];
  try {
    const key = await writeClientKey(dir);
    const hosts: SshJournalHost[] = [];
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      const journal = await makeJournal(dir, `journal-${i}`, `bench-${i}`);
      if (!memoryOnly) await journal.append(perHost);
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
    log(
      `# ${memoryOnly ? 0 : perHost} entries per host written to 10 journals in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    const cases: _Case[] = [];
    for (const n of memoryOnly ? [] : [1, 10]) {
      const set = hosts.slice(0, n);
      const c: _Case = {
        hosts: n,
        ceiling: [],
        ceilingExport: [],
        raw: [],
        rawCpu: [],
        rate: [],
        cpu: [],
        rateWorker: [],
        cpuWorker: [],
        peakWorker: memoryFields({ rssMb: 0, privateMb: 0, pssMb: 0 }),
        peak: memoryFields({ rssMb: 0, privateMb: 0, pssMb: 0 }),
      };
      // Alternated, so that the machine's load falls on both alike.
      for (let r = 0; r < runs; r++) {
        c.ceiling.push(await ceiling(set, key.file));
        c.ceilingExport.push(await ceiling(set, key.file, "export"));
        const raw = await rawSsh2(set, perHost);
        c.raw.push(raw.rate);
        c.rawCpu.push(raw.cpuUsPerEntry);
        const s = await sourceInChild(set, n * perHost, `${dir}/state-${n}-${r}`);
        const memory = s.memory;
        c.rate.push(s.rate);
        c.cpu.push(s.cpuUsPerEntry);
        c.peak = memoryFields(memory);
        if (compareWorker) {
          const m = await sourceInChild(set, n * perHost, `${dir}/state-worker-${n}-${r}`, true);
          const mm = m.memory;
          c.peakWorker = memoryFields(mm);
          c.rateWorker.push(m.rate);
          c.cpuWorker.push(m.cpuUsPerEntry);
          log(
            `# ${n} host(s), run ${r + 1}: source, SSH in a worker thread ${Math.round(m.rate)}/s ${
              m.cpuUsPerEntry.toFixed(1)
            } µs/entry (${(m.rate / raw.rate).toFixed(2)}x)`,
          );
        }
        log(
          `# ${n} host(s), run ${r + 1}: ssh2 ${Math.round(raw.rate)}/s ${
            raw.cpuUsPerEntry.toFixed(1)
          } µs/entry; source ${Math.round(s.rate)}/s ${s.cpuUsPerEntry.toFixed(1)} µs/entry (${
            (s.rate / raw.rate).toFixed(2)
          }x), load ${(Deno.loadavg()[0] ?? 0).toFixed(1)}`,
        );
      }
      cases.push(c);
    }
    // 50 hosts: one sshd, 50 sessions, each reading its own journal of memoryPerHost entries.
    const memJournal = await makeJournal(dir, "journal-mem", "mem");
    await memJournal.append(memoryPerHost);
    const many = Array.from({ length: MEMORY_HOSTS }, (_, i) => ({
      ...(hosts[i % 10] as SshJournalHost),
      name: `mem-${i}`,
      args: [`--directory=${memJournal.dir}`],
    }));
    const runsMem: ManyHostsResult[] = [];
    for (let r = 0; r < runs; r++) {
      const m = await manyHostsInChild(
        many,
        MEMORY_HOSTS * memoryPerHost,
        `${dir}/state-mem-${r}`,
        600_000,
      );
      runsMem.push(m);
      log(`# ${MEMORY_HOSTS} hosts x ${memoryPerHost}, run ${r + 1}: ${_memLine(m)}`);
    }
    return { cases, many: runsMem };
  } finally {
    for (const c of closers) await c().catch(() => {});
  }
}

function _memLine(m: ManyHostsResult): string {
  return `${Math.round(m.rate).toLocaleString("en")} entries/s, private ${
    m.startPrivateMb.toFixed(0)
  } MB before, peak ${m.peakPrivateMb.toFixed(0)} MB (first half ${
    m.firstHalfMb.toFixed(0)
  }, second half ${m.secondHalfMb.toFixed(0)}: ${isFlat(m) ? "flat" : "grows"}), peak RSS ${
    m.peakRssMb.toFixed(0)
  } MB`;
}

/** Lets the journal user through every directory above `path` (the suite's temp dirs are 0700). */
async function _openUp(path: string): Promise<void> {
  for (
    let p = path;
    p !== "/" && p.startsWith("/tmp/");
    p = p.slice(0, p.lastIndexOf("/")) || "/"
  ) {
    const mode = (await Deno.stat(p)).mode ?? 0;
    await Deno.chmod(p, (mode & 0o7777) | 0o711);
  }
}

function _sizes(quick: boolean): { perHost: number; runs: number; memoryPerHost: number } {
  const perHost = Number(
    Deno.env.get("BENCH_SSH_JOURNAL_ENTRIES") ?? (quick ? 20_000 : 100_000),
  );
  return {
    perHost,
    runs: Number(Deno.env.get("BENCH_SSH_JOURNAL_RUNS") ?? (quick ? 1 : 2)),
    memoryPerHost: Number(
      Deno.env.get("BENCH_SSH_JOURNAL_MEMORY_ENTRIES") ?? Math.max(1000, Math.round(perHost / 10)),
    ),
  };
}

/**
 * The suite's agentless scenario: per host count, the source's entries/s
 * beside ssh2 reading the same command unparsed (the reference), the CPU
 * per 100k entries, and the 50-host memory row.
 *
 * @example Run it the way `bench/main.ts` does (needs root, sshd and systemd-journal-remote)
 * ```ts ignore
 * import { scenario } from "./ssh_journal.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * console.log(rows.map((r) => `${r.subject}: ${r.value} ${r.unit}`).join("\n"));
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const missing = journalHostMissing();
  const subject = (n: number) => `sshJournalSource, ${n} host${n > 1 ? "s" : ""}`;
  if (missing) {
    return [1, 10].map((n) => ({
      scenario: "ssh_journal",
      subject: subject(n),
      value: 0,
      unit: "entries/s",
      skipped: `needs ${missing}`,
    }));
  }
  const { perHost, runs, memoryPerHost } = _sizes(quick);
  // sshd reads authorized_keys as the journal user: the suite's own scratch directory is 0700.
  const own = await Deno.makeTempDir({ dir, prefix: "ssh-journal-" });
  let measured;
  try {
    await _openUp(own);
    measured = await measure(own, perHost, runs, memoryPerHost, (l) => console.error(l));
  } finally {
    await Deno.remove(own, { recursive: true }).catch(() => {});
  }
  const { cases, many } = measured;
  const rows: MeasuredRow[] = cases.map((c) => {
    const cpu = spread(c.cpu).median;
    return {
      scenario: "ssh_journal",
      subject: subject(c.hosts),
      value: spread(c.rate).median,
      unit: "entries/s",
      runs: c.rate,
      reference: { subject: "ssh2 exec, same command, unparsed", value: spread(c.raw).median },
      note: `${(cpu * 0.1).toFixed(2)} CPU s per 100k entries (ssh2 unparsed ${
        (spread(c.rawCpu).median * 0.1).toFixed(2)
      }); ssh | wc -l ${
        Math.round(spread(c.ceiling).median).toLocaleString("en")
      }/s; ${perHost} entries per host`,
      ...c.peak,
    };
  });
  // The issue's own goal: >= 0.8x of OpenSSH's `ssh host journalctl -o json | wc -l` in the same
  // run. The rows above hold the source to a stricter reference (ssh2 in this process, unparsed).
  for (const c of cases) {
    const perRound = c.rate.map((r, i) => r / (c.ceiling[i] as number));
    rows.push({
      scenario: "ssh_journal",
      subject: `${subject(c.hosts)}, against the issue's ceiling`,
      value: spread(c.rate).median,
      unit: "entries/s",
      runs: c.rate,
      reference: {
        subject: "ssh host sudo -n journalctl -o json | wc -l (OpenSSH, one per host)",
        value: spread(c.ceiling).median,
      },
      note: `goal >= 0.8x; per round ${perRound.map((x) => `${x.toFixed(2)}x`).join(", ")}`,
      ...c.peak,
    });
    // The same job in the format the source reads: what OpenSSH alone does with it.
    const perRoundExport = c.rate.map((r, i) => r / (c.ceilingExport[i] as number));
    rows.push({
      scenario: "ssh_journal",
      subject: `${subject(c.hosts)}, against the same ceiling in export format`,
      value: spread(c.rate).median,
      unit: "entries/s",
      runs: c.rate,
      reference: {
        subject:
          "ssh host sudo -n journalctl -o export | grep -c ^__CURSOR= (OpenSSH, one per host)",
        value: spread(c.ceilingExport).median,
      },
      note: `the source reads -o export; per round ${
        perRoundExport.map((x) => `${x.toFixed(2)}x`).join(", ")
      }`,
      ...c.peak,
    });
  }
  for (const c of cases.filter((c) => c.rateWorker.length > 0)) {
    rows.push({
      scenario: "ssh_journal",
      subject: `${subject(c.hosts)}, SSH in a worker thread`,
      value: spread(c.rateWorker).median,
      unit: "entries/s",
      runs: c.rateWorker,
      reference: { subject: "ssh2 exec, same command, unparsed", value: spread(c.raw).median },
      note: `${(spread(c.cpuWorker).median * 0.1).toFixed(2)} CPU s per 100k entries`,
      ...c.peakWorker,
    });
  }
  const rates = many.map((m) => m.rate);
  const mid = many.find((m) => m.rate === spread(rates).median) as ManyHostsResult;
  const priv = many.map((m) => m.peakPrivateMb);
  rows.push({
    scenario: "ssh_journal",
    subject: `sshJournalSource, ${MEMORY_HOSTS} hosts x ${memoryPerHost}`,
    value: mid.rate,
    unit: "entries/s",
    runs: rates,
    note: `peak private ${spread(priv).min.toFixed(0)}-${spread(priv).max.toFixed(0)} MB (${
      mid.startPrivateMb.toFixed(0)
    } before); first half ${mid.firstHalfMb.toFixed(0)} MB, second ${
      mid.secondHalfMb.toFixed(0)
    } MB: ${many.every(isFlat) ? "flat" : "grows"}`,
    peakRssMb: mid.peakRssMb,
    peakPrivateMb: spread(priv).median,
    pssMb: mid.peakPssMb,
  });
  return rows;
};

async function main(): Promise<void> {
  const missing = journalHostMissing();
  if (missing) {
    console.log(`bench/ssh_journal.ts: skipped, needs ${missing}`);
    return;
  }
  const { perHost, runs, memoryPerHost } = _sizes(Deno.args.includes("--quick"));
  const dir = await Deno.makeTempDir({ prefix: "sluice-bench-ssh-journal-" });
  try {
    const { cases, many } = await measure(dir, perHost, runs, memoryPerHost, console.log);
    console.log(
      "| case | entries/s | ssh2 unparsed | ratio | CPU s / 100k (ssh2) | ssh \\| wc -l | peak RSS |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    for (const c of cases) {
      const rate = spread(c.rate).median;
      const raw = spread(c.raw).median;
      console.log(
        `| ${c.hosts} host(s) | ${Math.round(rate).toLocaleString("en")} | ${
          Math.round(raw).toLocaleString("en")
        } | ${(rate / raw).toFixed(2)}x | ${(spread(c.cpu).median * 0.1).toFixed(2)} (${
          (spread(c.rawCpu).median * 0.1).toFixed(2)
        }) | ${Math.round(spread(c.ceiling).median).toLocaleString("en")} | ${
          c.peak.peakRssMb.toFixed(0)
        } MB |`,
      );
    }
    for (const c of cases.filter((c) => c.rateWorker.length > 0)) {
      const rate = spread(c.rateWorker).median;
      console.log(
        `| ${c.hosts} host(s), SSH in a worker thread | ${
          Math.round(rate).toLocaleString("en")
        } | ${Math.round(spread(c.raw).median).toLocaleString("en")} | ${
          (rate / spread(c.raw).median).toFixed(2)
        }x | ${(spread(c.cpuWorker).median * 0.1).toFixed(2)} | | |`,
      );
    }
    for (const m of many) console.log(`# ${MEMORY_HOSTS} hosts x ${memoryPerHost}: ${_memLine(m)}`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
