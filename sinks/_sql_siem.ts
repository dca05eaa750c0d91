/**
 * What the SIEM schema needs on a SQL server beyond its tables: the
 * `heartbeats` → `vms` trigger of siem/schema.ts, written for PostgreSQL and
 * for MySQL/MariaDB (SQLite's trigger is SQLite's own dialect).
 *
 * @module
 */

/**
 * The SQLite schema's heartbeats → vms trigger in PL/pgSQL (times kept as ISO text in `vms`).
 *
 * @example
 * ```ts
 * import { PG_VMS_TRIGGER } from "./_sql_siem.ts";
 * PG_VMS_TRIGGER.length; // 2
 * ```
 */
export const PG_VMS_TRIGGER: readonly string[] = [
  `CREATE OR REPLACE FUNCTION sluice_heartbeats_vms() RETURNS trigger LANGUAGE plpgsql AS $f$
  DECLARE t TEXT := to_char(NEW."timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  BEGIN
    IF NEW.host IS NOT NULL THEN
      INSERT INTO vms (host, first_seen, last_seen, source_ip, version, interval_s, heartbeats)
      VALUES (NEW.host, t, t, NEW.source_ip, NEW.version, NEW.interval_s, 1)
      ON CONFLICT (host) DO UPDATE SET
        first_seen = least(coalesce(vms.first_seen, excluded.first_seen), excluded.first_seen),
        last_seen = greatest(coalesce(vms.last_seen, ''), excluded.last_seen),
        source_ip = coalesce(excluded.source_ip, vms.source_ip),
        version = coalesce(excluded.version, vms.version),
        interval_s = coalesce(excluded.interval_s, vms.interval_s),
        heartbeats = coalesce(vms.heartbeats, 0) + 1;
    END IF;
    RETURN NULL;
  END $f$`,
  `CREATE OR REPLACE TRIGGER heartbeats_vms AFTER INSERT ON heartbeats FOR EACH ROW
    EXECUTE FUNCTION sluice_heartbeats_vms()`,
];

const _ISO_OF = (col: string) =>
  `CONCAT(DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%s.'), LPAD(FLOOR(MICROSECOND(${col}) / 1000), 3, '0'), 'Z')`;
/**
 * The SQLite schema's heartbeats → vms trigger for MySQL/MariaDB, made unless it exists.
 *
 * @example
 * ```ts
 * import { MYSQL_VMS_TRIGGER } from "./_sql_siem.ts";
 * MYSQL_VMS_TRIGGER.statement.startsWith("CREATE TRIGGER"); // true
 * ```
 */
export const MYSQL_VMS_TRIGGER: { statement: string; skipIf: string } = {
  skipIf:
    "SELECT 1 FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND trigger_name = 'heartbeats_vms'",
  statement: `CREATE TRIGGER heartbeats_vms AFTER INSERT ON heartbeats FOR EACH ROW
    INSERT INTO vms (host, first_seen, last_seen, source_ip, version, interval_s, heartbeats)
    SELECT NEW.host, ${_ISO_OF("NEW.`timestamp`")}, ${_ISO_OF("NEW.`timestamp`")},
      NEW.source_ip, NEW.version, NEW.interval_s, 1 FROM DUAL WHERE NEW.host IS NOT NULL
    ON DUPLICATE KEY UPDATE
      first_seen = LEAST(COALESCE(vms.first_seen, VALUES(first_seen)), VALUES(first_seen)),
      last_seen = GREATEST(COALESCE(vms.last_seen, ''), VALUES(last_seen)),
      source_ip = COALESCE(VALUES(source_ip), vms.source_ip),
      version = COALESCE(VALUES(version), vms.version),
      interval_s = COALESCE(VALUES(interval_s), vms.interval_s),
      heartbeats = COALESCE(vms.heartbeats, 0) + 1`,
};
