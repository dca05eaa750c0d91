/**
 * One Postgres sink batch in one transaction with its statements pipelined
 * (`BEGIN`; the staging table's `CREATE` and the `COPY` in one write; each
 * move sent right behind its COPY data, with `COMMIT` behind the last), and
 * the short deadline a batch gets once its server is known to be gone.
 *
 * The transaction runs in `sql.begin()`, not on a `sql.reserve()`d
 * connection: `npm:postgres@3.4.9` queues a reserved connection's
 * statements in a list of its own while the connection is busy (a COPY's
 * data fills the socket), and when that connection closes nothing rejects
 * them (`reserve()` sets no `onclose`), so a pipelined `COMMIT` waited for
 * the 120 s write deadline after `pg_ctl restart -m immediate`. `begin()`
 * races its scope against the connection's close, so a dropped connection
 * fails the batch at once, whatever it had queued.
 *
 * @module
 */

import type { Writable } from "node:stream";
import type postgres from "../core/_deps/postgres.ts";
import type { PgMove } from "./_sql_pg_move.ts";

/** One table's share of a batch, rendered before its transaction begins. */
export interface PgStaged {
  /** The table's name, for errors. */
  table: string;
  /** Its staging statements. */
  move: PgMove;
  /** Its rows in COPY text format, in id order. */
  data: Uint8Array;
  /** How many rows `data` holds. */
  rows: number;
}

type Result = postgres.RowList<postgres.Row[]>;

/**
 * Stores one batch in one transaction with as few round trips as the
 * protocol allows: `BEGIN` (one), each table's `CREATE TEMP TABLE IF NOT
 * EXISTS` with its `COPY` (one), the COPY data with the move sent behind
 * its CopyDone and, behind the last move, the further statements and
 * `COMMIT` (one). Statements still run in order in one transaction (a
 * failed one aborts it, and the `COMMIT` behind it rolls back); this
 * resolves only once `COMMIT` succeeded and every statement before it did,
 * and rejects at once when the connection closes.
 *
 * @param s The pool.
 * @param staged The batch's tables, each rendered.
 * @param after Statements (with parameters) run after the moves, before `COMMIT`.
 * @param direct COPY straight into each table instead of through staging and the move: the
 *   server's work of a plain `\copy`, but one id stored already fails the whole batch (with
 *   SQLSTATE 23505 or, read from the statement behind the COPY, 25P02), to be redone through
 *   staging.
 * @returns The rows the moves (or the direct COPYs) inserted.
 * @throws The first failed statement's error (a row's data error, for the row-by-row fallback), or the connection's.
 *
 * @example
 * ```ts ignore
 * import { pgStoreBatch } from "./_sql_pg_batch.ts";
 * const inserted = await pgStoreBatch(sql, [{ table: "t", move: pgMoveSql(def), data }], []);
 * ```
 */
export async function pgStoreBatch(
  s: postgres.Sql,
  staged: readonly PgStaged[],
  after: readonly (readonly [string, unknown[]])[],
  direct = false,
): Promise<number> {
  // Every statement in the order sent; none is awaited before the next is sent.
  const sent: Promise<unknown>[] = [];
  const moves: Promise<Result>[] = [];
  await s.begin(async (tx) => {
    const send = (statement: string, params: unknown[] = []): Promise<Result> => {
      const q = tx.unsafe(statement, params as postgres.ParameterOrJSON<never>[]);
      // `catch` starts the query (npm:postgres runs a query when it is first awaited) and keeps
      // a failure that is read later, after COMMIT, from counting as unhandled.
      q.catch(() => {});
      sent.push(q);
      return q;
    };
    for (const { table, move, data } of staged) {
      // A further table's COPY follows the statements in flight without waiting for them: the
      // CopyFail ("COPY from stdin failed: null") that once ended it came from the previous COPY
      // stream's auto-destroy, which pgCopyData now keeps quiet (see there).
      if (!direct) send(move.create);
      const copy = direct ? move.direct : move.copy;
      const stream = await tx.unsafe(copy).writable() as unknown as Writable;
      const copied = pgCopyData(stream, data, `COPY into ${table}`);
      sent.push(copied.done);
      await copied.sent;
      // npm:postgres drops the error of a COPY refused after its CopyDone (its stream never
      // finishes): a statement behind it then fails (25P02) and so settles the batch.
      moves.push(send(direct ? "SELECT 1" : move.insert));
    }
    for (const [statement, params] of after) send(statement, [...params]);
    // Returning now lets begin() send COMMIT behind the moves, without waiting for them.
  });
  // COMMIT answered. It succeeded only if every statement before it did (a failed statement turns
  // COMMIT into ROLLBACK, which npm:postgres does not report): the first failure is the batch's.
  // Promise.all, not one by one: a COPY that failed after its CopyDone never finishes (the client
  // drops that error), but the statement behind it then fails, and that settles the batch.
  await Promise.all(sent);
  let inserted = 0;
  if (direct) { for (const { rows } of staged) inserted += rows; }
  else for (const m of moves) inserted += (await m).count;
  return inserted;
}

