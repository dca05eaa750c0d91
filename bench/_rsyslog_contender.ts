/**
 * rsyslog (the build under data/peers/rsyslog) as a contender of the
 * JSONL benchmark (re-exported by bench/contenders.ts).
 *
 * @module
 */

import { LoggedProcess, waitFor } from "./lib.ts";
import {
  acceptsOn,
  BENCH_ROOT,
  type Contender,
  fileLines,
  freePort,
  pathExists,
  startedContender,
} from "./_contender_base.ts";

const _RSYSLOG = `${BENCH_ROOT}data/peers/rsyslog`;
const _RSYSLOG_LIB = `${_RSYSLOG}/usr/lib/x86_64-linux-gnu`;

/**
 * The rsyslog configuration of {@linkcode rsyslogContender}: `imtcp` →
 * `mmjsonparse` (no cookie, the raw line) → `omfile` with the parsed tree
 * as one JSON line, default queues.
 *
 * @param port The TCP port on 127.0.0.1.
 * @param workDir rsyslog's work directory.
 * @param out The JSONL file.
 * @returns The configuration.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rsyslogConfig } from "./contenders.ts";
 * assert.match(rsyslogConfig(5514, "/tmp/w", "/tmp/out.jsonl"), /mmjsonparse/);
 * ```
 */
export function rsyslogConfig(port: number, workDir: string, out: string): string {
  return `global(workDirectory="${workDir}")
module(load="imtcp")
module(load="mmjsonparse")
template(name="json" type="string" string="%$!all-json%\\n")
input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="alerts")
ruleset(name="alerts") {
  action(type="mmjsonparse" cookie="" useRawMsg="on")
  action(type="omfile" file="${out}" template="json")
}
`;
}

/**
 * rsyslog (unpacked into `data/peers/rsyslog` by
 * tests/interop/fetch_rsyslog.sh, not installed) in the foreground (`-n`)
 * with {@linkcode rsyslogConfig}. It has no SQLite output module there, so it
 * only takes part in the JSONL scenario.
 *
 * @returns The contender.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rsyslogContender } from "./contenders.ts";
 * assert.strictEqual(rsyslogContender().name, "rsyslog");
 * ```
 */
export function rsyslogContender(): Contender {
  const bin = `${_RSYSLOG}/usr/sbin/rsyslogd`;
  const modules = `${_RSYSLOG_LIB}/rsyslog`;
  return {
    name: "rsyslog",
    description: "rsyslog imtcp → mmjsonparse → omfile($!all-json), default queues",
    unavailable() {
      const missing = [bin, `${modules}/imtcp.so`, `${modules}/mmjsonparse.so`].find((p) =>
        !pathExists(p)
      );
      return missing
        ? `${missing.slice(BENCH_ROOT.length)} is missing (run tests/interop/fetch_rsyslog.sh)`
        : undefined;
    },
    async start(dir) {
      const out = `${dir}/all_events.jsonl`;
      const port = freePort();
      await Deno.writeTextFile(`${dir}/rsyslog.conf`, rsyslogConfig(port, dir, out));
      const proc = new LoggedProcess(
        bin,
        ["-n", "-C", "-f", `${dir}/rsyslog.conf`, "-i", `${dir}/rsyslog.pid`, "-M", modules],
        { env: { LD_LIBRARY_PATH: _RSYSLOG_LIB } },
      );
      if (!await waitFor(() => proc.exited || acceptsOn(port), 30_000) || proc.exited) {
        await proc.stop();
        throw new Error(`rsyslog did not start: ${proc.text.trim().slice(-2000)}`);
      }
      return startedContender(proc, port, [fileLines(out)]);
    },
  };
}
