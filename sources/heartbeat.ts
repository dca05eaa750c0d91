/**
 * A source that says "this host is alive" every interval, with the agent's
 * version, uptime and pipeline health.
 *
 * @module
 */

import { sleep } from "../core/backoff.ts";
import { createEvent } from "../core/event.ts";
import type { StatsRegistry } from "../core/stats.ts";
import type { Source, SourceContext } from "../core/types.ts";
import denoJson from "../deno.json" with { type: "json" };

/** What one heartbeat reports (its message is this as JSON, and `fields.json` holds it). */
export interface Heartbeat {
  /** Always `"heartbeat"`, so a JSON parser on the central can tell it apart. */
  type: "heartbeat";
  /** When it was sent, ISO 8601 UTC. */
  timestamp: string;
  /** The sending host. */
  host: string;
  /** The sluice version of the agent. */
  agent_version: string;
  /** Seconds since the agent started. */
  uptime_s: number;
  /** Seconds since the host booted, when the agent may read it. */
  os_uptime_s?: number;
  /** Seconds between heartbeats: a host is silent after three missed ones. */
  interval_s: number;
  /** The host's non-loopback addresses, when the agent may read them. */
  ips?: string[];
  /** Events waiting in each sink's queue (with `stats`). */
  queues?: Record<string, number>;
  /** Errors of each sink so far (with `stats`). */
  sink_errors?: Record<string, number>;
  /** Bytes each tailed file is ahead of its checkpoint (gauges named `lag_bytes…`, with `stats`). */
  lag_bytes?: Record<string, number>;
  /** Events dropped anywhere in the pipeline so far (with `stats`). */
  dropped?: number;
}

/** Options for {@linkcode heartbeatSource}. */
export interface HeartbeatSourceOptions {
  /** Time between heartbeats, in ms. @default {60000} */
  interval?: number;
  /** The host name reported and set as `HOST`. @default {Deno.hostname()} */
  host?: string;
  /** The version reported. @default the version in deno.json */
  version?: string;
  /**
   * The pipeline's stats, for its health (queue depths, sink errors,
   * checkpoint lag). The runner's registry: a pipeline file that builds its
   * own {@linkcode StatsRegistry} passes it both here and to the engine.
   * Without it a heartbeat reports only liveness.
   */
  stats?: StatsRegistry;
  /** A name for stats and event ids. */
  name?: string;
}

const _STARTED = Date.now() - performance.now();

function _hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function _addresses(): string[] | undefined {
  try {
    const out: string[] = [];
    for (const i of Deno.networkInterfaces()) {
      if (i.family !== "IPv4" || i.address.startsWith("127.")) continue;
      if (!out.includes(i.address)) out.push(i.address);
    }
    return out;
  } catch {
    return undefined;
  }
}

function _osUptime(): number | undefined {
  try {
    return Deno.osUptime();
  } catch {
    return undefined;
  }
}

/**
 * Builds one heartbeat report now.
 *
 * @param host The host name.
 * @param intervalMs The heartbeat interval.
 * @param version The agent version.
 * @param stats The pipeline's stats, for its health.
 * @returns The report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { heartbeatReport } from "./heartbeat.ts";
 * const beat = heartbeatReport("vm-1", 60_000, "0.1.0");
 * assert.ok(beat.type === "heartbeat" && beat.interval_s === 60);
 * ```
 */
