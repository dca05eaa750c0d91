/**
 * The connections of one listener and the limits every listener keeps
 * (tcp, syslog and RELP sources): an idle timeout, a cap per peer address,
 * a cap for all peers together, and room for new peers. When the listener
 * is full, a new connection does not get refused while idle ones are open:
 * the oldest idle connection of the busiest address is closed for it, so a
 * flood of idle connections from a few addresses cannot lock out a real
 * sender from another one.
 *
 * @module
 */

import type { SourceContext } from "./types.ts";
import { positiveInt } from "./options.ts";

/** Default {@linkcode ConnectionLimitOptions.idleTimeoutMs}: 5 minutes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
/** Default {@linkcode ConnectionLimitOptions.maxConnections}. */
export const DEFAULT_MAX_CONNECTIONS = 1000;
/** Default {@linkcode ConnectionLimitOptions.maxConnectionsPerAddress}. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 100;

/** The connection limits of a listener. */
export interface ConnectionLimitOptions {
  /**
   * Most simultaneous connections. When full, the oldest idle connection of
   * the address with the most connections is closed to make room; a new
   * connection is refused (and counted) only when none is idle.
   * @default {1000}
   */
  maxConnections?: number;
  /**
   * Most simultaneous connections from one address. A further one closes
   * the oldest idle connection of that address (a sender that reconnects
   * after a network break replaces its dead connection), or is refused
   * when all of them are busy. Senders behind one NAT share an address.
   * @default {100}
   */
  maxConnectionsPerAddress?: number;
  /**
   * Closes a connection that sent nothing for this long, in ms (time spent
   * waiting for the pipeline or for acknowledgements does not count); `0`
   * never does.
   * @default {300000}
   */
  idleTimeoutMs?: number;
}

/** Limits resolved and checked, see {@linkcode resolveConnectionLimits}. */
export interface ConnectionLimits {
  /** Most connections. */
  maxConnections: number;
  /** Most connections from one address. */
  maxConnectionsPerAddress: number;
  /** Idle timeout in ms; 0: none. */
  idleTimeoutMs: number;
}

/**
 * Resolves and checks a listener's limits when it is built.
 *
 * @param who The component, for error messages.
 * @param options The options.
 * @returns The limits.
 * @throws {RangeError} When a limit is not a whole number in range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveConnectionLimits } from "./connection_table.ts";
 * const limits = resolveConnectionLimits("tcpSource", { maxConnections: 10 });
 * assert.equal(limits.maxConnectionsPerAddress, 10);
 * assert.equal(limits.idleTimeoutMs, 300_000);
 * ```
 */
export function resolveConnectionLimits(
  who: string,
  options: ConnectionLimitOptions,
): ConnectionLimits {
  const maxConnections = positiveInt(
    who,
    "maxConnections",
    options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
  );
  const perAddress = positiveInt(
    who,
    "maxConnectionsPerAddress",
    options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  );
  return {
    maxConnections,
    maxConnectionsPerAddress: Math.min(perAddress, maxConnections),
    idleTimeoutMs: positiveInt(
      who,
      "idleTimeoutMs",
      options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      0,
    ),
  };
}

/** Why the table closes a connection. */
export type CloseReason = "idle" | "evicted";

/** One admitted connection. */
export interface ConnectionSlot {
  /** The peer's address. */
  readonly ip: string;
  /** The last time it sent something or was acknowledged (ms). */
  last: number;
  /** Whether it is idle now (nothing waits for the pipeline or an acknowledgement). */
  idle: () => boolean;
  /** Closes it; called at most once, by the table. */
  close: (reason: CloseReason) => void;
}

interface _Slot extends ConnectionSlot {
  released: boolean;
}

/**
 * The open connections of one listener, by address. A source admits each
 * new connection (`admit`), marks activity (`touch`) and releases it when it
 * ends (`release`); the table closes connections idle past the timeout, and
 * makes room when full.
 *
 * Counters (in the source's stats): `idle_timeouts`, `evicted_connections`,
 * `rejected_connections`. Closed connections are logged as one line every
 * 10 s at most, with the address that lost the most.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./log.ts";
 * import { ComponentStats } from "./stats.ts";
 * import type { SourceContext } from "./types.ts";
 * import { ConnectionTable } from "./connection_table.ts";
 * const stats = new ComponentStats("source", "tcp", "tcp");
 * const ctx = { stats, log: createLogger("silent") } as unknown as SourceContext;
 * const limits = { maxConnections: 2, maxConnectionsPerAddress: 2, idleTimeoutMs: 0 };
 * const table = new ConnectionTable("tcpSource", limits, ctx);
 * const closed: string[] = [];
 * const admit = (ip: string) =>
 *   table.admit(ip, () => true, (why) => closed.push(`${ip} ${why}`));
 * admit("10.0.0.1");
 * admit("10.0.0.1");
 * assert.ok(admit("10.0.0.2") !== null);
 * assert.deepEqual(closed, ["10.0.0.1 evicted"]);
 * ```
 */
export class ConnectionTable {
  readonly #who: string;
  readonly #limits: ConnectionLimits;
  readonly #ctx: SourceContext;
  readonly #byIp = new Map<string, Set<_Slot>>();
  #size = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closedIdle = 0;
  #closedEvicted = 0;
  #refused = 0;
  #lostBy = new Map<string, number>();
  #lastReport = 0;

