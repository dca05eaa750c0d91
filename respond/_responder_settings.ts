/**
 * The {@linkcode Responder}'s options, checked and with their defaults.
 *
 * @module
 */

import { type TargetCheck, targetPolicy } from "./address.ts";
import type { Logger } from "../core/log.ts";
import type { ResponderOptions } from "./_responder_types.ts";

/** Every option of a responder but the allowlist (kept in the target check), with defaults. */
export type ResponderSettings = Required<Omit<ResponderOptions, "log" | "allow">> & {
  log?: Logger;
};

/**
 * Checks a responder's options and fills in the defaults: dry-run, blocks no
 * wider than /16 (IPv4) and /48 (IPv6), 600 s doubling per offence within a
 * day up to a week, 30 rule decisions a minute.
 *
 * @param options The responder's options.
 * @returns The settings and the check every target must pass (allowlist, loopback, width).
 * @throws {TypeError} When `mode` is not off, dry-run or on.
 * @throws {RangeError} When a duration, factor or rate is not positive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { responderSettings } from "./_responder_settings.ts";
 * import { DecisionTable } from "./decisions.ts";
 * const { settings } = responderSettings({ table: new DecisionTable(":memory:"), backends: {} });
 * assert.equal(settings.mode, "dry-run");
 * assert.equal(settings.bantimeSec, 600);
 * settings.table.close();
 * ```
 */
export function responderSettings(
  options: ResponderOptions,
): { settings: ResponderSettings; check: TargetCheck } {
  const mode = options.mode ?? "dry-run";
  if (!["off", "dry-run", "on"].includes(mode)) {
    throw new TypeError(
      `Responder: "mode" must be off, dry-run or on, got ${JSON.stringify(mode)}`,
    );
  }
  const check = targetPolicy({
    allow: options.allow ?? [],
    ...(options.minPrefix4 !== undefined ? { minPrefix4: options.minPrefix4 } : {}),
    ...(options.minPrefix6 !== undefined ? { minPrefix6: options.minPrefix6 } : {}),
  });
  const positive = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) {
      throw new RangeError(`Responder: "${name}" must be positive, got ${v}`);
    }
    return v;
  };
  const settings: ResponderSettings = {
    table: options.table,
    backends: options.backends,
    mode,
    minPrefix4: options.minPrefix4 ?? 16,
    minPrefix6: options.minPrefix6 ?? 48,
    bantimeSec: positive("bantimeSec", options.bantimeSec ?? 600),
    bantimeFactor: positive("bantimeFactor", options.bantimeFactor ?? 2),
    maxBantimeSec: positive("maxBantimeSec", options.maxBantimeSec ?? 604_800),
    findtimeSec: positive("findtimeSec", options.findtimeSec ?? 86_400),
    maxPerMinute: positive("maxPerMinute", options.maxPerMinute ?? 30),
    now: options.now ?? Date.now,
    ...(options.log ? { log: options.log } : {}),
  };
  return { settings, check };
}
