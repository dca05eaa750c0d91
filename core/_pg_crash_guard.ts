/**
 * A guard against one known crash of `npm:postgres@3.4.9`: when a server
 * connection closes while a small write is queued, the client's `nextWrite`
 * calls `write` on a socket it has already set to `null`, from a timer or a
 * socket event where no caller can catch it (porsager/postgres issues 1066,
 * 1154 and 1208, open upstream with no released fix). Uncaught, that
 * `TypeError` ends the whole process, the central with it; we saw it in 2 of
 * 10 suite runs during `pg_ctl restart -m immediate` under a burst.
 *
 * While a sluice Postgres sink or store is open it registers here; the guard
 * then keeps that one error (recognised by its message and the client's
 * `connection.js` `nextWrite` frame in its stack) from ending the process
 * and tells each registrant, who drops its connections and makes new ones
 * (a connection that failed this way can keep a stale write timer and never
 * send again). Every other uncaught error still ends the process as before.
 *
 * @module
 */

type Listener = (err: Error) => void;

const listeners = new Set<Listener>();
let caught = 0;

function onError(event: ErrorEvent): void {
  if (!isPostgresWriteCrash(event.error)) return;
  event.preventDefault();
  caught++;
  for (const l of [...listeners]) {
    try {
      l(event.error as Error);
    } catch {
      // a registrant's failure must not turn a survived crash into another one
    }
  }
}

/**
 * Whether an error is the `npm:postgres` null-socket write crash this module
 * guards against: a `TypeError` about reading `write` of `null`, thrown from
 * `nextWrite` in the client's `connection.js`.
 *
 * @param err Any thrown value.
 * @returns `true` only for that crash.
 *
 * @example
 * ```ts
 * import { isPostgresWriteCrash } from "./_pg_crash_guard.ts";
 * isPostgresWriteCrash(new TypeError("Cannot read properties of null (reading 'write')")); // false: no nextWrite frame
 * ```
 */
export function isPostgresWriteCrash(err: unknown): boolean {
  if (!(err instanceof TypeError)) return false;
  if (!/reading 'write'|evaluating 'socket\.write'/.test(err.message)) return false;
  const stack = typeof err.stack === "string" ? err.stack : "";
  return /\bnextWrite\b[^\n]*[\\/]postgres[\\/][^\n]*connection\.js/.test(stack);
}

const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
]);

/**
 * Whether an `npm:postgres` error means the connection, not the statement,
 * failed. Its pool keeps such a connection and reconnects it in place, and a
 * connection that closed with a small write queued never sends again (its
 * write timer is left set; see the module text), so callers drop the pool
 * and make a new one on these.
 *
 * @param err Any thrown value (or its `cause`).
 * @returns `true` for a closed, refused, reset or timed-out connection.
 *
 * @example
 * ```ts
 * import { isPostgresConnectionError } from "./_pg_crash_guard.ts";
 * isPostgresConnectionError(Object.assign(new Error("x"), { code: "CONNECTION_CLOSED" })); // true
 * isPostgresConnectionError(Object.assign(new Error("x"), { code: "23505" })); // false
 * ```
 */
export function isPostgresConnectionError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    if (isPostgresWriteCrash(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Registers a callback for the guarded crash and keeps the guard installed
 * until every registration is undone.
 *
 * @param listener Called with the error each time the crash is caught.
 * @returns A function that undoes this registration (idempotent).
 *
 * @example
 * ```ts
 * import { onPostgresWriteCrash } from "./_pg_crash_guard.ts";
 * const off = onPostgresWriteCrash(() => console.warn("postgres connection lost; reconnecting"));
 * off();
 * ```
 */
export function onPostgresWriteCrash(listener: Listener): () => void {
  const wrapped: Listener = (err) => listener(err);
  if (listeners.size === 0) globalThis.addEventListener("error", onError);
  listeners.add(wrapped);
  return () => {
    if (!listeners.delete(wrapped)) return;
    if (listeners.size === 0) globalThis.removeEventListener("error", onError);
  };
}

/**
 * How many crashes the guard has kept from ending this process.
 *
 * @returns The count since the process started.
 *
 * @example
 * ```ts
 * import { postgresWriteCrashesCaught } from "./_pg_crash_guard.ts";
 * postgresWriteCrashesCaught(); // 0 on a healthy run
 * ```
 */
export function postgresWriteCrashesCaught(): number {
  return caught;
}
