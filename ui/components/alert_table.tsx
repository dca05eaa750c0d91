/** @jsxImportSource npm:hono@4.13.23/jsx */
/**
 * The table of alerts the overview, the alerts page and host pages show.
 *
 * @module
 */

import type { Child } from "../../core/_deps/hono_jsx.ts";
import type { AlertRow } from "../../store/types.ts";
import { Empty, seg, Severity, Status, Time } from "./bits.tsx";

/**
 * A table of alerts, each row linking to its detail page.
 *
 * @param props The rows; `compact` leaves out the file and source columns;
 *   `archived` the `seq` of rows read from the Parquet archive (no detail
 *   page: shown as text, with an "archived" badge for their status).
 * @returns A table, or an empty state.
 *
 * @example
 * ```tsx
 * import { AlertTable } from "./alert_table.tsx";
 * const t = <AlertTable rows={[]} />;
 * ```
 */
export function AlertTable(
  props: { rows: readonly AlertRow[]; compact?: boolean; archived?: ReadonlySet<number> },
): Child {
  if (props.rows.length === 0) return <Empty>No alerts.</Empty>;
  return (
    <div class="table-wrap">
      <table class="alerts">
        <thead>
          <tr>
            <th>Time</th>
            <th>Severity</th>
            <th>Host</th>
            <th>Rule</th>
            <th>Message</th>
            {props.compact ? null : <th>Source</th>}
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((a) => {
            const archived = props.archived?.has(a.seq) ?? false;
            return (
              <tr class={archived ? "archived" : undefined}>
                <td class="nowrap">
                  {archived ? <Time iso={a.timestamp} /> : (
                    <a href={`/alerts/${a.seq}`}>
                      <Time iso={a.timestamp} />
                    </a>
                  )}
                </td>
                <td>
                  <Severity value={a.severity} />
                </td>
                <td>{a.host ? <a href={`/hosts/${seg(a.host)}`}>{a.host}</a> : "—"}</td>
                <td class="rule">
                  {archived ? a.rule ?? "—" : <a href={`/alerts/${a.seq}`}>{a.rule ?? "—"}</a>}
                </td>
                <td class="msg">{a.message ?? a.file ?? ""}</td>
                {props.compact ? null : <td>{a.source ?? ""}</td>}
                <td>
                  <Status value={archived ? "archived" : a.status} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
