/**
 * A source of synthetic SIEM alerts for demos, tests and benchmarks.
 *
 * @module
 */

import { createEvent, type LogEvent } from "../core/event.ts";
import { sleep } from "../core/backoff.ts";
import type { Source, SourceContext } from "../core/types.ts";

/** Options for {@linkcode generatorSource}. */
export interface GeneratorSourceOptions {
  /** How many events to emit; forever when left out. */
  count?: number;
  /** Events per second; as fast as the pipeline takes them when left out. */
  rate?: number;
  /** Events per emitted batch. @default {1000} */
  batchSize?: number;
  /** Seed of the deterministic content. @default {1} */
  seed?: number;
  /** Host names to spread the alerts over. @default {["vm-1","vm-2","vm-3"]} */
  hosts?: string[];
  /** Makes the message of event `n` instead of a JSON alert. */
  message?: (n: number) => string;
  /** A name for stats and state. */
  name?: string;
}

const _RULES = [
  "Mimikatz_Strings",
  "CobaltStrike_Beacon",
  "Webshell_PHP_Generic",
  "Suspicious_Cron_Entry",
  "SSH_Authorized_Keys_Modified",
  "Cryptominer_XMRig",
  "Reverse_Shell_Bash",
  "Packed_UPX_ELF",
];
const _SEVERITIES = ["low", "medium", "medium", "high", "high", "critical"];
const _HEX = "0123456789abcdef";

/**
 * A small fast PRNG (mulberry32): the same seed gives the same sequence.
 *
 * @param seed Any 32-bit integer.
 * @returns A function returning floats in [0, 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "./generator.ts";
 * assert.ok(seededRandom(7)() === seededRandom(7)());
 * ```
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Makes alert `n` of a deterministic sequence: a JSON line of 250–300 bytes
 * in the reference design's shape (timestamp, host, severity, rule, file,
 * hash, msg).
 *
 * @param n The alert's sequence number.
 * @param seed The sequence's seed. @default {1}
 * @param hosts Host names to pick from.
 * @returns One JSON line without newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syntheticAlert } from "./generator.ts";
 * const alert = JSON.parse(syntheticAlert(0));
 * assert.ok(typeof alert.rule === "string" && alert.hash.length === 64);
 * ```
 */
export function syntheticAlert(
  n: number,
  seed = 1,
  hosts: readonly string[] = ["vm-1", "vm-2", "vm-3"],
): string {
  const rand = seededRandom(seed * 1_000_003 + n);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  let hash = "";
  for (let i = 0; i < 64; i++) hash += _HEX[Math.floor(rand() * 16)];
  const rule = pick(_RULES);
  const ts = new Date(Date.UTC(2026, 10, 23) + n * 1000).toISOString();
  return JSON.stringify({
    timestamp: ts,
    host: pick(hosts),
    severity: pick(_SEVERITIES),
    rule,
    file: `/var/quarantine/${hash.slice(0, 12)}.bin`,
    hash,
    msg: `YARA rule ${rule} matched a file written by pid ${Math.floor(rand() * 65535)}`,
    seq: n,
  });
}

/**
 * Emits synthetic SIEM alerts: a fixed count (then `done` resolves) or
 * forever, as fast as the pipeline takes them or at a given rate. Each event
 * has the id `<name>:<n>`, so a replay stores nothing twice.
 *
 * @param options Count, rate, batch size, seed.
 * @returns The source.
 *
 * @example
 * ```ts
 * import { generatorSource } from "./generator.ts";
 * const source = generatorSource({ count: 10_000, rate: 5000 });
 * ```
 */
export function generatorSource(options: GeneratorSourceOptions = {}): Source {
  const { count, rate, batchSize = 1000, seed = 1, hosts, message } = options;
  if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
    throw new RangeError(`generatorSource: "count" must be a non-negative integer, got ${count}`);
  }
  if (rate !== undefined && !(rate > 0)) {
    throw new RangeError(`generatorSource: "rate" must be positive, got ${rate}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `generatorSource: "batchSize" must be a positive integer, got ${batchSize}`,
    );
  }
  const make = message ?? ((n: number) => syntheticAlert(n, seed, hosts));
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  let loop: Promise<void> | undefined;
  const run = async (ctx: SourceContext) => {
    const perTick = rate ? Math.max(1, Math.min(batchSize, Math.ceil(rate / 20))) : batchSize;
    const started = performance.now();
    let n = 0;
    while (!stopped && (count === undefined || n < count)) {
      const size = count === undefined ? perTick : Math.min(perTick, count - n);
      const batch: LogEvent[] = new Array(size);
      for (let i = 0; i < size; i++, n++) {
        batch[i] = createEvent(make(n), { id: `${ctx.name}:${String(n).padStart(12, "0")}` });
      }
      ctx.stats.received += size;
      await ctx.emit(batch);
      if (rate) {
        const due = started + (n / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait, ctx.signal);
      }
    }
    resolveDone();
  };
  const source: Source = {
    kind: "generator",
    done,
    start(ctx) {
      loop = run(ctx).catch((err) => {
        ctx.log.error("generator failed", { error: String(err) });
        resolveDone();
      });
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
  return options.name ? { ...source, name: options.name } : source;
}
