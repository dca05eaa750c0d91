/**
 * One line of text for any stored event, as the live tail and host
 * timelines show it: the columns that say what happened, by table.
 *
 * @module
 */

import type { EventRow } from "../store/types.ts";
import { severityClass } from "../store/severity.ts";

/** An event as the live tail's script receives it: plain text only. */
export interface TailLine {
  /** `table:seq`, unique. */
  key: string;
  /** ISO time. */
  time: string;
  /** The category. */
  category: string;
  /** The host, or `""`. */
  host: string;
  /** The severity class (`critical` … `info`), or `""`. */
  severity: string;
  /** What happened. */
  text: string;
}

function _v(row: EventRow, name: string): string {
  const value = row.values[name];
  return value === null || value === undefined ? "" : String(value);
}

/**
 * What happened in an event, in one line.
 *
 * @param row A stored event.
 * @returns The text (at most 500 characters).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventText } from "./event_text.ts";
 * const text = eventText({ table: "auth", category: "auth", seq: 1, time: "", values: { outcome: "failed", user: "root", src_ip: "10.0.0.9", method: "password" } });
 * assert.equal(text, "failed password for root from 10.0.0.9");
 * ```
 */
export function eventText(row: EventRow): string {
  let text: string;
  switch (row.category) {
    case "alerts":
      text = [_v(row, "rule"), _v(row, "message") || _v(row, "file")].filter(Boolean).join(": ");
      break;
    case "auth":
      text = `${_v(row, "outcome")} ${_v(row, "method")} for ${_v(row, "user") || "?"}${
        _v(row, "src_ip") ? ` from ${_v(row, "src_ip")}` : ""
      }`.replace(/ {2,}/g, " ");
      break;
    case "firewall":
      text = `${_v(row, "action") || "packet"} ${_v(row, "proto")} ${_v(row, "src")}${
        _v(row, "spt") ? `:${_v(row, "spt")}` : ""
      } → ${_v(row, "dst")}${_v(row, "dpt") ? `:${_v(row, "dpt")}` : ""}`.replace(/ {2,}/g, " ");
      break;
    case "docker":
      text = `${_v(row, "type")} ${_v(row, "action")} ${_v(row, "name") || _v(row, "image")}`;
      break;
    case "addrwatch":
      text = `${_v(row, "ip")} is at ${_v(row, "mac")} on ${_v(row, "interface")}`;
      break;
    case "object":
      text = `${_v(row, "kind")} ${_v(row, "path")} (${_v(row, "size")} bytes)`;
      break;
    default: {
      const program = _v(row, "program");
      text = `${program ? `${program}: ` : ""}${_v(row, "message") || _v(row, "raw")}`;
    }
  }
  return text.trim().slice(0, 500);
}

/**
 * The live tail's line of an event.
 *
 * @param row A stored event.
 * @returns Plain values for the browser.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tailLine } from "./event_text.ts";
 * const line = tailLine({ table: "alerts", category: "alerts", seq: 4, time: "t", values: { host: "vm-1", severity: "crit", rule: "R" } });
 * assert.equal(line.severity, "critical");
 * ```
 */
export function tailLine(row: EventRow): TailLine {
  return {
    key: `${row.table}:${row.seq}`,
    time: row.time,
    category: row.category,
    host: _v(row, "host"),
    severity: severityClass(row.values.severity) ?? "",
    text: eventText(row),
  };
}
