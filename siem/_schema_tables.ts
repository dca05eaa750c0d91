/**
 * The SIEM tables: each table's columns, the field or expression each
 * column reads, and its indexes (docs/schema.md lists them). siem/schema.ts
 * makes them a schema and a sink.
 *
 * @module
 */

import { FACILITY_NAMES, fieldGetter, type LogEvent, SEVERITY_NAMES } from "../core/event.ts";
import type { SqliteTable } from "../sinks/sqlite.ts";
import {
  columnReal,
  columnText,
  eventTime,
  firstText,
  intOf,
  isoTime,
  textOf,
} from "./_schema_values.ts";

const _jsonTime = eventTime(fieldGetter("json.timestamp"));
const _plainTime = eventTime();
// HOST first: the transport (a verified certificate, the VM that forwarded it) vouches for it;
// the host named inside the message is the fallback.
const _host = firstText("HOST", "json.host", "json.hostname");
const _raw = (e: LogEvent) => e.message;

// Docker's event time: nanoseconds in timeNano, seconds in time.
const _dockerNano = fieldGetter("json.timeNano");
const _dockerSec = fieldGetter("json.time");
function _dockerTime(e: LogEvent): string {
  if (e.timestamp === undefined) {
    const nano = columnReal(_dockerNano(e));
    if (nano !== null && nano > 0) return isoTime(nano / 1e6) as string;
    const sec = columnReal(_dockerSec(e));
    if (sec !== null && sec > 0) return isoTime(sec * 1000) as string;
  }
  return _plainTime(e);
}

// addrwatch logs the time as Unix seconds.
const _arpTimeField = fieldGetter("arp.timestamp");
function _arpTime(e: LogEvent): string {
  if (e.timestamp === undefined) {
    const sec = columnReal(_arpTimeField(e));
    if (sec !== null && sec > 0) return isoTime(sec * 1000) as string;
  }
  return _plainTime(e);
}

const _severityName = (e: LogEvent) =>
  e.severity === undefined ? null : SEVERITY_NAMES[e.severity] ?? null;

// "[UFW BLOCK]" (the kv parser's leading text) → "UFW BLOCK"; the SIEM@Home convention
// (`--log-prefix "A=DROP C=inet "`) names the action A and the chain C.
const _fwText = fieldGetter("fw._text");
const _fwAction = firstText("fw.action", "fw.A");
const _fwChain = firstText("fw.chain", "fw.C");
function _firewallAction(e: LogEvent): string | null {
  const explicit = columnText(_fwAction(e));
  if (explicit !== null) return explicit;
  const text = columnText(_fwText(e));
  if (text === null) return null;
  // A kernel timestamp (`[86400.123456]`, kept by a kvParser told to) is no action.
  const t = text.replace(/^\s*\[\s*\d+\.\d+\]/, "").trim().replace(/^\[(.*)\]$/, "$1").trim();
  return t === "" ? null : t;
}

const _sshdInvalid = fieldGetter("sshd.invalid");
const _arpMac = textOf("arp.mac");
const _alertSeverity = firstText("json.severity", "json.level");
const _uptime = fieldGetter("json.uptime_s");
const _uptimeOld = fieldGetter("json.uptime");
const _interval = fieldGetter("json.interval_s");
const _encrypted = fieldGetter("object.encrypted");
const _sourceIp = (e: LogEvent) => e.sourceIp ?? null;

const _vms: SqliteTable = {
  columns: {
    host: "TEXT NOT NULL",
    first_seen: "TEXT",
    last_seen: "TEXT",
    source_ip: "TEXT",
    version: "TEXT",
    interval_s: "REAL",
    heartbeats: "INTEGER",
    services: "TEXT",
  },
  values: {
    host: _host,
    first_seen: _plainTime,
    last_seen: _plainTime,
    source_ip: _sourceIp,
    version: firstText("json.agent_version", "json.version"),
    interval_s: (e) => columnReal(_interval(e)),
    heartbeats: () => 0,
    // The services and log types seen from the host; vmsSink keeps it up to date.
    services: () => null,
  },
  dedup: false,
  indexes: [{ columns: ["host"], unique: true }, "last_seen"],
  sql: [
    // Alert figures per VM, computed when read (a trigger per alert would halve insert speed).
    `CREATE VIEW IF NOT EXISTS vm_overview AS SELECT v.*,
      (SELECT count(*) FROM alerts a WHERE a.host = v.host) AS alerts,
      (SELECT max(a.timestamp) FROM alerts a WHERE a.host = v.host) AS last_alert,
      (julianday('now') - julianday(v.last_seen)) * 86400 > 3 * coalesce(v.interval_s, 60) AS silent
      FROM vms v`,
  ],
};

