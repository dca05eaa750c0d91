/**
 * The stores' cursors: JSON as URL-safe base64, so a cursor is opaque text
 * in a URL. An alerts page's `next` is {@linkcode alertCursor} of its last
 * row on every store, which lets a reader that showed only some of a page's
 * rows (the dashboard merging in archived alerts) resume after the last one
 * it showed without asking the store again.
 *
 * @module
 */

/**
 * A value as a cursor: its JSON in URL-safe base64 without padding.
 *
 * @param value Any JSON value.
 * @returns The cursor text.
 *
 * @example
 * ```ts
 * import { _b64, _unb64 } from "./cursor.ts";
 * _unb64(_b64(["2026-12-06T00:00:00.000Z", 7])); // ["2026-12-06T00:00:00.000Z", 7]
 * ```
 */
export function _b64(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replaceAll(
    "=",
    "",
  );
}

/**
 * The value of a cursor made by {@linkcode _b64}.
 *
 * @param cursor The cursor text.
 * @returns Its value; `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import { _unb64 } from "./cursor.ts";
 * _unb64("not base64 json"); // undefined
 * ```
 */
export function _unb64(cursor: string): unknown {
  try {
    return JSON.parse(atob(cursor.replaceAll("-", "+").replaceAll("_", "/")));
  } catch {
    return undefined;
  }
}

/**
 * The cursor that resumes an alerts listing after a row (newest first: by
 * time, then row id), as every store writes a page's `next`.
 *
 * @param row The last row shown.
 * @returns The cursor.
 *
 * @example
 * ```ts
 * import { alertCursor } from "./cursor.ts";
 * alertCursor({ timestamp: "2026-12-06T00:00:00.000Z", seq: 7 });
 * ```
 */
export function alertCursor(row: { timestamp: string; seq: number }): string {
  return _b64([row.timestamp, row.seq]);
}
