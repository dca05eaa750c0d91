/**
 * Profiling aid for the sftp-object sink (not a scenario): uploads
 * BENCH_OBJECTS_FILES × 10 KiB files to OpenSSH's sshd on loopback with
 * `verify` from BENCH_OBJECTS_VERIFY, once, and prints files/s and the
 * process's CPU seconds. Run it under `deno run --cpu-prof`.
 *
 * @module
 */

import { Engine } from "../core/engine.ts";
import { createLogger } from "../core/log.ts";
import { definePipeline } from "../core/pipeline.ts";
import { sftpObjectSink } from "../sinks/sftp_object.ts";
import { objectsSource } from "../sources/objects.ts";
import { knownHostsLine, writeClientKey } from "../tests/fixtures/ssh/keys.ts";
import { startSshd } from "../tests/fixtures/ssh/sshd.ts";

const count = Number(Deno.env.get("BENCH_OBJECTS_FILES") ?? 1000);
const verify = (Deno.env.get("BENCH_OBJECTS_VERIFY") ?? "remote-hash") as "remote-hash";
const dir = await Deno.makeTempDir({ prefix: "objprof" });
try {
  const key = await writeClientKey(dir);
  await Deno.mkdir(`${dir}/sshd`);
  await Deno.mkdir(`${dir}/remote`);
  await Deno.mkdir(`${dir}/small`);
  const s = await startSshd(`${dir}/sshd`, key.publicKey);
  await Deno.writeTextFile(
    `${dir}/kh`,
    knownHostsLine("127.0.0.1", s.port, s.hostPublicKey) + "\n",
  );
  const small = new Uint8Array(10 * 1024);
  for (let i = 0; i < count; i++) {
    crypto.getRandomValues(small);
    Deno.writeFileSync(`${dir}/small/f${i}.bin`, small);
  }
  const source = objectsSource({ dir: `${dir}/small`, once: true, settle: 0, host: "p" });
  const sink = sftpObjectSink({
    host: "127.0.0.1",
    port: s.port,
    user: s.user,
    privateKeyFile: key.file,
    knownHostsFile: `${dir}/kh`,
    root: `${dir}/remote`,
    verify,
  });
  const engine = new Engine(definePipeline({ paths: [{ from: [source], to: [sink] }] }), {
    logger: createLogger("silent"),
  });
  const u0 = Deno.readTextFileSync("/proc/self/stat");
  const t0 = performance.now();
  await engine.start();
  await source.done;
  const secs = (performance.now() - t0) / 1000;
  const cpu = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const c = cpu(Deno.readTextFileSync("/proc/self/stat")) - cpu(u0);
  console.log(
    `${verify}: ${(count / secs).toFixed(0)} files/s, CPU ${c.toFixed(2)} s, ${
      (c / count * 1000).toFixed(2)
    } ms/file`,
  );
  await engine.stop();
  await s.close();
} finally {
  await Deno.remove(dir, { recursive: true });
}
