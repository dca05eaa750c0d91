/**
 * A store the dashboard closes while it is quiet and opens again on the
 * next request. An open SQLite store holds native memory the central would
 * otherwise keep for good: each connection's page cache, schema and
 * prepared statements, and what its reads left in malloc's main arena.
 * Measured (issue 21, 1,000,000 alerts and auth events, every page 20
 * times in one process): glibc's `[heap]` stood 7.6 MB after use with
 * malloc_trim, 5.2 MB with the store closed first, 5.0 MB before use.
 * Reopening costs a few milliseconds and the store's caches of complete
 * hours, which the next overview reads again.
 *
 * @module
 */

import type { SiemStore, UiTables } from "../store/types.ts";

/** What {@linkcode idleStore} returns. */
export interface IdleStore {
  /** The store to hand the pages: every call opens the inner store first when it is closed. */
  readonly store: SiemStore;
  /** Closes the inner store when no call is running; the next call opens it again. */
  release(): Promise<boolean>;
  /** Whether the inner store is open now. */
  readonly open: boolean;
  /**
   * Runs `f` on the inner store when it is open, without opening it and
   * without counting as use (`onUse` is not called): housekeeping.
   */
  ifOpen<T>(f: (store: SiemStore) => Promise<T>): Promise<T | undefined>;
}

/**
 * Wraps a store so it can be closed between bursts of requests.
 *
 * @param first The store, open.
 * @param reopen Opens it again after {@linkcode IdleStore.release}.
 * @param onUse Called at the start and end of every call (the dashboard's idle timer).
 * @returns The wrapped store and `release()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openSqliteStore } from "../store/sqlite.ts";
 * import { idleStore } from "./_idle_store.ts";
 * const dir = await Deno.makeTempDir();
 * const { DatabaseSync } = await import("node:sqlite");
 * new DatabaseSync(`${dir}/siem.db`).close();
 * const open = () => openSqliteStore({ database: `${dir}/siem.db` });
 * const idle = idleStore(await open(), open);
 * assert.equal(await idle.release(), true);
 * assert.equal(idle.open, false);
 * assert.equal(await idle.store.ui.countUsers(), 0);
 * assert.equal(idle.open, true);
 * await idle.store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function idleStore(
  first: SiemStore,
  reopen: () => Promise<SiemStore>,
  onUse: () => void = () => {},
): IdleStore {
  let inner: SiemStore | undefined = first;
  let opening: Promise<SiemStore> | undefined;
  let busy = 0;
  let closed = false;
  async function acquire(): Promise<SiemStore> {
    if (closed) throw new Error("store: closed");
    busy++;
    onUse();
    try {
      if (inner) return inner;
      opening ??= reopen().finally(() => (opening = undefined));
      inner = await opening;
      return inner;
    } catch (err) {
      done();
      throw err;
    }
  }
  function done(): void {
    busy--;
    onUse();
  }
  async function use<T>(f: (s: SiemStore) => Promise<T>): Promise<T> {
    const s = await acquire();
    try {
      return await f(s);
    } finally {
      done();
    }
  }
  async function* exportAlerts(
    ...args: Parameters<SiemStore["exportAlerts"]>
  ): AsyncGenerator<Awaited<ReturnType<SiemStore["alerts"]>>["rows"]> {
    const s = await acquire();
    try {
      yield* s.exportAlerts(...args);
    } finally {
      done();
    }
  }
  const ui = new Proxy({} as UiTables, {
    get(_t, key: string) {
      return (...args: unknown[]) =>
        use((s) => (s.ui[key as keyof UiTables] as (...a: unknown[]) => Promise<unknown>)(...args));
    },
  });
  const store = new Proxy({} as SiemStore, {
    get(_t, key: string) {
      if (key === "kind") return first.kind;
      if (key === "ui") return ui;
      if (key === "exportAlerts") return exportAlerts;
      if (key === "then") return undefined;
      if (key === "close") {
        return async () => {
          closed = true;
          const s = inner ?? (opening ? await opening.catch(() => undefined) : undefined);
          inner = undefined;
          await s?.close();
        };
      }
      return (...args: unknown[]) =>
        use((s) => (s[key as keyof SiemStore] as (...a: unknown[]) => Promise<unknown>)(...args));
    },
  });
  return {
    store,
    get open() {
      return inner !== undefined;
    },
    async ifOpen<T>(f: (s: SiemStore) => Promise<T>): Promise<T | undefined> {
      if (!inner || closed) return undefined;
      const s = inner;
      busy++;
      try {
        return await f(s);
      } finally {
        busy--;
      }
    },
    async release() {
      if (busy > 0 || opening || !inner) return false;
      const s = inner;
      inner = undefined;
      await s.close();
      return true;
    },
  };
}