  /**
   * Makes an empty table.
   *
   * @param who The component, for log lines.
   * @param limits Resolved limits.
   * @param ctx The source's context (stats and log).
   */
  constructor(who: string, limits: ConnectionLimits, ctx: SourceContext) {
    this.#who = who;
    this.#limits = limits;
    this.#ctx = ctx;
  }

  /** Connections admitted and not released. */
  get size(): number {
    return this.#size;
  }

  /**
   * Admits a new connection, closing an idle one to make room when a limit
   * is reached.
   *
   * @param ip The peer's address.
   * @param idle Whether the connection is idle now.
   * @param close Closes the connection (idle timeout or eviction).
   * @returns Its slot, or `null` when it must be refused (counted).
   */
  admit(
    ip: string,
    idle: () => boolean,
    close: (reason: CloseReason) => void,
  ): ConnectionSlot | null {
    const mine = this.#byIp.get(ip);
    if (mine !== undefined && mine.size >= this.#limits.maxConnectionsPerAddress) {
      const victim = _oldestIdle(mine);
      if (victim === undefined) return this.#refuse(ip, "its address has no idle connection");
      this.#evict(victim);
    } else if (this.#size >= this.#limits.maxConnections) {
      const victim = this.#victim();
      if (victim === undefined) return this.#refuse(ip, "no connection is idle");
      this.#evict(victim);
    }
    const slot: _Slot = { ip, last: Date.now(), idle, close, released: false };
    let set = this.#byIp.get(ip);
    if (set === undefined) this.#byIp.set(ip, set = new Set());
    set.add(slot);
    this.#size++;
    return slot;
  }

  /**
   * Marks activity on a connection.
   *
   * @param slot The connection.
   */
  touch(slot: ConnectionSlot): void {
    slot.last = Date.now();
  }

  /**
   * Forgets a connection that ended; idempotent.
   *
   * @param slot The connection.
   */
  release(slot: ConnectionSlot): void {
    const s = slot as _Slot;
    if (s.released) return;
    s.released = true;
    const set = this.#byIp.get(s.ip);
    if (set === undefined || !set.delete(s)) return;
    this.#size--;
    if (set.size === 0) this.#byIp.delete(s.ip);
  }

  /** Starts closing idle connections and reporting (every second at most). */
  start(): void {
    if (this.#timer !== undefined) return;
    const t = this.#limits.idleTimeoutMs;
    const every = t > 0 ? Math.max(10, Math.min(1000, Math.floor(t / 4))) : 1000;
    this.#timer = setInterval(() => this.sweep(), every);
  }

  /** Stops the timer (connections are closed by their source). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#report(true);
  }

  /** Closes connections idle past the timeout and logs what was closed; run by the timer. */
  sweep(): void {
    const timeout = this.#limits.idleTimeoutMs;
    if (timeout > 0) {
      const now = Date.now();
      const expired: _Slot[] = [];
      for (const set of this.#byIp.values()) {
        for (const slot of set) if (now - slot.last >= timeout && slot.idle()) expired.push(slot);
      }
      for (const slot of expired) {
        this.release(slot);
        this.#closedIdle++;
        this.#ctx.stats.add("idle_timeouts");
        this.#lost(slot.ip);
        _close(slot, "idle");
      }
    }
    this.#report(false);
  }

  /** The oldest idle connection of the address with the most connections. */
  #victim(): _Slot | undefined {
    const sets = [...this.#byIp.values()].sort((a, b) => b.size - a.size);
    for (const set of sets) {
      const victim = _oldestIdle(set);
      if (victim !== undefined) return victim;
    }
    return undefined;
  }

  #evict(slot: _Slot): void {
    this.release(slot);
    this.#closedEvicted++;
    this.#ctx.stats.add("evicted_connections");
    this.#lost(slot.ip);
    _close(slot, "evicted");
  }

  #refuse(ip: string, why: string): null {
    this.#refused++;
    this.#ctx.stats.errors++;
    this.#ctx.stats.add("rejected_connections");
    this.#lost(ip);
    if (this.#refused === 1) {
      this.#ctx.log.warn(`${this.#who}: refusing a connection: ${why}`, {
        peer: ip,
        open: this.#size,
      });
    }
    return null;
  }

  #lost(ip: string): void {
    this.#lostBy.set(ip, (this.#lostBy.get(ip) ?? 0) + 1);
  }

  #report(force: boolean): void {
    if (this.#closedIdle + this.#closedEvicted + this.#refused === 0) return;
    const now = Date.now();
    if (!force && now - this.#lastReport < 10_000) return;
    this.#lastReport = now;
    let top = "";
    let most = 0;
    for (const [ip, n] of this.#lostBy) {
      if (n > most) [top, most] = [ip, n];
    }
    this.#ctx.log.warn(`${this.#who}: closed connections to keep room for senders`, {
      idle_timeouts: this.#closedIdle,
      evicted: this.#closedEvicted,
      refused: this.#refused,
      open: this.#size,
      most_from: top,
      most_from_count: most,
    });
    this.#closedIdle = 0;
    this.#closedEvicted = 0;
    this.#refused = 0;
    this.#lostBy.clear();
  }
}

function _oldestIdle(set: Set<_Slot>): _Slot | undefined {
  let oldest: _Slot | undefined;
  for (const slot of set) {
    if ((oldest === undefined || slot.last < oldest.last) && slot.idle()) oldest = slot;
  }
  return oldest;
}

function _close(slot: _Slot, reason: CloseReason): void {
  try {
    slot.close(reason);
  } catch {
    // already closed
  }
}
