/**
 * RELP against a real rsyslog (omrelp and imrelp), unpacked by
 * tests/interop/fetch_rsyslog.sh into data/peers/rsyslog and run in the
 * foreground on 127.0.0.1 with its own configuration and work directory.
 */

import assert from "node:assert/strict";
import {
  createLogger,
  definePipeline,
  Engine,
  generatorSource,
  type LogEvent,
  type Sink,
} from "../../mod.ts";
import { relpSink } from "../../sinks/relp.ts";
import { relpSource } from "../../sources/relp.ts";
import { notFound, which } from "../_peers.ts";
import { freePort } from "../_ports.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const RSYSLOG = `${ROOT}data/peers/rsyslog`;
const RSYSLOGD = `${RSYSLOG}/usr/sbin/rsyslogd`;
const MODULES = `${RSYSLOG}/usr/lib/x86_64-linux-gnu/rsyslog`;
const COUNT = 100_000;

// SLUICE_TEST_HIDE_PEERS hides it too: the tests must pass without data/peers.
const missing = [RSYSLOGD, `${MODULES}/imrelp.so`, `${MODULES}/omrelp.so`].find((p) =>
  !which(p, "rsyslog")
);
if (missing) notFound("rsyslog", "bash tests/interop/fetch_rsyslog.sh, as .ci/run does");

/** A free port on 127.0.0.1 (the listener is closed again at once). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running rsyslogd in the foreground. */
class Rsyslog {
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<Deno.CommandOutput>;
  #stopped = false;

  constructor(dir: string, conf: string, tag: string) {
    const confFile = `${dir}/rsyslog-${tag}.conf`;
    Deno.writeTextFileSync(confFile, conf);
    this.#child = new Deno.Command(RSYSLOGD, {
      args: ["-n", "-C", "-f", confFile, "-i", `${dir}/rsyslog-${tag}.pid`, "-M", MODULES],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#output = this.#child.output();
  }