export function heartbeatReport(
  host: string,
  intervalMs: number,
  version: string,
  stats?: StatsRegistry,
): Heartbeat {
  const now = Date.now();
  const beat: Heartbeat = {
    type: "heartbeat",
    timestamp: new Date(now).toISOString(),
    host,
    agent_version: version,
    uptime_s: Math.round((now - _STARTED) / 1000),
    interval_s: intervalMs / 1000,
  };
  const os = _osUptime();
  if (os !== undefined) beat.os_uptime_s = os;
  const ips = _addresses();
  if (ips !== undefined) beat.ips = ips;
  if (stats) {
    const queues: Record<string, number> = {};
    const errors: Record<string, number> = {};
    const lag: Record<string, number> = {};
    let dropped = 0;
    for (const c of stats.components) {
      dropped += c.dropped;
      if (c.type === "sink") {
        queues[c.name] = c.queued;
        errors[c.name] = c.errors;
      }
      for (const gauge in c.gauges) {
        if (!gauge.startsWith("lag_bytes")) continue;
        const file = gauge.slice("lag_bytes".length).replace(/^[:.]/, "");
        lag[file ? `${c.name}:${file}` : c.name] = c.gauges[gauge] as number;
      }
    }
    beat.queues = queues;
    beat.sink_errors = errors;
    beat.lag_bytes = lag;
    beat.dropped = dropped;
  }
  return beat;
}

/**
 * Emits a heartbeat at start and then every `interval`: an event from
 * `host` (program `sluice-heartbeat`, severity info) whose message is a
 * {@linkcode Heartbeat} as JSON (type, host, agent version, uptime, the
 * interval, and with `stats` the pipeline's queue depths, sink errors and
 * per-file checkpoint lag) and whose `fields.json` holds the same object,
 * as a JSON parser would leave it. `categorize()` files it under
 * `heartbeat` on either end; the central stores it in `heartbeats` and,
 * through `vmsSink()`, keeps the host's `last_seen`.
 *
 * Ids are `<name>:<host>:<ms>`, increasing, so a forwarded batch sent twice
 * is stored once.
 *
 * @param options Interval, host, version, stats.
 * @returns The source.
 * @throws {RangeError} When the interval is not positive.
 *
 * @example Heartbeats every 30 s with the pipeline's health
 * ```ts
 * import { heartbeatSource } from "./heartbeat.ts";
 * import { StatsRegistry } from "../core/stats.ts";
 * const stats = new StatsRegistry();
 * const source = heartbeatSource({ interval: 30_000, host: "vm-1", stats });
 * ```
 */
export function heartbeatSource(options: HeartbeatSourceOptions = {}): Source {
  const interval = options.interval ?? 60_000;
  if (typeof interval !== "number" || !(interval > 0) || !Number.isFinite(interval)) {
    throw new RangeError(
      `heartbeatSource: "interval" must be a positive number of ms, got ${String(interval)}`,
    );
  }
  if (options.host !== undefined && (typeof options.host !== "string" || options.host === "")) {
    throw new TypeError(`heartbeatSource: "host" must be a non-empty string`);
  }
  const version = options.version ?? denoJson.version;
  const stats = options.stats;
  const abort = new AbortController();
  let loop: Promise<void> | undefined;
  let last = 0;
  const run = async (ctx: SourceContext, host: string) => {
    while (!abort.signal.aborted && !ctx.signal.aborted) {
      const beat = heartbeatReport(host, interval, version, stats);
      // Strictly increasing ids, even when two beats fall in the same ms.
      const ms = Math.max(Date.parse(beat.timestamp), last + 1);
      last = ms;
      const event = createEvent(JSON.stringify(beat), {
        host,
        program: "sluice-heartbeat",
        severity: 6,
        timestamp: ms,
        id: `${ctx.name}:${host}:${ms}`,
        // Where a JSON parser on the central puts it, so both ends read `json.*`.
        fields: { json: beat },
      });
      ctx.stats.received++;
      await ctx.emit([event]);
      await sleep(interval, abort.signal);
    }
  };
  const source: Source = {
    kind: "heartbeat",
    start(ctx) {
      const host = options.host ?? _hostname();
      loop = run(ctx, host).catch((err) => {
        ctx.stats.errors++;
        ctx.log.error("heartbeat failed", { error: String(err) });
      });
      return Promise.resolve();
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
  return options.name ? { ...source, name: options.name } : source;
}
