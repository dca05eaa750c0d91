/**
 * The host registry of the agentless collector: the `monitored_hosts`
 * table (in the SIEM database) that `sluice hosts add|list|remove|accept-key`
 * manages and `sshJournalSource({ registry })` polls, so adding or removing
 * a host takes effect without a restart.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { openVersionedTables } from "../core/_state_version.ts";

/** One host to pull the journal from over SSH. */
export interface SshJournalHost {
  /** The host's name: `HOST` of its events, its key in state and in `vms`. */
  name: string;
  /** The address to dial. @default {name} */
  address?: string;
  /** The SSH port. @default {22} */
  port?: number;
  /** The user to log in as (allowed `sudo -n journalctl`, or in group systemd-journal with `sudo: false`). */
  user: string;
  /** The private key file (read at each connect). */
  privateKeyFile: string;
  /** A known_hosts file pinning the host's key. @default {none} */
  knownHostsFile?: string;
  /** Accepted host-key fingerprints (`SHA256:…`). @default {none} */
  hostKeyFingerprint?: string | string[];
  /** systemd units to read (`--unit`), e.g. `["ssh.service"]`. @default {[]} (every unit) */
  units?: string[];
  /** journalctl matches, e.g. `["SYSLOG_IDENTIFIER=sshd"]`. @default {[]} */
  matches?: string[];
  /** More journalctl arguments, e.g. `["--directory=/var/log/journal/remote"]`. @default {[]} */
  args?: string[];
}

/** A row of `monitored_hosts` as {@linkcode listMonitoredHosts} gives it. */
export interface MonitoredHost extends SshJournalHost {
  /** The fingerprint the host offered when it was last refused (changed or unknown key). */
  offeredKey?: string;
  /** When it was added (ISO 8601). */
  addedAt: string;
}

const _TABLE = `CREATE TABLE IF NOT EXISTS monitored_hosts (
  name TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  port INTEGER NOT NULL DEFAULT 22,
  user TEXT NOT NULL,
  key_file TEXT NOT NULL,
  units TEXT NOT NULL DEFAULT '[]',
  args TEXT NOT NULL DEFAULT '[]',
  host_key TEXT,
  offered_key TEXT,
  added_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
)`;

/** The version of `monitored_hosts` (`schema.monitored_hosts` in `sluice_meta`). */
const _VERSION = 1;

const _NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$/;
const _FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * Opens the registry's database (WAL, a busy timeout) and makes the table,
 * or upgrades it, under its version in `sluice_meta`.
 *
 * @param database The SQLite file.
 * @returns The open database; close it when done.
 * @throws {DowngradeError} When a newer sluice made the table (nothing written).
 *
 * @example
 * ```ts
 * import { openHostRegistry } from "./_ssh_journal_registry.ts";
 * const db = openHostRegistry(":memory:");
 * db.close();
 * ```
 */
