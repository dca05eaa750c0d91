/**
 * Counters for every component, rendered as JSON and Prometheus text.
 *
 * @module
 */

/** Which part of a pipeline a component is. */
export type ComponentType = "source" | "step" | "sink" | "pipeline" | "service";

/**
 * The counters of one component. The fixed ones are plain properties so the
 * hot path can increment them; `add()` keeps named extras (`truncated`,
 * `unparsed`, `retries` …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ComponentStats } from "./stats.ts";
 * const stats = new ComponentStats("source", "net", "tcp");
 * stats.received += 10;
 * stats.add("truncated");
 * assert.ok(stats.counters.truncated === 1);
 * ```
 */
export class ComponentStats {
  /** Events (or lines, or messages) that came in. */
  received = 0;
  /** Events handled successfully (emitted, passed, written). */
  processed = 0;
  /** Events dropped on purpose or by overload (UDP with full queues, filters). */
  dropped = 0;
  /** Errors: bad input, failed writes, refused connections. */
  errors = 0;
  /** Events waiting in the component's queue right now (sinks). */
  queued = 0;
  /** Named extra counters. */
  readonly counters: Record<string, number> = {};
  /** Named gauges, set rather than added (open connections, lag). */
  readonly gauges: Record<string, number> = {};

  /**
   * Creates it.
   *
   * @param type Which part of the pipeline.
   * @param name The component's name in the pipeline.
   * @param kind What kind of component (`tcp`, `sqlite`).
   */
  constructor(
    readonly type: ComponentType,
    readonly name: string,
    readonly kind: string,
  ) {}

  /**
   * Adds to a named counter.
   *
   * @param counter The counter's name, snake_case.
   * @param n How much to add. @default {1}
   */
  add(counter: string, n = 1): void {
    this.counters[counter] = (this.counters[counter] ?? 0) + n;
  }

  /**
   * Sets a named gauge.
   *
   * @param gauge The gauge's name, snake_case.
   * @param value Its value now.
   */
  set(gauge: string, value: number): void {
    this.gauges[gauge] = value;
  }

  /**
   * A plain snapshot for JSON.
   *
   * @returns The counters as a plain object.
   */
  toJSON(): Record<string, unknown> {
    return {
      type: this.type,
      name: this.name,
      kind: this.kind,
      received: this.received,
      processed: this.processed,
      dropped: this.dropped,
      errors: this.errors,
      queued: this.queued,
      ...this.counters,
      ...this.gauges,
    };
  }
}

function _label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function _metricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

/**
 * All components' counters of one running pipeline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatsRegistry } from "./stats.ts";
 * const registry = new StatsRegistry();
 * registry.register("sink", "db", "sqlite").processed = 5;
 * assert.ok(registry.toPrometheus().includes('sluice_processed_total{type="sink",name="db",kind="sqlite"} 5'));
 * ```
 */
export class StatsRegistry {
  readonly #components: ComponentStats[] = [];
  readonly #started = Date.now();

  /**
   * Creates and keeps the counters of one component.
   *
   * @param type Which part of the pipeline.
   * @param name The component's name.
   * @param kind The component's kind.
   * @returns The new counters.
   */
  register(type: ComponentType, name: string, kind: string): ComponentStats {
    const stats = new ComponentStats(type, name, kind);
    this.#components.push(stats);
    return stats;
  }

  /**
   * Finds a component's counters by name.
   *
   * @param name The component's name.
   * @returns Its counters, or `undefined`.
   */
  get(name: string): ComponentStats | undefined {
    return this.#components.find((c) => c.name === name);
  }

  /** Every registered component's counters. */
  get components(): readonly ComponentStats[] {
    return this.#components;
  }

  /**
   * A JSON snapshot: uptime and every component.
   *
   * @returns A plain object.
   */
  toJSON(): Record<string, unknown> {
    return {
      uptime_seconds: (Date.now() - this.#started) / 1000,
      components: this.#components.map((c) => c.toJSON()),
    };
  }

  /**
   * Renders Prometheus text exposition format.
   *
   * @returns The metrics text.
   */
  toPrometheus(): string {
    const lines: string[] = [];
    const emit = (
      metric: string,
      type: "counter" | "gauge",
      pick: (c: ComponentStats) => number | undefined,
    ) => {
      const rows: string[] = [];
      for (const c of this.#components) {
        const value = pick(c);
        if (value === undefined) continue;
        rows.push(
          `${metric}{type="${_label(c.type)}",name="${_label(c.name)}",kind="${
            _label(c.kind)
          }"} ${value}`,
        );
      }
      if (rows.length === 0) return;
      lines.push(`# TYPE ${metric} ${type}`, ...rows);
    };
    emit("sluice_received_total", "counter", (c) => c.received);
    emit("sluice_processed_total", "counter", (c) => c.processed);
    emit("sluice_dropped_total", "counter", (c) => c.dropped);
    emit("sluice_errors_total", "counter", (c) => c.errors);
    emit("sluice_queued", "gauge", (c) => c.queued);
    const extras = new Set<string>();
    const gauges = new Set<string>();
    for (const c of this.#components) {
      for (const k in c.counters) extras.add(k);
      for (const k in c.gauges) gauges.add(k);
    }
    for (const k of extras) emit(`sluice_${_metricName(k)}_total`, "counter", (c) => c.counters[k]);
    for (const k of gauges) emit(`sluice_${_metricName(k)}`, "gauge", (c) => c.gauges[k]);
    lines.push("# TYPE sluice_uptime_seconds gauge");
    lines.push(`sluice_uptime_seconds ${(Date.now() - this.#started) / 1000}`);
    return lines.join("\n") + "\n";
  }
}
