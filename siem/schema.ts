/**
 * The SIEM schema: the reference design's tables (`vms`, `alerts`,
 * `auth_events`, `firewall_events`, `docker_events`, `system_events`,
 * `heartbeats`), `addrwatch` from the home-network design and `objects` for
 * the object channel, as a preset for {@linkcode sqliteSink}; and
 * {@linkcode siemSqliteSink}, which routes each event to its table by
 * category (see `siem/categorize.ts`). docs/schema.md lists every column and
 * the field it reads.
 *
 * @module
 */

import { FACILITY_NAMES, fieldGetter, type LogEvent, SEVERITY_NAMES } from "../core/event.ts";
import {
  type SqliteSchema,
  type SqliteSink,
  sqliteSink,
  type SqliteSinkOptions,
  type SqliteTable,
} from "../sinks/sqlite.ts";
import { isSiemCategory, type SiemCategory, siemCategory } from "./categorize.ts";

/** The table each category is stored in. */
export const SIEM_TABLES: Readonly<Record<SiemCategory, string>> = {
  alerts: "alerts",
  auth: "auth_events",
  firewall: "firewall_events",
  docker: "docker_events",
  system: "system_events",
  heartbeat: "heartbeats",
  addrwatch: "addrwatch",
  object: "objects",
};

type _Get = (e: LogEvent) => unknown;

/** Text of a value: strings as they are, numbers and booleans with String, objects as JSON; nothing as null. */
function _text(v: unknown): string | null {
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "string") return v;
  if (typeof v === "object") {
    try {
      return JSON.stringify(v);
    } catch {
      return null;
    }
  }
  return String(v);
}