const _alerts: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    severity: "TEXT",
    rule: "TEXT",
    file: "TEXT",
    hash: "TEXT",
    message: "TEXT",
    source: "TEXT",
    raw: "TEXT NOT NULL",
  },
  values: {
    timestamp: _jsonTime,
    host: _host,
    severity: (e) => _alertSeverity(e) ?? _severityName(e),
    rule: firstText("json.rule", "json.rule_name", "json.yara.rule", "json.yara"),
    file: firstText("json.file", "json.path", "json.filename"),
    hash: firstText("json.hash", "json.sha256", "json.md5"),
    message: firstText("json.msg", "json.message", "json.description"),
    source: firstText("json.source", "json.scanner", "PROGRAM"),
    raw: _raw,
  },
  // No index on hash: random keys slow every insert; objects.sha256 is indexed for the join.
  // The read side (store/) pages newest first by filter: (x, timestamp) serves "x = ? ORDER BY
  // timestamp DESC" without a sort, and the first index covers the overview's counts and series.
  indexes: [
    ["timestamp", "severity", "rule", "host"],
    ["host", "timestamp"],
    ["severity", "timestamp"],
    ["rule", "timestamp"],
  ],
};

const _auth: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    program: "TEXT",
    outcome: "TEXT",
    user: "TEXT",
    src_ip: "TEXT",
    port: "INTEGER",
    method: "TEXT",
    invalid_user: "INTEGER",
    raw: "TEXT NOT NULL",
  },
  values: {
    timestamp: _plainTime,
    host: _host,
    program: "${PROGRAM}",
    outcome: textOf("sshd.outcome"),
    user: textOf("sshd.user"),
    src_ip: textOf("sshd.src_ip"),
    port: intOf("sshd.port"),
    method: textOf("sshd.method"),
    invalid_user: (e) => (_sshdInvalid(e) === true ? 1 : 0),
    raw: _raw,
  },
  // (outcome, timestamp, src_ip, method) covers "failed logins by source in a range" (the overview);
  // (host, timestamp) a host page's newest rows without a sort (as for alerts).
  indexes: ["timestamp", ["host", "timestamp"], "user", "src_ip", [
    "outcome",
    "timestamp",
    "src_ip",
    "method",
  ]],
};

const _firewall: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    action: "TEXT",
    chain: "TEXT",
    in_if: "TEXT",
    out_if: "TEXT",
    src: "TEXT",
    dst: "TEXT",
    proto: "TEXT",
    spt: "INTEGER",
    dpt: "INTEGER",
    raw: "TEXT NOT NULL",
  },
  values: {
    timestamp: _plainTime,
    host: _host,
    action: _firewallAction,
    chain: _fwChain,
    in_if: textOf("fw.IN"),
    out_if: textOf("fw.OUT"),
    src: textOf("fw.SRC"),
    dst: textOf("fw.DST"),
    proto: textOf("fw.PROTO"),
    spt: intOf("fw.SPT"),
    dpt: intOf("fw.DPT"),
    raw: _raw,
  },
  indexes: ["timestamp", ["host", "timestamp"], "src", "dpt"],
};

const _docker: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    type: "TEXT",
    action: "TEXT",
    actor_id: "TEXT",
    name: "TEXT",
    image: "TEXT",
    raw: "TEXT NOT NULL",
  },
  values: {
    timestamp: _dockerTime,
    host: firstText("json.host", "HOST"),
    type: textOf("json.Type"),
    action: textOf("json.Action"),
    actor_id: firstText("json.Actor.ID", "json.id"),
    name: textOf("json.Actor.Attributes.name"),
    image: firstText("json.Actor.Attributes.image", "json.from"),
    raw: _raw,
  },
  indexes: ["timestamp", ["host", "timestamp"], "name", "action"],
};

