/**
 * The alerts' text index: an FTS5 `trigram` index of the five columns the
 * text filter reads (rule, message, file, hash, host), kept in a sidecar
 * file beside the SIEM database (`siem.db-textindex`) and brought up to
 * date by rowid from the store's read connection, in bounded steps, off the
 * central's insert path. It only narrows: a text query takes the rowids it
 * names (at most {@linkcode _MAX_CANDIDATES}) plus every row above the
 * indexed mark, and the original predicate decides, so a stale entry (an
 * archived row) never shows and a row not indexed yet is still scanned.
 *
 * The index is contentless (`content=''`, `detail=none`, deletable), one
 * document per alert (the columns joined by a newline). A query is the AND
 * of the text's 3-character windows, each its own term: a superset of the
 * rows holding the text in one column, case folded the same way on both
 * sides. Texts under 3 characters, or holding a NUL, are not indexed
 * queries (the scan answers, as before).
 *
 * Trust: alerts have no INTEGER PRIMARY KEY, so SQLite gives a new row
 * max(rowid) + 1, and a rowid comes back only after the row holding the
 * maximum was deleted. The sidecar keeps a fingerprint of the highest row it
 * indexed; while that row is there unchanged no rowid at or below it was
 * reused. When it is gone or changed (the archiver took the newest rows, a
 * different database at the same path, a VACUUM that renumbered), the index
 * is emptied and built again. Each step is one transaction of the sidecar:
 * a crash leaves the last committed step, which is resumed.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { _Db } from "./_sqlite_db.ts";
import {
  type _AlertText,
  _COLS,
  _fingerprint,
  _ftsQuery,
  _reset,
  _roUri,
} from "./_sqlite_text_terms.ts";
import {
  type _Candidates,
  _MAX_CANDIDATES,
  _MAX_TAIL,
  type _TextIndexOptions,
  _textIndexPath,
} from "./_sqlite_text_limits.ts";

/** The format of the sidecar; another one is emptied and built again. */
const _VERSION = "2";

/**
 * The text index of one store: its sidecar connection and the background build.
 *
 * @example
 * ```ts ignore
 * import type { _Db } from "./_sqlite_db.ts";
 * import { _TextIndex } from "./_sqlite_text_index.ts";
 * const db = new _Db(_openReadOnly("siem.db"));
 * const idx = new _TextIndex(db, "siem.db");
 * db.textIndex = idx; // _alertWhere() narrows text filters by it
 * idx.candidates("mimikatz"); // { hi, rowids } or undefined: scan
 * idx.close();
 * ```
 */
export class _TextIndex {
  readonly #reader: _Db;
  readonly #database: string;
  readonly #path: string;
  readonly #stepRows: number;
  readonly #pauseMs: number;
  readonly #background: boolean;
  #db: DatabaseSync | undefined;
  #broken = false;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #stmts = new Map<string, StatementSync>();
  /** The connection queries use, kept open with its statements (each prepare is ~2.7 KB until GC). */
  #q: DatabaseSync | undefined;
  readonly #qStmts = new Map<string, StatementSync>();

  constructor(reader: _Db, database: string, options: _TextIndexOptions = {}) {
    this.#reader = reader;
    this.#database = database;
    this.#path = options.path ?? _textIndexPath(database);
    this.#stepRows = options.stepRows ?? 2000;
    this.#pauseMs = options.pauseMs ?? 100;
    this.#background = options.background ?? true;
  }

  /** Whether the database can have a sidecar (a read-only SIEM file gets none). */
  #writable(): boolean {
    try {
      const mode = Deno.statSync(this.#database).mode;
      return mode === null || (mode & 0o222) !== 0;
    } catch {
      return false;
    }
  }

