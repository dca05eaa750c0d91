/**
 * Helpers of the upgrade tests (upgrade_test, upgrade_refusal_test): a copy
 * of today's fixture, the runner started in it, and readers of what it left.
 *
 * @module
 */

// Issue 27 ("Upgrades"): a central and a VM as main wrote them before state files carried a
// version (tests/fixtures/upgrade/today/, made by make.ts) open in this code with every row, line
// and checkpoint kept, take new writes, and gain versions; whatever a newer sluice wrote (a state
// file, siem.db, the side tables, an sftp-object manifest, the JSONL marks) stops the component
// with a message naming the file and both versions, and is left byte for byte as it was.
import { DatabaseSync } from "node:sqlite";
import type { _uiDdl } from "../../store/_sqlite_ui.ts";
import { killTree, spawnGroup } from "../_peers.ts";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;
/** The data dirs main wrote (tests/fixtures/upgrade/today). */
export const FIXTURE = new URL("../fixtures/upgrade/today", import.meta.url).pathname;
/** The runner. */
export const MAIN = `${ROOT}runner/main.ts`;

/**
 * A copy of the fixture in a temp dir, removed after `body`.
 *
 * @example
 * ```ts ignore
 * await withCopy(async (dir) => await run(dir, CENTRAL).stop());
 * ```
 */
export async function withCopy(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-upgrade-" });
  const copy = async (from: string, to: string): Promise<void> => {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
      else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  };
  await copy(FIXTURE, dir);
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A runner started by {@linkcode run}. */
export interface Child {
  /** The process. */
  child: Deno.ChildProcess;
  /** What it printed so far. */
  text(): string;
  /** Stops it (SIGTERM) and returns its exit code. */
  stop(): Promise<number>;
  /** The exit code once it exits by itself, or `undefined` (and it is stopped) after `ms`. */
  exited(ms: number): Promise<number | undefined>;
}

/**
 * `sluice run` of an embedded example in `cwd` (the fixture's paths are relative).
 *
 * @example
 * ```ts ignore
 * const c = run(dir, ["run", "--embedded", "central", ...CENTRAL]);
 * ```
 */
export function run(cwd: string, args: string[]): Child {
  const child = spawnGroup(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  });
  let text = "";
  const decoder = new TextDecoder();
  const pumps = Promise.all([child.stdout, child.stderr].map(async (s) => {
    for await (const c of s) text += decoder.decode(c, { stream: true });
  }));
  return {
    child,
    text: () => text,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => killTree(child), 30_000);
      const status = await child.status.finally(() => clearTimeout(timer));
      await pumps;
      return status.code;
    },
    async exited(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([
        child.status.then((s) => s.code),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
      ]);
      clearTimeout(timer);
      if (code === undefined) killTree(child);
      await child.status;
      await pumps;
      return code;
    },
  };
}

/** The central example's arguments over the fixture's data dir. */
export const CENTRAL = [
  "--state-dir",
  "central/state",
  "central",
  "--data",
  "central",
  "--listen",
  "127.0.0.1",
  "--json-port",
  "0",
  "--relp-port",
  "0",
  "--syslog-port",
  "0",
  "--ui",
  "off",
  "--samples",
  "samples",
  "--samples-interval",
  "1s",
];

/**
 * Every row of every table (and `sluice_meta`), by table, in rowid order.
 *
 * @example
 * ```ts ignore
 * const before = rows(`${dir}/central/data/siem.db`);
 * ```
 */
export function rows(path: string): Record<string, Array<Record<string, unknown>>> {
  const d = new DatabaseSync(path, { readOnly: true });
  try {
    const out: Record<string, Array<Record<string, unknown>>> = {};
    const names = d.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).all().map((r) => String(r.name));
    for (const t of names) {
      out[t] = d.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all().map((r) => ({ ...r }));
    }
    return out;
  } finally {
    d.close();
  }
}

/**
 * The rows of a table, or -1 when the database or table cannot be read.
 *
 * @example
 * ```ts ignore
 * assert.equal(count("central/data/siem.db", "alerts"), 12);
 * ```
 */
export function count(path: string, table: string): number {
  try {
    const d = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((d.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    } finally {
      d.close();
    }
  } catch {
    return -1;
  }
}

/**
 * The files under `dir` ending in `suffix`, by relative path, with their text.
 *
 * @example
 * ```ts ignore
 * const jsonl = await files(`${dir}/central/data/logs`, ".jsonl");
 * ```
 */
export async function files(dir: string, suffix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(suffix)) out.set(p, await Deno.readTextFile(`${dir}/${p}`));
    }
  };
  await walk("");
  return out;
}

/**
 * The ids of a JSONL file's lines (events from TCP and syslog have none).
 *
 * @example
 * ```ts ignore
 * ids(await Deno.readTextFile(path));
 * ```
 */
export function ids(text: string): string[] {
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l).ID).filter((id) =>
    typeof id === "string"
  );
}
