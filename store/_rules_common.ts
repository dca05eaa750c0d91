/**
 * What the SQLite and server stores share for {@linkcode SiemStore.incidents}:
 * the key read from an alert's JSON.
 *
 * @module
 */

import type { IncidentRow } from "./types.ts";

/** An incident row from the columns read (`id`, `timestamp`, `rule`, `raw`). */
export function _incidentRow(r: Record<string, unknown>): IncidentRow {
  let key: string | null = null;
  try {
    const k = (JSON.parse(String(r.raw)) as { key?: unknown } | null)?.key;
    if (typeof k === "string") key = k;
  } catch {
    // An alert whose raw text is no JSON names no key.
  }
  return { id: String(r.id), timestamp: String(r.timestamp), rule: String(r.rule), key };
}
