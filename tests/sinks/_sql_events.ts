/**
 * Events and a retrying writer for the SQL server sink tests.
 *
 * @module
 */

import { createEvent, type LogEvent, type Sink } from "../../mod.ts";

/**
 * Alerts with ids `burst:FIRST` … as the central stores them.
 *
 * @example
 * ```ts
 * import { alertBatch } from "./_sql_events.ts";
 * alertBatch(0, 2).length; // 2
 * ```
 */
export function alertBatch(first: number, n: number): LogEvent[] {
  const out: LogEvent[] = [];
  for (let i = first; i < first + n; i++) {
    const json = {
      timestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      host: `vm-${i % 7}`,
      severity: i % 10 === 0 ? "critical" : "high",
      rule: `rule_${i % 13}`,
      file: `/srv/x/${i}`,
      hash: `h${i}`,
      msg: `alert ${i}`,
    };
    out.push(createEvent(JSON.stringify(json), {
      id: `burst:${String(i).padStart(8, "0")}`,
      host: json.host,
      fields: { category: "alerts", json },
    }));
  }
  return out;
}

/**
 * Writes a batch, retrying with a short back-off on rejection (as the
 * engine does) until the deadline.
 *
 * @example
 * ```ts ignore
 * import { writeWithRetry } from "./_sql_events.ts";
 * await writeWithRetry(sink, batch, 30_000);
 * ```
 */
export async function writeWithRetry(
  sink: Sink,
  batch: LogEvent[],
  timeoutMs: number,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  let retries = 0;
  while (true) {
    try {
      await sink.write(batch);
      return retries;
    } catch (err) {
      if (Date.now() > until) throw new Error(`write kept failing for ${timeoutMs} ms: ${err}`);
      retries++;
      await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** retries, 1000)));
    }
  }
}
