/**
 * sluice: a log pipeline and small-fleet SIEM for Deno. Sources, parsers,
 * filters, rewrites and sinks compose into log paths like syslog-ng's; the
 * runner loads a pipeline file written in TypeScript.
 *
 * @example A pipeline file
 * ```ts
 * import { blackholeSink, definePipeline, generatorSource } from "./mod.ts";
 * export default definePipeline({
 *   sources: { gen: generatorSource({ count: 100 }) },
 *   paths: [{ from: ["gen"], to: [blackholeSink()] }],
 * });
 * ```
 *
 * @module
 */

export * from "./core/event.ts";
export * from "./core/template.ts";
export type * from "./core/types.ts";
export * from "./core/pipeline.ts";
export * from "./core/engine.ts";
export * from "./core/acks.ts";
export * from "./core/backoff.ts";
export * from "./core/framing.ts";
export * from "./core/log.ts";
export * from "./core/state.ts";
export * from "./core/stats.ts";
export * from "./core/sink_queue.ts";
export * from "./core/safe_path.ts";
export * from "./core/memo.ts";
export * from "./core/prefix.ts";
export * from "./core/options.ts";
export * from "./core/net_stream.ts";
export * from "./core/tls.ts";
export * from "./core/octet_framing.ts";
export * from "./core/relp_encode.ts";
export * from "./core/relp_envelope.ts";
export * from "./core/relp_frame.ts";
export * from "./parsers/json.ts";
export * from "./parsers/kv.ts";
export * from "./parsers/csv.ts";
export * from "./parsers/regexp.ts";
export * from "./parsers/sshd.ts";
export * from "./parsers/date.ts";
export * from "./parsers/filters.ts";
export * from "./parsers/rewrites.ts";
export * from "./sources/generator.ts";
export * from "./sources/tcp.ts";
export * from "./sources/udp.ts";
export * from "./sources/syslog.ts";
export * from "./parsers/syslog.ts";
export * from "./parsers/syslog_framed.ts";
export * from "./sources/file_tail.ts";
export * from "./sources/journald.ts";
export * from "./sources/relp.ts";
export * from "./sources/objects.ts";
export * from "./sources/object_manifests.ts";
export * from "./core/token_bucket.ts";
export * from "./core/crypto_chunks.ts";
export * from "./core/crypto_files.ts";
export * from "./sources/stdin.ts";
export * from "./sinks/stdout.ts";
export * from "./sinks/blackhole.ts";
export * from "./sinks/jsonl.ts";
export * from "./sinks/forward.ts";
export * from "./sinks/relp.ts";
export * from "./sinks/worker.ts";
export * from "./siem/categorize.ts";
export * from "./siem/correlate.ts";
export * from "./siem/rules/sshd_brute_force.ts";
export * from "./siem/rules/invalid_user_sweep.ts";
export * from "./siem/rules/success_after_failures.ts";
export * from "./siem/rules/new_device.ts";
export * from "./siem/rules/critical_alert.ts";
export * from "./sources/heartbeat.ts";
