/**
 * The text index's limits and shapes (store/_sqlite_text_index.ts): when a
 * text is too common or the unindexed tail too long for the index to help,
 * where the sidecar lives, what a lookup answers and the index's options.
 *
 * @module
 */

/**
 * Above this many candidates a text is common: the newest-first scan finds a
 * page sooner (it reads about 50 / share rows: at most ~25,000 of 1,000,000
 * here), and counting a common text's candidates would cost more than that.
 *
 * @example
 * ```ts
 * import { _MAX_CANDIDATES } from "./_sqlite_text_limits.ts";
 * console.assert(_MAX_CANDIDATES === 2_000);
 * ```
 */
export const _MAX_CANDIDATES = 2_000;

/**
 * Past this many rows not indexed yet the index is not used: the query would
 * scan those by rowid anyway, slower than the plain newest-first scan.
 *
 * @example
 * ```ts
 * import { _MAX_TAIL } from "./_sqlite_text_limits.ts";
 * console.assert(_MAX_TAIL === 50_000);
 * ```
 */
export const _MAX_TAIL = 50_000;

/**
 * The sidecar's path for a database.
 *
 * @example
 * ```ts
 * import { _textIndexPath } from "./_sqlite_text_limits.ts";
 * _textIndexPath("data/siem.db"); // "data/siem.db-textindex"
 * ```
 */
export function _textIndexPath(database: string): string {
  return `${database}-textindex`;
}

/**
 * What `_TextIndex.candidates` answers: rows ≤ `hi` that may match.
 *
 * @example
 * ```ts
 * import type { _Candidates } from "./_sqlite_text_limits.ts";
 * const c: _Candidates = { hi: 1_000, rowids: [3, 998] };
 * console.assert(c.rowids.every((r) => r <= c.hi));
 * ```
 */
export interface _Candidates {
  hi: number;
  rowids: number[];
}

/**
 * Options of `_TextIndex`.
 *
 * @example
 * ```ts
 * import type { _TextIndexOptions } from "./_sqlite_text_limits.ts";
 * const options: _TextIndexOptions = { stepRows: 500, background: false };
 * console.assert(options.background === false);
 * ```
 */
export interface _TextIndexOptions {
  /** The sidecar file. @default {`${database}-textindex`} */
  path?: string;
  /** Rows per step of the build. @default {2000} */
  stepRows?: number;
  /** Pause between background steps, in ms. @default {100} */
  pauseMs?: number;
  /** Build in the background while behind (false: only by `step`). @default {true} */
  background?: boolean;
}
