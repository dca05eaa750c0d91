/**
 * The central example's settings from its flags and environment
 * (`--listen`, the ports, `--data`, `--memory` and what it sizes,
 * `--sqlite-worker`, `--sqlite-checkpoint`, `--ui`, ...), apart from the
 * pipeline that uses them.
 *
 * @module
 */

import { checkpointOption, heapStepOption, memoryOption, option, portOption } from "./_options.ts";
import type { MemoryBudget } from "../core/memory_budget.ts";

/** Where the central listens and writes, resolved from flags and environment. */
export interface CentralSettings {
  listen: string;
  jsonPort: number;
  relpPort: number;
  syslogPort: number;
  data: string;
  /** Queue, batch and cache sizes from `--memory` (auto: the machine's memory). */
  budget: MemoryBudget;
  /** Store into SQLite on a worker thread (`--sqlite-worker on|off`, from `--memory`). */
  sqliteWorker: boolean;
  /** Where SQLite's WAL is checkpointed (`--sqlite-checkpoint background|inline`, background). */
  sqliteCheckpoint: "background" | "inline";
  /** The dashboard's `host:port`, or `off` (`--ui`, 127.0.0.1:8080). */
  ui: string;
  /** The dashboard's TLS certificate and key files (`--ui-cert`, `--ui-key`); both or neither. */
  uiCert: string;
  uiKey: string;
  /** Most `by_vm/` files made per day; other hosts go to `by_vm/_other.jsonl` (`--max-hosts-per-day`, 1000). */
  maxHostsPerDay: number;
  /** Pull journals over SSH from the monitored_hosts of siem.db (`--pull-hosts on|off`, off). */
  pullHosts: boolean;
  /** Old-generation growth in MiB between full collections (`--heap-step-mb`, 0: off, the default). */
  heapStepMb: number;
}

/**
 * Resolves the central's settings: flags, then `SLUICE_*` variables, then
 * defaults, of which `--sqlite-worker` and `--sqlite-checkpoint` come from
 * the `--memory` budget.
 *
 * @param args Arguments after the pipeline file.
 * @param env The environment.
 * @returns The settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { centralSettings } from "./_central_settings.ts";
 * const s = centralSettings(["--memory", "small"], {});
 * assert.equal(s.sqliteWorker, false);
 * assert.equal(s.sqliteCheckpoint, "inline");
 * ```
 */
export function centralSettings(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): CentralSettings {
  const budget = memoryOption(args, env);
  return {
    budget,
    listen: option(args, env, "listen", "127.0.0.1"),
    jsonPort: portOption(args, env, "json-port", 5514),
    relpPort: portOption(args, env, "relp-port", 5515),
    syslogPort: portOption(args, env, "syslog-port", 5140),
    data: option(args, env, "data", "./data"),
    sqliteWorker: _onOff(
      option(args, env, "sqlite-worker", budget.sqliteWorker ? "on" : "off"),
      "sqlite-worker",
    ),
    sqliteCheckpoint: checkpointOption(args, env, budget.sqliteCheckpoint),
    ui: option(args, env, "ui", "127.0.0.1:8080"),
    uiCert: option(args, env, "ui-cert", ""),
    uiKey: option(args, env, "ui-key", ""),
    maxHostsPerDay: _count(option(args, env, "max-hosts-per-day", "1000"), "max-hosts-per-day"),
    pullHosts: _onOff(option(args, env, "pull-hosts", "off"), "pull-hosts"),
    // Off unless asked: under the 1M burst a step of 8 MiB cut the central's peak by 2-5 MB (to
    // 76-79 MB, already under its budget) for 3-7 % of its rate and 13-16 % more CPU
    // (docs/performance.md); the VM example takes the budget's step.
    heapStepMb: heapStepOption(args, env, 0),
  };
}

function _count(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`--${name}: expected a whole number from 1, got "${value}"`);
  }
  return n;
}

function _onOff(value: string, name: string): boolean {
  if (value !== "on" && value !== "off") {
    throw new RangeError(`--${name}: expected "on" or "off", got "${value}"`);
  }
  return value === "on";
}