const _system: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    program: "TEXT",
    pid: "TEXT",
    facility: "TEXT",
    severity: "INTEGER",
    message: "TEXT NOT NULL",
  },
  values: {
    timestamp: _plainTime,
    host: "${HOST}",
    program: "${PROGRAM}",
    pid: "${PID}",
    facility: (e) => (e.facility === undefined ? null : FACILITY_NAMES[e.facility] ?? null),
    severity: (e) => e.severity ?? null,
    message: _raw,
  },
  indexes: ["timestamp", ["host", "timestamp"], "program", "severity"],
};

const _heartbeats: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    source_ip: "TEXT",
    version: "TEXT",
    uptime_s: "REAL",
    interval_s: "REAL",
    dropped: "INTEGER",
    raw: "TEXT NOT NULL",
  },
  values: {
    timestamp: _jsonTime,
    host: _host,
    source_ip: _sourceIp,
    version: firstText("json.agent_version", "json.version"),
    uptime_s: (e) => columnReal(_uptime(e)) ?? columnReal(_uptimeOld(e)),
    interval_s: (e) => columnReal(_interval(e)),
    dropped: intOf("json.dropped"),
    raw: _raw,
  },
  indexes: ["timestamp", ["host", "timestamp"]],
  sql: [
    // Keeps the VM registry: first and last heartbeat, address, version, count.
    `CREATE TRIGGER IF NOT EXISTS heartbeats_vms AFTER INSERT ON heartbeats WHEN NEW.host IS NOT NULL BEGIN
      INSERT INTO vms (host, first_seen, last_seen, source_ip, version, interval_s, heartbeats)
      VALUES (NEW.host, NEW.timestamp, NEW.timestamp, NEW.source_ip, NEW.version, NEW.interval_s, 1)
      ON CONFLICT (host) DO UPDATE SET
        first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen),
        last_seen = max(coalesce(last_seen, ''), excluded.last_seen),
        source_ip = coalesce(excluded.source_ip, source_ip),
        version = coalesce(excluded.version, version),
        interval_s = coalesce(excluded.interval_s, interval_s),
        heartbeats = coalesce(heartbeats, 0) + 1;
    END`,
  ],
};

const _addrwatch: SqliteTable = {
  columns: {
    timestamp: "TEXT NOT NULL",
    host: "TEXT",
    interface: "TEXT",
    vlan: "INTEGER",
    mac: "TEXT NOT NULL",
    ip: "TEXT",
    origin: "TEXT",
    raw: "TEXT NOT NULL",
  },
  values: {
    timestamp: _arpTime,
    host: "${HOST}",
    interface: textOf("arp.interface"),
    vlan: intOf("arp.vlan"),
    mac: (e) => _arpMac(e)?.toLowerCase() ?? null,
    ip: textOf("arp.ip"),
    origin: firstText("arp.type", "arp.origin"),
    raw: _raw,
  },
  indexes: ["timestamp", "mac", "ip"],
};

const _objects: SqliteTable = {
  columns: {
    host: "TEXT",
    kind: "TEXT",
    path: "TEXT",
    size: "INTEGER",
    sha256: "TEXT",
    synced_at: "TEXT NOT NULL",
    remote: "TEXT",
    encrypted: "INTEGER",
  },
  values: {
    host: firstText("object.host", "HOST"),
    kind: textOf("object.kind"),
    path: textOf("object.path"),
    size: intOf("object.size"),
    sha256: textOf("object.sha256"),
    synced_at: eventTime(fieldGetter("object.uploaded_at")),
    remote: textOf("object.remote"),
    encrypted: (e) => {
      const v = _encrypted(e);
      return typeof v === "boolean" ? (v ? 1 : 0) : null;
    },
  },
  indexes: ["sha256", "host", "synced_at"],
};

/**
 * The SIEM tables by name, as {@linkcode siemSchema} in siem/schema.ts
 * presents them (columns, the field each column reads, indexes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SIEM_SCHEMA_TABLES } from "./_schema_tables.ts";
 * assert.ok("rule" in (SIEM_SCHEMA_TABLES.alerts?.columns ?? {}));
 * ```
 */
export const SIEM_SCHEMA_TABLES: Readonly<Record<string, SqliteTable>> = {
  vms: _vms,
  alerts: _alerts,
  auth_events: _auth,
  firewall_events: _firewall,
  docker_events: _docker,
  system_events: _system,
  heartbeats: _heartbeats,
  addrwatch: _addrwatch,
  objects: _objects,
};
