/**
 * The text index's parts (store/_sqlite_text_index.ts): the FTS5 query a
 * text becomes, the fingerprint that tells whether a rowid still holds the
 * row that was indexed, the sidecar's tables and the SIEM file's read-only
 * URI.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { DatabaseSync, SQLInputValue } from "node:sqlite";

/** The most 3-character windows one query ANDs (spread over the text). */
const _MAX_TERMS = 12;

/** The alert columns the text filter reads, in the order they are joined. */
export const _COLS = ["rule", "message", "file", "hash", "host"] as const;

/** An alert's text columns as read. */
export type _AlertText = Record<string, SQLInputValue>;

function _doc(r: _AlertText): string {
  const parts: string[] = [];
  for (const c of _COLS) {
    const v = r[c];
    if (v !== null && v !== undefined) parts.push(typeof v === "string" ? v : String(v));
  }
  return parts.join("\n");
}

/** The fingerprint of an alert row: its time, id and text columns, hashed. */
export function _fingerprint(r: _AlertText | undefined): string {
  if (!r) return "";
  return createHash("sha256")
    .update(JSON.stringify([String(r.timestamp), _doc(r), String(r.id ?? "")]))
    .digest("base64");
}

/**
 * The FTS5 query for a needle: its distinct 3-character windows ANDed, each
 * quoted (each is one term of the trigram tokenizer, so `detail=none`
 * serves it); undefined under 3 characters or with a NUL.
 *
 * @example
 * ```ts
 * import { _ftsQuery } from "./_sqlite_text_terms.ts";
 * _ftsQuery("abcd"); // '"abc" AND "bcd"'
 * ```
 */
export function _ftsQuery(needle: string): string | undefined {
  if (needle.includes("\0")) return undefined;
  const cps = Array.from(needle);
  if (cps.length < 3) return undefined;
  const windows = [...new Set(cps.slice(0, -2).map((_, i) => cps.slice(i, i + 3).join("")))];
  const pick = windows.length <= _MAX_TERMS ? windows : Array.from(
    { length: _MAX_TERMS },
    (_, i) => windows[Math.round(i * (windows.length - 1) / (_MAX_TERMS - 1))] as string,
  );
  return pick.map((w) => `"${w.replaceAll('"', '""')}"`).join(" AND ");
}

/**
 * A read-only URI of a file (`?`, `#` and `%` escaped), for ATTACH.
 *
 * @example
 * ```ts
 * import { _roUri } from "./_sqlite_text_terms.ts";
 * _roUri("/data/a?b.db"); // "file:/data/a%3fb.db?mode=ro"
 * ```
 */
export function _roUri(path: string): string {
  const escaped = path.replace(
    /[?#%]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `file:${escaped}?mode=ro`;
}

/** Empties the sidecar (in the caller's transaction): its tables as format `version` makes them. */
export function _reset(d: DatabaseSync, version: string): void {
  d.exec(`DROP TABLE IF EXISTS words`);
  d.exec(
    `CREATE VIRTUAL TABLE words USING fts5(t, content='', contentless_delete=1, detail=none,
     tokenize='trigram')`,
  );
  d.exec(`DELETE FROM meta`);
  d.prepare(`INSERT INTO meta (key, value) VALUES ('version', ?), ('hi', '0'), ('lo', '0')`)
    .run(version);
}