function _int(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

function _real(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** The first of several fields that holds something, as text. */
function _first(...names: string[]): (e: LogEvent) => string | null {
  const getters = names.map(fieldGetter);
  return (e) => {
    for (const get of getters) {
      const t = _text(get(e));
      if (t !== null) return t;
    }
    return null;
  };
}

function _textOf(name: string): (e: LogEvent) => string | null {
  const get = fieldGetter(name);
  return (e) => _text(get(e));
}

function _intOf(name: string): (e: LogEvent) => number | null {
  const get = fieldGetter(name);
  return (e) => _int(get(e));
}

// Already what toISOString() would give: stored as it is, without a parse.
const _CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function _iso(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * The event's time as ISO 8601 UTC: the parsed timestamp when a parser set
 * one, else `json.timestamp` (or another field) when it is a date, else the
 * time it was received.
 */
function _time(field?: _Get): (e: LogEvent) => string {
  return (e) => {
    if (e.timestamp !== undefined) return _iso(e.timestamp) ?? _iso(e.receivedAt) as string;
    if (field) {
      const v = field(e);
      if (typeof v === "string" && v !== "") {
        if (_CANONICAL.test(v)) return v;
        const ms = Date.parse(v);
        if (!Number.isNaN(ms)) return _iso(ms) as string;
      }
    }
    return _iso(e.receivedAt) ?? new Date(0).toISOString();
  };
}

const _jsonTime = _time(fieldGetter("json.timestamp"));
const _plainTime = _time();
// HOST first: the transport (a verified certificate, the VM that forwarded it) vouches for it;
// the host named inside the message is the fallback.
const _host = _first("HOST", "json.host", "json.hostname");
const _raw = (e: LogEvent) => e.message;

// Docker's event time: nanoseconds in timeNano, seconds in time.
const _dockerNano = fieldGetter("json.timeNano");
const _dockerSec = fieldGetter("json.time");
function _dockerTime(e: LogEvent): string {
  if (e.timestamp === undefined) {
    const nano = _real(_dockerNano(e));
    if (nano !== null && nano > 0) return _iso(nano / 1e6) as string;
    const sec = _real(_dockerSec(e));
    if (sec !== null && sec > 0) return _iso(sec * 1000) as string;
  }
  return _plainTime(e);
}

// addrwatch logs the time as Unix seconds.
const _arpTimeField = fieldGetter("arp.timestamp");
function _arpTime(e: LogEvent): string {
  if (e.timestamp === undefined) {
    const sec = _real(_arpTimeField(e));
    if (sec !== null && sec > 0) return _iso(sec * 1000) as string;
  }
  return _plainTime(e);
}

const _severityName = (e: LogEvent) =>
  e.severity === undefined ? null : SEVERITY_NAMES[e.severity] ?? null;

// "[UFW BLOCK]" (the kv parser's leading text) → "UFW BLOCK"; the SIEM@Home convention
// (`--log-prefix "A=DROP C=inet "`) names the action A and the chain C.
const _fwText = fieldGetter("fw._text");
const _fwAction = _first("fw.action", "fw.A");
const _fwChain = _first("fw.chain", "fw.C");
function _firewallAction(e: LogEvent): string | null {
  const explicit = _text(_fwAction(e));
  if (explicit !== null) return explicit;
  const text = _text(_fwText(e));
  if (text === null) return null;
  // A kernel timestamp (`[86400.123456]`, kept by a kvParser told to) is no action.
  const t = text.replace(/^\s*\[\s*\d+\.\d+\]/, "").trim().replace(/^\[(.*)\]$/, "$1").trim();
  return t === "" ? null : t;
}

const _sshdInvalid = fieldGetter("sshd.invalid");
const _arpMac = _textOf("arp.mac");
const _alertSeverity = _first("json.severity", "json.level");
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
    version: _first("json.agent_version", "json.version"),
    interval_s: (e) => _real(_interval(e)),
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
    rule: _first("json.rule", "json.rule_name", "json.yara.rule", "json.yara"),
    file: _first("json.file", "json.path", "json.filename"),
    hash: _first("json.hash", "json.sha256", "json.md5"),
    message: _first("json.msg", "json.message", "json.description"),
    source: _first("json.source", "json.scanner", "PROGRAM"),
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
    outcome: _textOf("sshd.outcome"),
    user: _textOf("sshd.user"),
    src_ip: _textOf("sshd.src_ip"),
    port: _intOf("sshd.port"),
    method: _textOf("sshd.method"),
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
    in_if: _textOf("fw.IN"),
    out_if: _textOf("fw.OUT"),
    src: _textOf("fw.SRC"),
    dst: _textOf("fw.DST"),
    proto: _textOf("fw.PROTO"),
    spt: _intOf("fw.SPT"),
    dpt: _intOf("fw.DPT"),
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
    host: _first("json.host", "HOST"),
    type: _textOf("json.Type"),
    action: _textOf("json.Action"),
    actor_id: _first("json.Actor.ID", "json.id"),
    name: _textOf("json.Actor.Attributes.name"),
    image: _first("json.Actor.Attributes.image", "json.from"),
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
    version: _first("json.agent_version", "json.version"),
    uptime_s: (e) => _real(_uptime(e)) ?? _real(_uptimeOld(e)),
    interval_s: (e) => _real(_interval(e)),
    dropped: _intOf("json.dropped"),
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
    interface: _textOf("arp.interface"),
    vlan: _intOf("arp.vlan"),
    mac: (e) => _arpMac(e)?.toLowerCase() ?? null,
    ip: _textOf("arp.ip"),
    origin: _first("arp.type", "arp.origin"),
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
    host: _first("object.host", "HOST"),
    kind: _textOf("object.kind"),
    path: _textOf("object.path"),
    size: _intOf("object.size"),
    sha256: _textOf("object.sha256"),
    synced_at: _time(fieldGetter("object.uploaded_at")),
    remote: _textOf("object.remote"),
    encrypted: (e) => {
      const v = _encrypted(e);
      return typeof v === "boolean" ? (v ? 1 : 0) : null;
    },
  },
  indexes: ["sha256", "host", "synced_at"],
};

/**
 * The SIEM tables as a {@linkcode SqliteSchema}. Every table but `vms`
 * has an `id` column (the event id, UNIQUE) so replays store nothing twice;
 * `vms` is kept by a trigger on `heartbeats`, one row per host, and the
 * view `vm_overview` adds each VM's alert count, last alert and whether it
 * went silent (no heartbeat for three intervals).
 *
 * @example Use it with a table of your own choosing
 * ```ts
 * import { siemSchema } from "./schema.ts";
 * import { sqliteSink } from "../sinks/sqlite.ts";
 * const sink = sqliteSink({ database: "siem.db", schema: siemSchema, table: "alerts" });
 * ```
 */
export const siemSchema: SqliteSchema = {
  // Raise the version with every change to these tables: a database written by a newer version
  // is refused by older code (sinks/_sqlite_schema.ts). 1: versions kept in sluice_meta.
  name: "siem",
  version: 1,
  tables: {
    vms: _vms,
    alerts: _alerts,
    auth_events: _auth,
    firewall_events: _firewall,
    docker_events: _docker,
    system_events: _system,
    heartbeats: _heartbeats,
    addrwatch: _addrwatch,
    objects: _objects,
  },
};

/** Options for {@linkcode siemSqliteSink}: those of {@linkcode sqliteSink} but the table layout. */
export interface SiemSqliteSinkOptions
  extends Omit<SqliteSinkOptions, "schema" | "table" | "columns" | "values" | "indexes"> {
  /** The field holding the category (set by `categorize()`). @default {"category"} */
  categoryField?: string;
}

/**
 * An SQLite sink with the {@linkcode siemSchema} tables that stores each
 * event in the table of its category: `fields.category` when a
 * `categorize()` step set it, otherwise worked out here with
 * {@linkcode siemCategory} (events are never changed). A category that is
 * not one of the SIEM categories is dead-lettered.
 *
 * @param options Database and the other {@linkcode sqliteSink} options.
 * @returns The sink.
 *
 * @example The central's store
 * ```ts
 * import { siemSqliteSink } from "./schema.ts";
 * const sink = siemSqliteSink({ database: "/var/lib/sluice/siem.db" });
 * ```
 */
export function siemSqliteSink(options: SiemSqliteSinkOptions): SqliteSink {
  const { categoryField = "category", ...rest } = options;
  return sqliteSink({ ...rest, schema: siemSchema, table: siemTableOf(categoryField) });
}

/**
 * The routing of {@linkcode siemSqliteSink}, for the other stores' sinks
 * (`siemPostgresSink`, `siemMysqlSink`): the table of an event's category,
 * `fields.category` when set, else {@linkcode siemCategory}; a category
 * that is not a SIEM one gives a name no schema has (the row is dead-lettered).
 *
 * @param categoryField The field holding the category. @default {"category"}
 * @returns The table of an event.
 *
 * @example
 * ```ts
 * import { siemTableOf } from "./schema.ts";
 * import { createEvent } from "../core/event.ts";
 * siemTableOf()(createEvent("x", { fields: { category: "alerts" } })); // "alerts"
 * ```
 */
export function siemTableOf(categoryField = "category"): (e: LogEvent) => string {
  const getCategory = fieldGetter(categoryField);
  return (e) => {
    const c = getCategory(e);
    if (c === undefined || c === null || c === "") return SIEM_TABLES[siemCategory(e)];
    if (isSiemCategory(c)) return SIEM_TABLES[c];
    return `category ${String(c).slice(0, 60)}`;
  };
}
