/**
 * {@linkcode correlateStore}: keeps correlations' windows across restarts
 * (see `correlate.ts`).
 *
 * @module
 */

import type { Sink, SinkContext } from "../core/types.ts";
import type { Correlation } from "./correlate.ts";
import { msOption } from "./_correlate_util.ts";

/** Options for {@linkcode correlateStore}. */
export interface CorrelateStoreOptions {
  /**
   * Longest time the windows wait to be saved after a batch reached the
   * store, in ms: a timer saves them even when no batch follows. @default {5000}
   */
  saveMs?: number;
  /**
   * A name for stats and for its state file; keep it stable.
   * @default {"rules <rule>+<rule>…"}, from the rules' names, sorted
   */
  name?: string;
}

/**
 * A sink that keeps correlations' windows across restarts: when it opens
 * (before any source starts) it restores each rule from its state; a batch
 * that reaches it is saved at most `saveMs` later (at once when the last
 * save is that old, else by a timer, so the last batch before a quiet spell
 * is saved too); and it saves once more when it closes (SIGTERM). It writes nothing else, so it costs one small queue.
 * Put it in the `to` of the path whose steps hold the rules.
 *
 * @param rules The correlations to keep (their rule names must differ).
 * @param options Save interval, name.
 * @returns The sink.
 * @throws {TypeError} When `rules` is not a list of correlations or two share a name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { correlate, correlateStore } from "./correlate.ts";
 * const rule = correlate({ rule: "r", key: "${HOST}", window: 60_000, threshold: 3 });
 * const store = correlateStore([rule]);
 * assert.ok(store.kind === "correlate-store");
 * ```
 */
export function correlateStore(
  rules: readonly Correlation[],
  options: CorrelateStoreOptions = {},
): Sink {
  const where = "correlateStore";
  if (!Array.isArray(rules) || rules.some((r) => typeof r?.snapshot !== "function")) {
    throw new TypeError(`${where}: "rules" must be an array of correlate() steps`);
  }
  const names = new Set<string>();
  for (const r of rules) {
    if (names.has(r.rule)) throw new TypeError(`${where}: two rules are named "${r.rule}"`);
    names.add(r.rule);
  }
  const saveMs = msOption(where, "saveMs", options.saveMs ?? 5000, 0);
  let ctx: SinkContext | undefined;
  let savedAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!ctx) return;
    for (const r of rules) ctx.state.set(`rule.${r.rule}`, r.snapshot());
    savedAt = Date.now();
  };
  return {
    kind: "correlate-store",
    name: options.name ?? `rules ${[...names].sort().join("+")}`,
    maxBatch: 100_000,
    open(c: SinkContext): Promise<void> {
      ctx = c;
      let restored = 0;
      for (const r of rules) if (r.restore(c.state.get(`rule.${r.rule}`))) restored++;
      if (restored) c.log.info(`restored the windows of ${restored} rule(s)`);
      savedAt = Date.now();
      return Promise.resolve();
    },
    write(): Promise<void> {
      const since = Date.now() - savedAt;
      if (since >= saveMs) save();
      else if (timer === undefined) {
        // The windows this batch changed are saved even if no batch follows.
        const t = setTimeout(save, saveMs - since);
        Deno.unrefTimer(t);
        timer = t;
      }
      return Promise.resolve();
    },
    close(): Promise<void> {
      save();
      ctx = undefined;
      return Promise.resolve();
    },
  };
}
