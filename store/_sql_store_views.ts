/**
 * SQLite's `vm_overview` view (siem/schema.ts) for the SQL servers: each
 * VM's row of `vms`, its alert count, its last alert (ISO 8601 UTC text
 * with milliseconds, as SQLite holds it) and `silent` (1 when no heartbeat
 * came for three intervals, 60 s when the VM names none; NULL without a
 * `last_seen`). Made once, when both tables exist, beside the dashboard's
 * tables (the store's writable connection); never replaced, as SQLite's
 * `CREATE VIEW IF NOT EXISTS`.
 *
 * @module
 */

import type { _SqlDriver } from "./_sql_store_db.ts";

/**
 * The `CREATE VIEW vm_overview` statement of a server, in ANSI quotes (the
 * MySQL store's sessions run with `ANSI_QUOTES`).
 *
 * @param kind The server.
 * @returns The statement.
 *
 * @example
 * ```ts
 * import { serverVmOverviewDdl } from "./_sql_store_views.ts";
 * serverVmOverviewDdl("postgres").startsWith('CREATE VIEW "vm_overview"'); // true
 * ```
 */
export function serverVmOverviewDdl(kind: "postgres" | "mysql"): string {
  const count = `(SELECT count(*) FROM "alerts" a WHERE a."host" = v."host") AS "alerts"`;
  if (kind === "postgres") {
    return `CREATE VIEW "vm_overview" AS SELECT v.*, ${count},
      (SELECT to_char(max(a."timestamp") AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        FROM "alerts" a WHERE a."host" = v."host") AS "last_alert",
      (CASE WHEN v."last_seen" ~ '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d' THEN
        (extract(epoch FROM now() - v."last_seen"::timestamptz)
          > 3 * coalesce(v."interval_s", 60))::int END) AS "silent"
      FROM "vms" v`;
  }
  return `CREATE VIEW "vm_overview" AS SELECT v.*, ${count},
    (SELECT CONCAT(LEFT(DATE_FORMAT(max(a."timestamp"), '%Y-%m-%dT%H:%i:%s.%f'), 23), 'Z')
      FROM "alerts" a WHERE a."host" = v."host") AS "last_alert",
    (TIMESTAMPDIFF(MICROSECOND,
      CAST(REPLACE(REPLACE(v."last_seen", 'T', ' '), 'Z', '') AS DATETIME(3)), UTC_TIMESTAMP(3))
      / 1000000 > 3 * COALESCE(v."interval_s", 60)) AS "silent"
    FROM "vms" v`;
}

/**
 * Makes `vm_overview` when `vms` and `alerts` exist and it does not
 * (under the UI schema's advisory lock in Postgres). A failure is returned,
 * not thrown: the dashboard works without the view.
 *
 * @param driver The server's driver.
 * @returns `true` when the view exists afterwards, else the reason.
 */
export async function _ensureVmOverview(driver: _SqlDriver): Promise<true | string> {
  try {
    if ((await driver.columns("vm_overview")).length > 0) return true;
    if ((await driver.columns("vms")).length === 0) return "no vms table yet";
    if ((await driver.columns("alerts")).length === 0) return "no alerts table yet";
    const ddl = serverVmOverviewDdl(driver.kind === "postgres" ? "postgres" : "mysql");
    await driver.transaction(async (q) => {
      if (driver.uiLock) {
        await q.run(driver.uiLock);
        const [made] = await q.all(
          `SELECT 1 AS x FROM information_schema.views WHERE table_schema = current_schema() AND table_name = 'vm_overview'`,
        );
        if (made) return;
      }
      await q.run(ddl);
    });
    return true;
  } catch (err) {
    // Another store made it at the same time (MySQL has no lock here), or the server refused.
    if ((await driver.columns("vm_overview").catch(() => [])).length > 0) return true;
    return err instanceof Error ? err.message : String(err);
  }
}
