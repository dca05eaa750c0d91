/**
 * The Deno permissions each deployed role needs, and nothing more: one table
 * that `deploy/compile.ts` bakes into the binary, the systemd units and
 * docs/deploy.md spell out, and tests/deploy/permissions_test.ts runs the
 * example pipelines under.
 *
 * ```sh
 * deno run deploy/permissions.ts central --data /var/lib/sluice
 * ```
 *
 * @module
 */

/**
 * A deployed role. `sync` is the timer's `sluice sync` run of a VM's object jobs.
 *
 * @example
 * ```ts
 * import type { Role } from "./permissions.ts";
 * const role: Role = "vm-objects";
 * ```
 */
export type Role = "central" | "vm" | "vm-objects" | "agentless" | "respond" | "sync";

/**
 * The roles, in the order docs/deploy.md lists them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ROLES } from "./permissions.ts";
 * assert.ok(ROLES.includes("central"));
 * ```
 */
export const ROLES: readonly Role[] = [
  "central",
  "vm",
  "vm-objects",
  "sync",
  "agentless",
  "respond",
];

/**
 * Where a role reads, writes and connects.
 *
 * @example
 * ```ts
 * import type { RoleScope } from "./permissions.ts";
 * const scope: RoleScope = { data: "/srv/sluice", peers: ["central.lan:5515"] };
 * ```
 */
export interface RoleScope {
  /** The data directory (the unit's `StateDirectory=`): databases, JSONL, the state dir under it. @default {"/var/lib/sluice"} */
  data?: string;
  /** Configuration read only: pipeline files, certificates, SSH keys. @default {"/etc/sluice"} */
  config?: string;
  /** The source tree, when run with `deno run` rather than the binary (imports are read). @default {none} */
  code?: string;
  /** Files a VM tails (read only). @default {[]} */
  tails?: string[];
  /** Directories of object jobs (read and write: a move deletes what it sent). @default {[]} */
  objects?: string[];
  /** Addresses listened on, `host:port` or a bare host for any port. @default {the role's listeners on 0.0.0.0} */
  listen?: string[];
  /** Addresses connected to, `host:port` (the central's RELP port, SSH on the hosts). @default {[]} */
  peers?: string[];
  /** A VM that reads the local journal (`--journald on`) runs `journalctl`. @default {false} */
  journald?: boolean;
}

/**
 * The central's default listeners: syslog 514, JSON 5514, RELP 5515, syslog 5140, dashboard 8080.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CENTRAL_LISTENERS } from "./permissions.ts";
 * assert.ok(CENTRAL_LISTENERS.includes("0.0.0.0:514"));
 * ```
 */
export const CENTRAL_LISTENERS: readonly string[] = [
  "0.0.0.0:514",
  "0.0.0.0:5514",
  "0.0.0.0:5515",
  "0.0.0.0:5140",
  "127.0.0.1:8080",
];

/**
 * The commands active response runs: the firewall and routing tools only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESPOND_COMMANDS } from "./permissions.ts";
 * assert.deepEqual(RESPOND_COMMANDS, ["nft", "iptables", "ip"]);
 * ```
 */
export const RESPOND_COMMANDS: readonly string[] = ["nft", "iptables", "ip"];

/**
 * What every role may ask the system: its name, addresses and uptime (heartbeats).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SYS_NAMES } from "./permissions.ts";
 * assert.ok(SYS_NAMES.includes("hostname"));
 * ```
 */
export const SYS_NAMES: readonly string[] = ["hostname", "networkInterfaces", "osUptime"];

function _list(flag: string, values: readonly string[]): string[] {
  const unique = [...new Set(values.filter((v) => v !== ""))];
  return unique.length ? [`${flag}=${unique.join(",")}`] : [];
}

/**
 * The permission flags of one role: `--allow-read` (data, configuration, tailed files,
 * object directories, the code when not compiled), `--allow-write` (data, object
 * directories), `--allow-net` (its listeners and peers), `--allow-env` (pipelines take
 * options from the environment), `--allow-sys` (hostname, interfaces, uptime) and
 * `--allow-run` only for the respond role (nft, iptables, ip) and a VM reading its journal
 * (journalctl). Never `--allow-ffi`: only
 * `sluice archive query` (DuckDB, a native addon) needs it, run by hand.
 *
 * @param role The role.
 * @param scope Its paths and addresses.
 * @returns The flags, in a stable order.
 * @throws {RangeError} For an unknown role.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rolePermissions } from "./permissions.ts";
 * const flags = rolePermissions("vm", { peers: ["central.lan:5515"], tails: ["/var/log/ids/alerts.jsonl"] });
 * assert.ok(flags.includes("--allow-net=central.lan:5515"));
 * assert.ok(!flags.some((f) => f.startsWith("--allow-run")));
 * ```
 */
export function rolePermissions(role: Role, scope: RoleScope = {}): string[] {
  if (!ROLES.includes(role)) {
    throw new RangeError(
      `rolePermissions: "role" must be one of ${ROLES.join(", ")}, got "${role}"`,
    );
  }
  const data = scope.data ?? "/var/lib/sluice";
  const config = scope.config ?? "/etc/sluice";
  const objects = role === "vm-objects" || role === "sync" ? scope.objects ?? [] : [];
  const tails = role === "vm" || role === "vm-objects" ? scope.tails ?? [] : [];
  const listen = scope.listen ??
    (role === "central" || role === "agentless" || role === "respond" ? CENTRAL_LISTENERS : []);
  const peers = scope.peers ?? [];
  const read = [data, config, ...tails, ...objects, ...(scope.code ? [scope.code] : [])];
  const write = [data, ...objects];
  return [
    ..._list("--allow-read", read),
    ..._list("--allow-write", write),
    ..._list("--allow-net", [...listen, ...peers]),
    "--allow-env",
    ..._list("--allow-sys", SYS_NAMES),
    ..._list("--allow-run", [
      ...(scope.journald && (role === "vm" || role === "vm-objects") ? ["journalctl"] : []),
      ...(role === "respond" ? RESPOND_COMMANDS : []),
    ]),
  ];
}

if (import.meta.main) {
  const [role, ...rest] = Deno.args;
  const scope: RoleScope = {};
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i]?.replace(/^--/, "");
    const value = rest[i + 1] ?? "";
    if (key === "data" || key === "config" || key === "code") scope[key] = value;
    else if (key === "tail") (scope.tails ??= []).push(value);
    else if (key === "objects") (scope.objects ??= []).push(value);
    else if (key === "listen") (scope.listen ??= []).push(value);
    else if (key === "peer") (scope.peers ??= []).push(value);
    else if (key === "journald") scope.journald = value === "on";
  }
  console.log(rolePermissions((role ?? "central") as Role, scope).join(" "));
}