  /**
   * Opens the sidecar (made or emptied when it is not this version's). Each
   * step opens and closes its own: measured over 120,000 rows in steps of
   * 2,000, one connection kept open grew the process by 12 MB, one per step
   * by 5.5 MB (SQLite's caches and FTS5's merge buffers go back to malloc
   * each time). Queries keep one open, with its few statements: a new one per
   * query grew the process by 2.7 KB a query until a GC.
   * `attach` attaches the SIEM file read-only (a URI: no write and no
   * checkpoint can come from here), so a step copies rows inside SQLite,
   * never through JavaScript (over 150,000 rows that grew V8's heap by 17 MB
   * and the process by 35).
   */
  #open(attach: boolean): DatabaseSync | undefined {
    if (this.#broken || this.#closed) return undefined;
    if (!this.#writable() || !this.#reader.has("alerts")) return undefined;
    let d: DatabaseSync | undefined;
    try {
      d = new DatabaseSync(this.#path);
      // Never waits long for another process building: that query scans instead.
      d.exec("PRAGMA busy_timeout = 50");
      d.exec("PRAGMA synchronous = NORMAL");
      // 1 MiB of page cache for a step, 256 KiB for queries (the default 2 MB would count
      // against the dashboard's memory).
      d.exec(`PRAGMA cache_size = ${attach ? -1024 : -256}`);
      const made = d.prepare(`SELECT 1 AS x FROM sqlite_master WHERE name = 'meta'`).get();
      const v = made
        ? d.prepare(`SELECT value AS v FROM meta WHERE key = 'version'`).get() as
          | { v: string }
          | undefined
        : undefined;
      if (v?.v !== _VERSION) {
        d.exec("PRAGMA journal_mode = WAL");
        d.exec("BEGIN IMMEDIATE");
        try {
          d.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
          const again = d.prepare(`SELECT value FROM meta WHERE key = 'version'`).get() as
            | { value: string }
            | undefined;
          if (again?.value !== _VERSION) _reset(d, _VERSION);
          d.exec("COMMIT");
        } catch (err) {
          d.exec("ROLLBACK");
          throw err;
        }
      }
      if (attach) {
        d.prepare(`ATTACH DATABASE ? AS siem`).run(_roUri(this.#database));
        d.exec("PRAGMA siem.cache_size = -256");
      }
    } catch (err) {
      d?.close();
      // Busy making it (another process): next time. Anything else: no index in this store.
      if (!(err instanceof Error && /locked|busy/i.test(err.message))) this.#broken = true;
      return undefined;
    }
    return d;
  }

  /** The query connection, made current (opened on first use). */
  #useQuery(): DatabaseSync | undefined {
    this.#q ??= this.#open(false);
    this.#db = this.#q;
    this.#stmts = this.#qStmts;
    return this.#q;
  }

  #st(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = (this.#db as DatabaseSync).prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #meta(key: string): number {
    const r = this.#st(`SELECT value FROM meta WHERE key = ?`).get(key) as
      | { value: string }
      | undefined;
    return r ? Number(r.value) : 0;
  }

  #setMeta(key: string, value: string | number): void {
    this.#st(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`).run(key, String(value));
  }

  #textColumns(): string {
    const id = this.#reader.cols("alerts").has("id") ? "id" : "NULL AS id";
    return `timestamp, ${id}, ${_COLS.join(", ")}`;
  }