  /** Waits until rsyslogd accepts connections on `port`. */
  async listening(port: number): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new Error(`rsyslogd did not listen on ${port}: ${await this.stop()}`);
        }
        await sleep(50);
      }
    }
  }

  /** Stops rsyslogd (SIGTERM, or SIGKILL) and returns what it printed. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<string> {
    if (!this.#stopped) {
      this.#stopped = true;
      try {
        this.#child.kill(signal);
      } catch {
        // already exited
      }
    }
    // rsyslogd that does not stop within 10 s of SIGTERM is killed.
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }, 10_000);
    const out = await this.#output.finally(() => clearTimeout(timer));
    const dec = new TextDecoder();
    return (dec.decode(out.stdout) + dec.decode(out.stderr)).trim();
  }
}

Deno.test({
  name: "rsyslog omrelp → relpSource: 100,000 messages, each stored once",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-rsyslog-" });
    const seen = new Uint8Array(COUNT);
    let stored = 0;
    let odd: string | undefined;
    const store: Sink = {
      kind: "count",
      open: () => Promise.resolve(),
      write(batch: readonly LogEvent[]) {
        for (const e of batch) {
          const m = / seq (\d+)$/.exec(e.message);
          if (!m || e.sourceIp !== "127.0.0.1") {
            odd ??= `${e.sourceIp} ${e.message}`;
            continue;
          }
          const n = Number(m[1]);
          seen[n] = (seen[n] ?? 0) + 1;
          stored++;
        }
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const source = relpSource({ port: 0, host: "127.0.0.1" });
    const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [store] }] }), {
      logger: createLogger("warn"),
    });
    await engine.start();
    const tcpPort = freePort();
    // omrelp corks its socket for a whole queue batch (librelp's burst hint): a
    // batch that fills the RELP window on its own sits in rsyslog's kernel
    // buffer until the 200 ms cork timer fires. Batches smaller than the window
    // keep it flowing.
    const rsyslog = new Rsyslog(
      dir,
      `global(workDirectory="${dir}")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" port="${tcpPort}" address="127.0.0.1" ruleset="fwd")
ruleset(name="fwd" queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="256") {
  action(type="omrelp" target="127.0.0.1" port="${source.addr?.port}" windowSize="1024")
}
`,
      "omrelp",
    );
    try {
      await rsyslog.listening(tcpPort);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
      const enc = new TextEncoder();
      for (let i = 0; i < COUNT; i += 5000) {
        let text = "";
        for (let j = i; j < i + 5000; j++) text += `<13>Nov 23 09:48:00 vm-1 alerts: seq ${j}\n`;
        const bytes = enc.encode(text);
        let at = 0;
        while (at < bytes.length) at += await conn.write(bytes.subarray(at));
      }
      conn.close();
      const deadline = Date.now() + 45_000;
      while (stored < COUNT && Date.now() < deadline) await sleep(50);
      // Anything resent would arrive now.
      await sleep(200);
      const absent = seen.indexOf(0);
      assert.equal(odd, undefined, `unexpected message: ${odd}`);
      assert.equal(absent, -1, `seq ${absent} never arrived (${stored} of ${COUNT} stored)`);
      assert.equal(stored, COUNT, `${stored - COUNT} messages were stored twice`);
      assert.ok(seen.every((n) => n === 1));
    } finally {
      const printed = await rsyslog.stop();
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
      if (stored < COUNT) console.log(`rsyslogd said:\n${printed}`);
    }
  },
});

Deno.test({
  name:
    "relpSink → rsyslog imrelp: 100,000 messages written, none lost across a kill -9 and restart",
  ignore: missing !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-rsyslog-" });
    const out = `${dir}/out.log`;
    const port = freePort();
    // A direct queue writes each message to the file before imrelp answers 200,
    // so what rsyslog acknowledged survives its own kill -9.
    const conf = `global(workDirectory="${dir}")
module(load="imrelp")
input(type="imrelp" port="${port}" address="127.0.0.1" ruleset="out")
template(name="line" type="string" string="%structured-data% %msg%\\n")
ruleset(name="out" queue.type="direct") {
  action(type="omfile" file="${out}" template="line")
}
`;
    const peers: Rsyslog[] = [new Rsyslog(dir, conf, "first")];
    const sink = relpSink({ port, retryInitialMs: 50, retryMaxMs: 500, name: "relp" });
    const engine = new Engine(
      definePipeline({
        paths: [{
          from: [generatorSource({ count: COUNT, name: "gen", message: (n) => `seq ${n}` })],
          to: [sink],
        }],
      }),
      { logger: createLogger("error") },
    );
    try {
      await peers[0]?.listening(port);
      await engine.start();
      // Kill rsyslog once part of the stream is written.
      const deadline = Date.now() + 30_000;
      for (;;) {
        let size = 0;
        try {
          size = Deno.statSync(out).size;
        } catch {
          // not created yet
        }
        if (size > COUNT * 10) break;
        if (Date.now() > deadline) throw new Error(`rsyslog wrote only ${size} bytes`);
        await sleep(10);
      }
      await peers[0]?.stop("SIGKILL");
      await sleep(200);
      peers.push(new Rsyslog(dir, conf, "second"));
      await peers[1]?.listening(port);
      await Promise.race([
        engine.done,
        sleep(45_000).then(() => Promise.reject(new Error("the sink did not finish in 45 s"))),
      ]);
      const text = await Deno.readTextFile(out);
      const seen = new Uint32Array(COUNT);
      for (const line of text.split("\n")) {
        const m = /^\[sluice@32473 id="gen:(\d+)"(?: nopri="fs")?\] seq (\d+)$/.exec(line);
        if (!m) continue;
        assert.equal(Number(m[1]), Number(m[2]));
        const n = Number(m[1]);
        seen[n] = (seen[n] ?? 0) + 1;
      }
      const absent = seen.indexOf(0);
      assert.equal(absent, -1, `seq ${absent} was lost`);
      const stats = engine.stats.get("relp");
      assert.ok((stats?.counters.reconnects ?? 0) >= 1, "the sink never noticed the kill");
    } finally {
      await engine.stop();
      for (const peer of peers) await peer.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
