/**
 * Helpers of the engine's tests (engine_test, engine_delivery_test): events,
 * a JSON parser, an engine run around a body.
 *
 * @module
 */

import {
  createEvent,
  createLogger,
  definePipeline,
  Engine,
  type LogEvent,
  type Parser,
  type PipelineDefinition,
} from "../../mod.ts";

/** A logger that prints nothing. */
export const quiet = createLogger("silent");

/**
 * Events with the given messages.
 *
 * @example
 * ```ts ignore
 * events("a", "b");
 * ```
 */
export function events(...messages: string[]): LogEvent[] {
  return messages.map((m) => createEvent(m));
}

/** A minimal JSON parser step (fields.json). */
export const jsonParser: Parser = {
  kind: "json",
  parse(e) {
    try {
      e.fields.json = JSON.parse(e.message);
      return true;
    } catch {
      return false;
    }
  },
};

/**
 * Starts an engine on `def`, runs `drive`, stops it, and returns it.
 *
 * @example
 * ```ts ignore
 * const engine = await run({ paths: [...] }, async () => { await src.push(events("a")); });
 * ```
 */
export async function run(def: PipelineDefinition, drive: (engine: Engine) => Promise<void>) {
  const engine = new Engine(definePipeline(def), { logger: quiet, drainTimeoutMs: 5000 });
  await engine.start();
  try {
    await drive(engine);
  } finally {
    await engine.stop();
  }
  return engine;
}