/**
 * Writes a COPY's data and its end. `sent` resolves once the data and the
 * CopyDone are handed to the socket (statements sent then are pipelined
 * behind the COPY, before the server answered it); `done` once the server
 * answered the COPY, or rejects with the stream's error.
 *
 * @param stream The COPY stream (`tx.unsafe(copy).writable()`).
 * @param data The data in COPY format.
 * @param what What is copied, for errors.
 * @returns The two moments.
 *
 * @example
 * ```ts ignore
 * import { pgCopyData } from "./_sql_pg_batch.ts";
 * const { sent, done } = pgCopyData(stream, copyBytes(rows), "COPY into alerts");
 * ```
 */
export function pgCopyData(
  stream: Writable,
  data: Uint8Array,
  what: string,
): { sent: Promise<void>; done: Promise<void> } {
  let tell: () => void = () => {};
  let fail: (err: unknown) => void = () => {};
  const sent = new Promise<void>((resolve, reject) => (tell = resolve, fail = reject));
  // npm:postgres 3.4.9's COPY stream writes CopyDone in its `final` and then takes new statements;
  // the COPY's answer comes later (the finish). Wrapping `_final` tells the caller at that moment.
  const w = stream as Writable & {
    _final?: (cb: (err?: Error | null) => void) => void;
    _destroy?: (err: Error | null, cb: (err?: Error | null) => void) => void;
  };
  const final = w._final;
  if (typeof final === "function") {
    w._final = (cb) => {
      final.call(w, cb);
      tell();
    };
  }
  // Its `destroy`, which auto-destroy runs after every finish too, writes a CopyFail to the socket.
  // Unpipelined that came when no COPY ran and the server ignored it; pipelined, the next table's
  // COPY may be running by then, and that CopyFail aborted it (a batch of two tables always
  // failed). After a finish there is nothing left to fail: the stream ends quietly.
  let finished = false;
  const destroy = w._destroy;
  if (typeof destroy === "function") {
    w._destroy = (err, cb) => finished && !err ? cb(null) : destroy.call(w, err, cb);
  }
  const done = new Promise<void>((resolve, reject) => {
    // `on`, not `once`: when the connection drops mid-COPY, npm:postgres's stream errors a second
    // time (its destroy writes to the closed socket); with no listener that would crash the process.
    stream.on("error", (err) => {
      const e = new Error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
      // The server's SQLSTATE, when it refused the COPY: the caller decides on it.
      const code = (err as { code?: unknown })?.code;
      if (typeof code === "string") Object.assign(e, { code });
      fail(e);
      reject(e);
    });
    stream.once("finish", () => (finished = true, tell(), resolve()));
  });
  done.catch(() => {});
  sent.catch(() => {});
  stream.end(data);
  return { sent, done };
}

/**
 * Batches in flight and the server's loss: once a connection to the server
 * was lost (the caller calls {@linkcode PgLostWatch.lost}), each batch
 * still waiting gets `graceMs` more to settle, then fails with an error
 * naming the wait, and `onLate` drops its connections. A batch whose
 * connection closed fails by itself; this bounds the wait of any other
 * (a half-open socket, a statement the client never rejected) to seconds
 * instead of the write deadline. A transaction that commits after all is
 * harmless: the retry finds its ids stored.
 *
 * @example
 * ```ts
 * import { PgLostWatch } from "./_sql_pg_batch.ts";
 * const watch = new PgLostWatch(5000);
 * await watch.run(Promise.resolve(1), () => {});
 * ```
 */
export class PgLostWatch {
  readonly #graceMs: number;
  readonly #pending = new Set<() => void>();

  /** @param graceMs How long a batch may still take once the server is known to be gone. */
  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  /**
   * Awaits `work`, failing it `graceMs` after a {@linkcode PgLostWatch.lost} call made while it runs.
   *
   * @param work The batch.
   * @param onLate Called once when the batch is failed this way (drop its connections).
   * @returns What `work` resolves to.
   */
  run<T>(work: Promise<T>, onLate: () => void): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let arm: () => void = () => {};
    const late = new Promise<never>((_, reject) => {
      arm = () => {
        timer ??= setTimeout(() => {
          onLate();
          reject(
            new Error(
              `a batch got no answer within ${this.#graceMs} ms after a connection to the server was lost; its connections were dropped`,
            ),
          );
        }, this.#graceMs);
      };
    });
    this.#pending.add(arm);
    work.catch(() => {});
    return Promise.race([work, late]).finally(() => {
      this.#pending.delete(arm);
      clearTimeout(timer);
    });
  }

  /** A connection to the server was lost: every batch in flight has `graceMs` left. */
  lost(): void {
    for (const arm of this.#pending) arm();
  }
}