export function openHostRegistry(database: string): DatabaseSync {
  const db = new DatabaseSync(database);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    if (database !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
    openVersionedTables(db, {
      component: "hosts",
      database,
      name: "monitored_hosts",
      version: _VERSION,
      ddl: [_TABLE],
    });
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function _list(value: unknown): string[] {
  if (typeof value !== "string") return [];
  try {
    const v: unknown = JSON.parse(value);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Checks a host definition; throws a TypeError or RangeError naming the
 * field (the CLI and the source's options share it).
 *
 * @param host The host.
 * @param where Named first in messages.
 * @returns The same host.
 * @throws {TypeError} On a missing or wrong field.
 * @throws {RangeError} On a port out of range.
 *
 * @example
 * ```ts
 * import { checkHost } from "./_ssh_journal_registry.ts";
 * checkHost({ name: "vm1", user: "sluice", privateKeyFile: "id" }, "hosts");
 * ```
 */
export function checkHost(host: SshJournalHost, where: string): SshJournalHost {
  if (typeof host?.name !== "string" || !_NAME.test(host.name)) {
    throw new TypeError(
      `${where}: a host's "name" must be letters, digits and ._:- (at most 253), got ${
        JSON.stringify(host?.name)
      }`,
    );
  }
  for (const key of ["user", "privateKeyFile"] as const) {
    if (typeof host[key] !== "string" || host[key] === "") {
      throw new TypeError(`${where}: host "${host.name}" needs "${key}"`);
    }
  }
  if (host.address !== undefined && (typeof host.address !== "string" || host.address === "")) {
    throw new TypeError(`${where}: host "${host.name}": "address" must be a host name or address`);
  }
  const port = host.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${where}: host "${host.name}": "port" must be 1-65535, got ${host.port}`);
  }
  for (const key of ["units", "matches", "args"] as const) {
    const v = host[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== "string"))) {
      throw new TypeError(`${where}: host "${host.name}": "${key}" must be an array of strings`);
    }
  }
  for (const m of host.matches ?? []) {
    if (m !== "+" && !/^[A-Z0-9_]+=.*$/s.test(m)) {
      throw new TypeError(
        `${where}: host "${host.name}": each match must be "FIELD=value" or "+", got ${
          JSON.stringify(m)
        }`,
      );
    }
  }
  const fps = host.hostKeyFingerprint === undefined
    ? []
    : Array.isArray(host.hostKeyFingerprint)
    ? host.hostKeyFingerprint
    : [host.hostKeyFingerprint];
  for (const fp of fps) {
    if (typeof fp !== "string" || !_FINGERPRINT.test(fp)) {
      throw new TypeError(
        `${where}: host "${host.name}": "hostKeyFingerprint" must be "SHA256:" and 43 base64 characters, got ${
          JSON.stringify(fp)
        }`,
      );
    }
  }
  return host;
}

/**
 * Every monitored host, by name.
 *
 * @param db From {@linkcode openHostRegistry}.
 * @returns The hosts.
 *
 * @example
 * ```ts
 * import { listMonitoredHosts, openHostRegistry } from "./_ssh_journal_registry.ts";
 * const db = openHostRegistry(":memory:");
 * console.assert(listMonitoredHosts(db).length === 0);
 * db.close();
 * ```
 */
export function listMonitoredHosts(db: DatabaseSync): MonitoredHost[] {
  const rows = db.prepare(`SELECT * FROM monitored_hosts ORDER BY name`).all() as Array<
    Record<string, unknown>
  >;
  return rows.map((r) => {
    const host: MonitoredHost = {
      name: String(r.name),
      address: String(r.address),
      port: Number(r.port),
      user: String(r.user),
      privateKeyFile: String(r.key_file),
      units: _list(r.units),
      args: _list(r.args),
      addedAt: String(r.added_at),
    };
    if (typeof r.host_key === "string" && r.host_key) host.hostKeyFingerprint = r.host_key;
    if (typeof r.offered_key === "string" && r.offered_key) host.offeredKey = r.offered_key;
    return host;
  });
}

/**
 * Adds a host, or replaces the one of that name (its pinned key kept unless given).
 *
 * @param db From {@linkcode openHostRegistry}.
 * @param host The host; `hostKeyFingerprint` (one) pins its key.
 *
 * @example
 * ```ts
 * import { addMonitoredHost, listMonitoredHosts, openHostRegistry } from "./_ssh_journal_registry.ts";
 * const db = openHostRegistry(":memory:");
 * addMonitoredHost(db, { name: "vm1", user: "sluice", privateKeyFile: "/etc/sluice/id" });
 * console.assert(listMonitoredHosts(db)[0]?.address === "vm1");
 * db.close();
 * ```
 */
export function addMonitoredHost(db: DatabaseSync, host: SshJournalHost): void {
  checkHost(host, "hosts add");
  const fp = Array.isArray(host.hostKeyFingerprint)
    ? host.hostKeyFingerprint[0]
    : host.hostKeyFingerprint;
  const now = new Date().toISOString();
  db.prepare(
    `INSERT INTO monitored_hosts (name, address, port, user, key_file, units, args, host_key, added_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET address = excluded.address, port = excluded.port,
       user = excluded.user, key_file = excluded.key_file, units = excluded.units,
       args = excluded.args, host_key = coalesce(excluded.host_key, host_key),
       updated_at = excluded.updated_at`,
  ).run(
    host.name,
    host.address ?? host.name,
    host.port ?? 22,
    host.user,
    host.privateKeyFile,
    JSON.stringify(host.units ?? []),
    JSON.stringify([...(host.args ?? []), ...(host.matches ?? [])]),
    fp ?? null,
    now,
    now,
  );
}

/**
 * Removes a host.
 *
 * @param db From {@linkcode openHostRegistry}.
 * @param name The host's name.
 * @returns Whether it was there.
 *
 * @example
 * ```ts
 * import { openHostRegistry, removeMonitoredHost } from "./_ssh_journal_registry.ts";
 * const db = openHostRegistry(":memory:");
 * console.assert(removeMonitoredHost(db, "vm1") === false);
 * db.close();
 * ```
 */
export function removeMonitoredHost(db: DatabaseSync, name: string): boolean {
  return Number(db.prepare(`DELETE FROM monitored_hosts WHERE name = ?`).run(name).changes) > 0;
}

/**
 * Pins a host's key: the given fingerprint, or the one it offered when it
 * was last refused.
 *
 * @param db From {@linkcode openHostRegistry}.
 * @param name The host's name.
 * @param fingerprint `SHA256:…`. @default {the offered key}
 * @returns The fingerprint now pinned.
 * @throws {Error} When the host is unknown or nothing was offered and none is given.
 *
 * @example
 * ```ts
 * import { acceptHostKey, addMonitoredHost, openHostRegistry } from "./_ssh_journal_registry.ts";
 * const db = openHostRegistry(":memory:");
 * addMonitoredHost(db, { name: "vm1", user: "u", privateKeyFile: "k" });
 * acceptHostKey(db, "vm1", "SHA256:" + "A".repeat(43));
 * db.close();
 * ```
 */
export function acceptHostKey(db: DatabaseSync, name: string, fingerprint?: string): string {
  const row = db.prepare(`SELECT offered_key FROM monitored_hosts WHERE name = ?`).get(name) as
    | { offered_key: string | null }
    | undefined;
  if (!row) throw new Error(`hosts accept-key: no monitored host "${name}"`);
  const fp = fingerprint ?? row.offered_key ?? undefined;
  if (!fp) {
    throw new Error(
      `hosts accept-key: "${name}" has offered no key yet; give --fingerprint SHA256:… checked out of band`,
    );
  }
  if (!_FINGERPRINT.test(fp)) {
    throw new TypeError(`hosts accept-key: "${fp}" is not a SHA256 fingerprint`);
  }
  db.prepare(
    `UPDATE monitored_hosts SET host_key = ?, offered_key = NULL, updated_at = ? WHERE name = ?`,
  ).run(fp, new Date().toISOString(), name);
  return fp;
}

/**
 * Records the key a host offered when it was refused, for `accept-key`.
 *
 * @param db From {@linkcode openHostRegistry}.
 * @param name The host's name.
 * @param fingerprint What it offered.
 *
 * @example
 * ```ts
 * import { openHostRegistry, recordOfferedKey } from "./_ssh_journal_registry.ts";
 * const db = openHostRegistry(":memory:");
 * recordOfferedKey(db, "vm1", "SHA256:" + "B".repeat(43));
 * db.close();
 * ```
 */
export function recordOfferedKey(db: DatabaseSync, name: string, fingerprint: string): void {
  db.prepare(
    `UPDATE monitored_hosts SET offered_key = ? WHERE name = ? AND offered_key IS NOT ?`,
  ).run(fingerprint, name, fingerprint);
}
