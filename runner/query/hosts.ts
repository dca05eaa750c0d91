/**
 * `sluice query hosts` and `sluice query host NAME`: the VM registry with
 * status (and, for hosts the agentless collector dials, `reach` and its
 * reason), and one host with its recent alerts and stored files.
 *
 * @module
 */

import type { Command } from "../../core/_deps/commander.ts";
import type { HostRow } from "../../store/types.ts";
import {
  _color,
  type _Common,
  _common,
  _interval,
  _limit,
  _pick,
  _print,
  _range,
  _withStore,
  type QueryIo,
} from "./_common.ts";
import { _alertsUpTo } from "./alerts.ts";
import { jsonValue, renderResult } from "./render.ts";

// reach: what the agentless collector found when it last dialled the host (null for agents).
const _HOST_COLUMNS = [
  "host",
  "status",
  "reach",
  "reach_reason",
  "seen",
  "last_seen",
  "first_seen",
  "source_ip",
  "version",
  "interval_s",
  "heartbeats",
  "services",
  "alerts",
  "reach_at",
];

function _ago(lastSeen: string | null, now: number): string {
  const ms = lastSeen === null ? NaN : Date.parse(lastSeen);
  if (Number.isNaN(ms)) return "";
  let s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 120) return `${s}s`;
  s = Math.round(s / 60);
  if (s < 120) return `${s}m`;
  s = Math.round(s / 60);
  return s < 48 ? `${s}h` : `${Math.round(s / 24)}d`;
}

/** A host row as the CLI prints it: how long ago it was seen, services as JSON text. */
function _hostOut(h: HostRow, now: number): Record<string, unknown> {
  return {
    ...h,
    seen: _ago(h.last_seen, now),
    services: h.services.length ? JSON.stringify(h.services) : null,
  };
}

/**
 * Adds `hosts` and `host NAME` to the `query` command.
 *
 * @param query The `query` command.
 * @param io Where output goes.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { registerHosts } from "./hosts.ts";
 * registerHosts(new Command("query"), { write() {}, info() {}, isTerminal: false, columns: undefined, env: () => undefined });
 * ```
 */
export function registerHosts(query: Command, io: QueryIo): void {
  _common(
    query.command("host").description("a host: its status, recent alerts and stored files")
      .argument("<name>", "the host name"),
  )
    .option("--interval <duration>", "the heartbeat interval of hosts that report none", "60s")
    .action(async (name: string, options: _Common & { interval: string }) => {
      const intervalMs = _interval(options.interval);
      const range = _range(options);
      const limit = _limit(options);
      const now = Date.now();
      const sections = await _withStore(options, io, async (store) => {
        // The host's own row counts all its alerts; the lists keep to the range.
        const hosts = await store.hosts({ host: name, now, intervalMs });
        const alerts = await _alertsUpTo(store, { ...range, host: name }, limit);
        const files = await store.objects({ ...range, host: name, limit });
        return {
          host: _pick(_HOST_COLUMNS, hosts.map((h) => _hostOut(h, now))),
          alerts: _pick(["timestamp", "severity", "rule", "file", "hash", "message"], alerts),
          files: _pick(["synced_at", "kind", "path", "size", "sha256", "remote"], files),
        };
      });
      if (options.format === "json") {
        io.write(
          JSON.stringify(
            {
              host: sections.host.rows[0] ?? null,
              alerts: sections.alerts.rows,
              files: sections.files.rows,
            },
            jsonValue,
            2,
          ) + "\n",
        );
        return;
      }
      const parts: string[] = [];
      for (const [title, result] of Object.entries(sections)) {
        const text = renderResult(result, options.format, { width: io.columns, color: _color(io) });
        parts.push(options.format === "csv" ? `# ${title}\n${text}` : `${title}:\n${text}`);
      }
      io.write(parts.join("\n"));
    });

  _common(
    query.command("hosts").description(
      "every host with its status (ok, stale or silent) and, for hosts pulled over SSH, whether the last try reached it and why not",
    ),
  )
    .option("--interval <duration>", "the heartbeat interval of hosts that report none", "60s")
    .action(async (options: _Common & { interval: string }) => {
      const intervalMs = _interval(options.interval);
      const limit = _limit(options);
      const now = Date.now();
      const hosts = await _withStore(
        options,
        io,
        (store) => store.hosts({ now, intervalMs, limit }),
      );
      _print(io, options, _pick(_HOST_COLUMNS, hosts.map((h) => _hostOut(h, now))));
    });
}