  /** The fingerprint of a row as the store's reader (`siem` false) or the sidecar's attach sees it. */
  #rowFingerprint(rowid: number, attached: boolean): string {
    const sql = `SELECT ${this.#textColumns()} FROM ${
      attached ? "siem." : ""
    }alerts WHERE rowid = ?`;
    return _fingerprint(
      attached
        ? this.#st(sql).get(rowid) as _AlertText | undefined
        : this.#reader.get(sql, [rowid]),
    );
  }

  /** Whether the rows the index holds are still the rows at those rowids. */
  #trusted(attached: boolean): boolean {
    const hi = this.#meta("hi");
    if (hi === 0) return true;
    const fp = this.#st(`SELECT value FROM meta WHERE key = 'hi_fp'`).get() as
      | { value: string }
      | undefined;
    return fp !== undefined && fp.value === this.#rowFingerprint(hi, attached);
  }

  /**
   * Rows at or below `hi` that may hold the needle (all of them do, at least
   * those that match); undefined when the index cannot answer (none, too
   * short a text, a common text, busy, not trusted).
   */
  candidates(needle: string): _Candidates | undefined {
    const q = _ftsQuery(needle);
    if (q === undefined) return undefined;
    const d = this.#useQuery();
    if (!d) return undefined;
    try {
      // Catches up first when a step does it, so the tail the query scans stays short; further
      // behind, the background build does it (a step in each query would add its time to each).
      const max = Number(this.#reader.get(`SELECT max(rowid) AS m FROM alerts`)?.m ?? 0);
      const behind = max - this.#meta("hi");
      if (behind > 0 && behind <= this.#stepRows) {
        this.step(this.#stepRows, false);
        this.#useQuery();
      }
      d.exec("BEGIN");
      try {
        const hi = this.#meta("hi");
        if (hi === 0 || !this.#trusted(false)) return undefined;
        if (max - hi > _MAX_TAIL) return undefined;
        const rows = this.#st(
          `SELECT rowid AS r FROM words WHERE words MATCH ? ORDER BY rowid DESC LIMIT ?`,
        ).all(q, _MAX_CANDIDATES + 1) as Array<{ r: number }>;
        if (rows.length > _MAX_CANDIDATES) return undefined;
        return { hi, rowids: rows.map((r) => Number(r.r)) };
      } finally {
        d.exec("COMMIT");
      }
    } catch {
      return undefined;
    } finally {
      this.#schedule();
    }
  }

  /**
   * Indexes up to `rows` more alerts and, with `gc`, drops the entries of
   * up to a quarter as many archived ones (measured: about 50 µs a row, five
   * times an insert's cost), in one transaction of the sidecar.
   *
   * @returns Whether the index is caught up (false also when it cannot be built).
   */
  step(rows = this.#stepRows, gc = true): boolean {
    const d = this.#open(true);
    if (!d) return false;
    const [db, stmts] = [this.#db, this.#stmts];
    this.#db = d;
    this.#stmts = new Map();
    try {
      return this.#step(d, rows, gc);
    } finally {
      this.#stmts.clear();
      d.close();
      this.#db = db;
      this.#stmts = stmts;
    }
  }

  #step(d: DatabaseSync, rows: number, gc: boolean): boolean {
    try {
      d.exec("BEGIN IMMEDIATE");
    } catch {
      // Another process is at it.
      this.#failures++;
      return false;
    }
    try {
      if (!this.#trusted(true)) {
        this.#stmts.clear();
        _reset(d, _VERSION);
      }
      const hi = this.#meta("hi");
      const top = this.#st(
        `SELECT max(r) AS m, count(*) AS n FROM (SELECT rowid AS r FROM siem.alerts WHERE rowid > ?
         ORDER BY rowid LIMIT ?)`,
      ).get(hi, rows) as { m: number | null; n: number };
      const n = Number(top.n);
      if (n > 0) {
        const last = Number(top.m);
        this.#st(
          `INSERT INTO words (rowid, t) SELECT rowid, concat_ws(char(10), ${_COLS.join(", ")})
           FROM siem.alerts WHERE rowid > ? AND rowid <= ?`,
        ).run(hi, last);
        this.#setMeta("hi", last);
        this.#setMeta("hi_fp", this.#rowFingerprint(last, true));
      }
      // Entries of rows the archiver took (the oldest): a bounded range per step.
      const lo = this.#meta("lo");
      const min = (this.#st(`SELECT min(rowid) AS m FROM siem.alerts`).get() as { m: unknown }).m;
      const alive = Math.min(
        min === null || min === undefined ? Infinity : Number(min),
        this.#meta("hi") + 1,
      );
      let upTo = lo;
      if (gc && alive > lo) {
        upTo = Math.min(alive, lo + Math.max(100, Math.floor(rows / 4)));
        this.#st(`DELETE FROM words WHERE rowid >= ? AND rowid < ?`).run(lo, upTo);
        this.#setMeta("lo", upTo);
      }
      d.exec("COMMIT");
      return n < rows && upTo >= alive;
    } catch {
      this.#failures++;
      try {
        d.exec("ROLLBACK");
      } catch { /* already rolled back */ }
      return false;
    }
  }

  /**
   * Runs the next background step later, while behind: a step of
   * `stepRows`, then a pause of at least 4 times its length (the build takes
   * at most a fifth of the thread the dashboard shares with the central).
   * A step that fails stops the build until the next text query.
   */
  #schedule(delay = this.#pauseMs): void {
    if (!this.#background || this.#closed || this.#broken || this.#timer !== undefined) return;
    const timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      const t = performance.now();
      const before = this.#failures;
      const done = this.step();
      if (!done && this.#failures === before) {
        this.#schedule(Math.max(this.#pauseMs, 4 * (performance.now() - t)));
      }
    }, delay);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Steps that failed (busy, an error) since the index was made. */
  get failures(): number {
    return this.#failures;
  }

  /** Whether a sidecar is open (false: a read-only database, no place to write, a broken file). */
  get usable(): boolean {
    return this.#useQuery() !== undefined;
  }

  /** Stops the build and closes the sidecar (what is built stays). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#qStmts.clear();
    this.#q?.close();
    this.#q = undefined;
    this.#db = undefined;
  }
}
