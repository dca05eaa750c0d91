/**
 * `respondSink`: turns the detection rules' alerts into block decisions.
 * Put it beside the `alerts` table on the path that stores rule alerts; each
 * alert of a listed rule blocks the address it names (`json.ip`, else
 * `json.src_ip`, else `json.key`) on the host that reported the attack when
 * a firewall is configured for it, else on the local firewall. Addresses are
 * parsed and re-printed; log text never reaches a command.
 *
 * @example
 * ```ts
 * import { respondSink } from "./sink.ts";
 * import { localExecutor } from "./executor.ts";
 * import { nftBackend } from "./nft.ts";
 * const sink = respondSink({
 *   database: "./data/siem.db",
 *   mode: "dry-run",
 *   backends: { local: nftBackend(localExecutor()) },
 * });
 * ```
 *
 * @module
 */

import type { LogEvent } from "../core/event.ts";
import type { Sink, SinkContext } from "../core/types.ts";
import type { FirewallBackend } from "./backend.ts";
import { DecisionTable } from "./decisions.ts";
import { Responder, type ResponderOptions, type ResponseMode } from "./responder.ts";

/** Options for {@linkcode respondSink}. */
export interface RespondSinkOptions
  extends Omit<ResponderOptions, "table" | "backends" | "mode" | "log"> {
  /** The SQLite database holding the `responses` table (the central's `siem.db`). */
  database: string;
  /** `off`, `dry-run` (record only) or `on`. @default {"dry-run"} */
  mode?: ResponseMode;
  /** Firewalls by place: `local` and host names (remote ones over SSH). */
  backends: Record<string, FirewallBackend>;
  /** Rules whose alerts block. @default {["sshd_brute_force", "sshd_invalid_user_sweep"]} */
  rules?: readonly string[];
  /** Where to block: the reporting host when it has a backend, else local (`reporter`); or always `local`. @default {"reporter"} */
  where?: "reporter" | "local";
  /** How often bans are expired and failed ones retried, in ms. @default {5000} */
  intervalMs?: number;
  /** The sink's name in stats and logs. @default {"respond"} */
  name?: string;
}

/** A sink that applies active response, with its responder for the CLI and the dashboard. */
export interface RespondSink extends Sink {
  /** The responder, once opened. */
  readonly responder: Responder | undefined;
}

/**
 * Makes the active-response sink.
 *
 * @param options Database, mode, backends, rules and policy.
 * @returns The sink.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { respondSink } from "./sink.ts";
 * const sink = respondSink({ database: ":memory:", backends: {} });
 * assert.equal(sink.kind, "respond");
 * ```
 */
export function respondSink(options: RespondSinkOptions): RespondSink {
  const rules = new Set(options.rules ?? ["sshd_brute_force", "sshd_invalid_user_sweep"]);
  const where = options.where ?? "reporter";
  if (where !== "reporter" && where !== "local") {
    throw new TypeError(
      `respondSink: "where" must be reporter or local, got ${JSON.stringify(where)}`,
    );
  }
  let responder: Responder | undefined;
  let ctx: SinkContext | undefined;
  const { database, backends, rules: _r, where: _w, intervalMs, name, ...policy } = options;
  return {
    kind: "respond",
    name: name ?? "respond",
    get responder() {
      return responder;
    },
    async open(c) {
      ctx = c;
      responder = new Responder({
        ...policy,
        table: new DecisionTable(database),
        backends,
        mode: options.mode ?? "dry-run",
        log: c.log,
      });
      if (responder.mode !== "off") await responder.start(intervalMs ?? 5000);
      c.log.info(
        `active response: ${responder.mode} (${Object.keys(backends).join(", ") || "no firewall"})`,
      );
    },
    async write(batch: readonly LogEvent[]) {
      if (!responder) throw new Error("respondSink: write before open");
      for (const e of batch) {
        const json = e.fields.json as Record<string, unknown> | undefined;
        const rule = json?.rule;
        if (typeof rule !== "string" || !rules.has(rule)) continue;
        const target = json?.ip ?? json?.src_ip ?? json?.key;
        const reporter = typeof e.host === "string" ? e.host : undefined;
        const host = where === "reporter" && reporter && backends[reporter] ? reporter : "local";
        const r = await responder.decide({
          target,
          host,
          reason: typeof json?.msg === "string" ? json.msg : rule,
          rule,
          by: `rule:${rule}`,
          ...(e.id !== undefined ? { alertId: e.id } : {}),
        });
        if (ctx) ctx.stats.add(`respond_${r.outcome.replace("-", "_")}`);
      }
    },
    async close() {
      await responder?.stop();
      responder?.close();
      responder = undefined;
    },
  };
}
