/**
 * Persistent state for sources and sinks (checkpoints, cursors): one JSON
 * file per component in the state directory, written atomically and at most
 * once per flush interval, so a checkpoint per acknowledgement costs nothing.
 * Each file carries its format's version ({@linkcode STATE_FILE_VERSION});
 * a file from a newer sluice stops the component instead of being overwritten.
 *
 * @module
 */

import { DowngradeError, readVersioned, writeVersioned } from "./_state_version.ts";

/**
 * The version of the state files this code writes (`"$version"` in each).
 * Raise it when a component changes the shape of what it saves, so an
 * older sluice refuses the files instead of reading them wrongly. 0: the
 * files of before versions (no `"$version"`), read the same way and
 * upgraded on their next write.
 *
 * @example
 * ```ts
 * import { STATE_FILE_VERSION } from "./state.ts";
 * console.log(STATE_FILE_VERSION); // 1
 * ```
 */
export const STATE_FILE_VERSION = 1;

/**
 * A component's key-value state. `get` and `set` are synchronous and work on
 * memory; the store writes to disk in the background and on `flush()`.
 */
export interface StateStore {
  /** A directory the component may keep its own files in (created on demand), or `undefined` in memory. */
  readonly dir: string | undefined;
  /** Reads a value. */
  get<T = unknown>(key: string): T | undefined;
  /** Writes a value; it reaches the disk within the flush interval. */
  set(key: string, value: unknown): void;
  /** Removes a value. */
  delete(key: string): void;
  /** Writes pending changes to disk now. */
  flush(): Promise<void>;
}

function _safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^\.+/, "_") || "_";
}

/**
 * A state store kept in memory only (tests, sources with nothing to resume).
 *
 * @returns A store whose `flush()` does nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryState } from "./state.ts";
 * const state = memoryState();
 * state.set("offset", 42);
 * assert.ok(state.get("offset") === 42);
 * ```
 */
export function memoryState(): StateStore {
  const values = new Map<string, unknown>();
  return {
    dir: undefined,
    get: <T>(key: string) => values.get(key) as T | undefined,
    set: (key, value) => void values.set(key, value),
    delete: (key) => void values.delete(key),
    flush: () => Promise.resolve(),
  };
}

/**
 * Opens (or creates) the state of one component under a state directory:
 * `<stateDir>/<component>.json`, plus `<stateDir>/<component>/` for its own
 * files. Writes go to a temporary file that is fsynced and renamed, so a
 * crash leaves the old or the new state, never a torn one. A file without a
 * version (written before versions) is read as it is and gains one on its
 * next write.
 *
 * @param stateDir The state directory.
 * @param component The component's stable name.
 * @param flushMs How long a change may wait before it is written. @default {1000}
 * @returns The loaded store.
 * @throws {DowngradeError} When the file was written by a newer sluice (it is left as it is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fileState } from "./state.ts";
 * const dir = await Deno.makeTempDir();
 * const state = await fileState(dir, "tail alerts");
 * state.set("offset", 7);
 * await state.flush();
 * assert.ok((await fileState(dir, "tail alerts")).get("offset") === 7);
 * ```
 */
export async function fileState(
  stateDir: string,
  component: string,
  flushMs = 1000,
): Promise<StateStore> {
  await Deno.mkdir(stateDir, { recursive: true });
  const base = `${stateDir}/${_safeName(component)}`;
  const file = `${base}.json`;
  let values: Record<string, unknown> = {};
  try {
    const read = await readVersioned(file, { component, version: STATE_FILE_VERSION });
    if (read) values = read.value;
  } catch (err) {
    if (err instanceof DowngradeError) throw err;
    // A corrupt state file must not stop the pipeline; keep it for inspection.
    await Deno.rename(file, `${file}.corrupt-${Date.now()}`).catch(() => {});
  }
  let dirty = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> = Promise.resolve();
  const write = async () => {
    if (!dirty) return;
    dirty = false;
    await writeVersioned(file, values, STATE_FILE_VERSION);
  };
  const flush = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    writing = writing.then(write, write);
    return writing;
  };
  const schedule = () => {
    dirty = true;
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        flush().catch(() => {
          dirty = true;
        });
      }, flushMs);
      Deno.unrefTimer(timer);
    }
  };
  let dirMade = false;
  return {
    get dir() {
      if (!dirMade) {
        Deno.mkdirSync(base, { recursive: true });
        dirMade = true;
      }
      return base;
    },
    get: <T>(key: string) => values[key] as T | undefined,
    set: (key, value) => {
      values[key] = value;
      schedule();
    },
    delete: (key) => {
      delete values[key];
      schedule();
    },
    flush,
  };
}
