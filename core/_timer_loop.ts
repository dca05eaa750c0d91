/**
 * The clock of the memory services (core/heap_cap.ts, core/idle_gc.ts): a
 * look that runs again after the delay it returns, on timers that do not
 * keep the process alive.
 *
 * @module
 */

/** A running {@linkcode timerLoop}. */
export interface TimerLoop {
  /** No look runs after this. */
  stop(): void;
}

/**
 * Runs `look` after `firstMs`, then again after each delay it returns,
 * until it returns `undefined` or the loop is stopped. The timers are
 * unreferenced: the loop never keeps the process alive.
 *
 * @param look One look; returns the delay to the next, in ms, or `undefined` to end.
 * @param firstMs Delay to the first look, in ms.
 * @returns The loop.
 *
 * @example
 * ```ts
 * import { timerLoop } from "./_timer_loop.ts";
 * let looks = 0;
 * const loop = timerLoop(() => (++looks < 3 ? 10 : undefined), 10);
 * loop.stop();
 * ```
 */
export function timerLoop(look: () => number | undefined, firstMs: number): TimerLoop {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = (ms: number): void => {
    const next = setTimeout(run, ms);
    Deno.unrefTimer(next);
    timer = next;
  };
  const run = (): void => {
    timer = undefined;
    if (stopped) return;
    const next = look();
    if (next !== undefined && !stopped) schedule(next);
  };
  schedule(firstMs);
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
