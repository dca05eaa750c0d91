/**
 * The processes of bench/latency.ts: the central example and the VM
 * example forwarding to it over RELP or plain TCP, as separate runners,
 * and a read-only connection to the central's `alerts` table.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { centralArgs, LoggedProcess, sluiceRunArgs, waitFor } from "./lib.ts";

const VM = new URL("../examples/pipeline.vm.ts", import.meta.url).pathname;
const CENTRAL = new URL("../examples/pipeline.central.ts", import.meta.url).pathname;

/**
 * How the VM forwards to the central.
 *
 * @example
 * ```ts
 * import type { Transport } from "./_latency_pair.ts";
 * const all: Transport[] = ["relp", "tcp"];
 * console.assert(all.length === 2);
 * ```
 */
export type Transport = "relp" | "tcp";

function _startRunner(stateDir: string, pipeline: string, args: string[]): LoggedProcess {
  return new LoggedProcess(Deno.execPath(), [...sluiceRunArgs(stateDir, pipeline), ...args]);
}

/** `--relp-window N` when `BENCH_RELP_WINDOW` asks for another window than the example's. */
function _relpWindow(): string[] {
  const window = Deno.env.get("BENCH_RELP_WINDOW");
  return window ? ["--relp-window", window] : [];
}

/**
 * A central and a VM forwarding to it, with an empty alerts file being tailed.
 *
 * @example
 * ```ts ignore
 * import { type Pair, startPair } from "./_latency_pair.ts";
 * const pair: Pair = await startPair(await Deno.makeTempDir(), "tcp");
 * await pair.stop();
 * ```
 */
export interface Pair {
  central: LoggedProcess;
  vm: LoggedProcess;
  alerts: string;
  db: string;
  stop(): Promise<void>;
}

/**
 * Starts the central example, then the VM example forwarding to it over
 * `transport` and tailing an empty `alerts.jsonl` under `dir`.
 *
 * @param dir A directory for both processes' state and files.
 * @param transport RELP or plain TCP.
 * @returns The running pair.
 *
 * @example
 * ```ts ignore
 * import { startPair } from "./_latency_pair.ts";
 * const pair = await startPair(await Deno.makeTempDir(), "relp");
 * console.log(pair.db);
 * await pair.stop();
 * ```
 */
export async function startPair(dir: string, transport: Transport): Promise<Pair> {
  await Deno.mkdir(`${dir}/vm`, { recursive: true });
  const alerts = `${dir}/vm/alerts.jsonl`;
  await Deno.writeTextFile(alerts, "");
  await Deno.writeTextFile(`${dir}/vm/yara.jsonl`, "");
  const central = _startRunner(`${dir}/central-state`, CENTRAL, [
    ...centralArgs(`${dir}/central`),
    // The dashboard's default port is fixed; the bench measures the log path.
    "--ui",
    "off",
  ]);
  let vm: LoggedProcess | undefined;
  try {
    const relp = await central.waitFor(/RELP\s+127\.0\.0\.1:(\d+)/);
    const json = await central.waitFor(/over TCP\s+127\.0\.0\.1:(\d+)/);
    vm = _startRunner(`${dir}/vm-state`, VM, [
      "--central",
      "127.0.0.1",
      "--transport",
      transport,
      ...(transport === "relp"
        ? ["--relp-port", relp[1] as string, ..._relpWindow()]
        : ["--json-port", json[1] as string]),
      "--alerts",
      alerts,
      "--yara",
      `${dir}/vm/yara.jsonl`,
      "--data",
      `${dir}/vm`,
      "--host",
      "benchvm",
      "--heartbeat-seconds",
      "86400",
    ]);
    await vm.waitFor(/tailing alerts/);
  } catch (err) {
    await vm?.stop();
    await central.stop();
    throw err;
  }
  const theVm = vm;
  return {
    central,
    vm: theVm,
    alerts,
    db: `${dir}/central/siem.db`,
    async stop() {
      await theVm.stop();
      await central.stop();
    },
  };
}

/**
 * Opens the central's database read-only once it exists and has its `alerts` table.
 *
 * @param db The central's SQLite file.
 * @returns The open connection.
 * @throws {Error} When no alerts table appears within 30 s.
 *
 * @example
 * ```ts ignore
 * import { openAlerts, startPair } from "./_latency_pair.ts";
 * const pair = await startPair(await Deno.makeTempDir(), "tcp");
 * const conn = await openAlerts(pair.db);
 * conn.close();
 * await pair.stop();
 * ```
 */
export async function openAlerts(db: string): Promise<DatabaseSync> {
  let conn: DatabaseSync | undefined;
  const ok = await waitFor(
    () => {
      try {
        conn = new DatabaseSync(db, { readOnly: true });
        conn.exec("PRAGMA busy_timeout = 1000");
        conn.prepare("SELECT max(rowid) FROM alerts").get();
        return true;
      } catch {
        conn?.close();
        conn = undefined;
        return false;
      }
    },
    30_000,
    100,
  );
  if (!ok || !conn) throw new Error(`latency bench: no alerts table in ${db}`);
  return conn;
}
