/**
 * Object channel throughput: the sftp-object sink uploading one 100 MB file
 * and 1,000 files of 10 KB, beside OpenSSH's own `sftp -b` putting the same
 * files to the same server in the same run (and `rclone copy` when it is
 * installed). The server is OpenSSH's sshd (internal-sftp) on 127.0.0.1
 * when installed, else ssh2's server in process (then the server's pure-JS
 * crypto shares the CPU and bounds both figures).
 *
 * @module
 */

import type { SftpObjectSinkOptions } from "../sinks/sftp_object.ts";
import { knownHostsLine, writeClientKey } from "../tests/fixtures/ssh/keys.ts";
import { writePattern } from "../tests/fixtures/ssh/suite.ts";
import { which } from "../tests/_peers.ts";
import type { MeasuredRow, MeasuredScenario } from "./lib.ts";
import { medianPeak, memoryFields } from "./_memory.ts";
import {
  firstLine,
  runReference,
  sinkUpload,
  startObjectsServer,
  type UploadMeasure,
} from "./_objects_clients.ts";

function _median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * Benchmarks the object channel.
 *
 * @example Run it the way `bench/main.ts` does (it starts an SFTP server and clients)
 * ```ts ignore
 * import { scenario } from "./objects.ts";
 * const rows = await scenario({ quick: true, dir: await Deno.makeTempDir() });
 * console.log(rows.map((r) => `${r.subject}: ${r.value} ${r.unit}`).join("\n"));
 * ```
 */
export const scenario: MeasuredScenario = async ({ quick, dir }) => {
  const rows: MeasuredRow[] = [];
  // BENCH_OBJECTS_MIB and BENCH_OBJECTS_FILES set the sizes (the smoke test keeps them small);
  // BENCH_OBJECTS_ROUNDS the alternating rounds (sftp, then each variant, again and again).
  const bigSize = Number(Deno.env.get("BENCH_OBJECTS_MIB") ?? (quick ? 10 : 100)) * 1024 * 1024;
  const count = Number(Deno.env.get("BENCH_OBJECTS_FILES") ?? (quick ? 100 : 1000));
  const rounds = Number(Deno.env.get("BENCH_OBJECTS_ROUNDS") ?? (quick ? 1 : 3));
  const key = await writeClientKey(dir);
  const server = await startObjectsServer(dir, key.publicKey);
  const knownHosts = `${dir}/known_hosts`;
  await Deno.writeTextFile(
    knownHosts,
    knownHostsLine("127.0.0.1", server.port, server.hostPublicKey) + "\n",
  );
  // SLUICE_TEST_HIDE_PEERS hides them, as on a fresh machine.
  const sftp = which("sftp");
  const rclone = which("rclone");
  const mb = bigSize / 1e6;
  const bigLabel = `${Math.round(bigSize / 1024 / 1024)} MiB file`;
  const smallLabel = `${count} × 10 KiB files`;
  // Generous: the in-process ssh2 server's pure-JS crypto has done 3 MB/s and 7 files/s.
  // BENCH_REFERENCE_TIMEOUT_MS sets both (a test makes a reference hang on purpose).
  const refMs = Number(Deno.env.get("BENCH_REFERENCE_TIMEOUT_MS") ?? 0);
  const bigMs = refMs || Math.max(60_000, (bigSize / 1e6) * 3_000);
  const smallMs = refMs || Math.max(60_000, count * 300);
  try {
    await Deno.mkdir(`${dir}/big`);
    await writePattern(`${dir}/big/big.bin`, bigSize);
    await Deno.mkdir(`${dir}/small`);
    const small = new Uint8Array(10 * 1024);
    for (let i = 0; i < count; i++) {
      crypto.getRandomValues(small);
      await Deno.writeFile(`${dir}/small/f${String(i).padStart(5, "0")}.bin`, small);
    }
    const keyFile = `${dir}/object.key`;
    await Deno.writeFile(keyFile, crypto.getRandomValues(new Uint8Array(32)));
    let fresh = 0;
    const sinkOptions = async (extra: Partial<SftpObjectSinkOptions> = {}) => ({
      host: "127.0.0.1",
      port: server.port,
      user: server.user,
      privateKeyFile: key.file,
      knownHostsFile: knownHosts,
      root: await server.remoteDir(`s-${fresh++}`),
      ...extra,
    });

    // The reference: OpenSSH's client on the same files, same server, same run. A reference
    // that fails or hangs is a failed row (the bench then exits 1), never a missing ratio.
    const batch = async (put: string, timeoutMs: number): Promise<UploadMeasure> => {
      const name = `sftp-${fresh++}`;
      const remote = await server.remoteDir(name);
      await Deno.writeTextFile(`${dir}/${name}.batch`, `${put} ${remote}/\n`);
      const args = [
        "-q",
        "-b",
        `${dir}/${name}.batch`,
        "-i",
        key.file,
        "-o",
        `UserKnownHostsFile=${knownHosts}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-P",
        String(server.port),
        `${server.user}@127.0.0.1`,
      ];
      return await runReference(
        `sftp -b ${put.split(" ")[0]} against ${server.label}`,
        timeoutMs,
        sftp as string,
        args,
      );
    };
    if (!sftp) {
      rows.push({
        scenario: "objects",
        subject: "OpenSSH sftp -b put",
        value: 0,
        unit: "MB/s",
        skipped: "sftp not found (apt-get install openssh-client): no same-run reference",
      });
    }

    interface _Variant {
      subject: string;
      unit: "MB/s" | "files/s";
      amount: number;
      run: () => Promise<UploadMeasure>;
      note?: string;
      sftp?: boolean;
      runs: UploadMeasure[];
      failed?: string;
      /** Needs a server that runs commands (sha256sum): OpenSSH's sshd, not ssh2's server in process. */
      exec?: boolean;
    }
    const variant = (
      v: Omit<_Variant, "runs" | "run"> & { run: () => Promise<UploadMeasure> },
    ): _Variant => ({ ...v, runs: [] });
    const bigRef = variant({
      subject: `OpenSSH sftp -b put ${bigLabel}`,
      unit: "MB/s",
      amount: mb,
      sftp: true,
      run: () => batch(`put ${dir}/big/big.bin`, bigMs),
      note: "no verification beyond SSH's MAC",
    });
    const smallRef = variant({
      subject: `OpenSSH sftp -b put ${smallLabel}`,
      unit: "files/s",
      amount: count,
      sftp: true,
      run: () => batch(`put ${dir}/small/*`, smallMs),
    });
    const big = [
      variant({
        subject: `sftp-object ${bigLabel}, verify read-back`,
        unit: "MB/s",
        amount: mb,
        run: async () => await sinkUpload(`${dir}/big`, await sinkOptions({ verify: "read-back" })),
        note: "reads the file back to check SHA-256 (every byte twice)",
      }),
      variant({
        subject: `sftp-object ${bigLabel}, verify auto (sha256sum on the server)`,
        unit: "MB/s",
        amount: mb,
        run: async () => await sinkUpload(`${dir}/big`, await sinkOptions({ verify: "auto" })),
        note:
          "the default: the server hashes the upload over the same connection when a command costs less than reading back",
      }),
      variant({
        subject: `sftp-object ${bigLabel}, verify remote-hash (sha256sum on the server)`,
        unit: "MB/s",
        amount: mb,
        run: async () =>
          await sinkUpload(`${dir}/big`, await sinkOptions({ verify: "remote-hash" })),
        exec: true,
        note:
          "goal ≥ 0.8× sftp's MB/s, client CPU ≤ 2× sftp's; hashed by OpenSSL where the server has it (xargs -0 -n 32 openssl dgst -sha256 -r --)",
      }),
    ];
    const smallOnes = [
      variant({
        subject: `sftp-object ${smallLabel}, verify auto (read-back below 256 KiB)`,
        unit: "files/s",
        amount: count,
        run: async () => await sinkUpload(`${dir}/small`, await sinkOptions()),
        note:
          "per file, 3 round trips: open .partial | write, fsync, fstat, futimes, read back, close | rename; 4 SFTP channels; sftp: open, write, close on one",
      }),
      variant({
        subject: `sftp-object ${smallLabel}, verify remote-hash (sha256sum on the server)`,
        unit: "files/s",
        amount: count,
        run: async () =>
          await sinkUpload(`${dir}/small`, await sinkOptions({ verify: "remote-hash" })),
        exec: true,
        note:
          "goal ≥ 1000 verified files/s, client CPU ≤ 2× sftp's; per file: open .partial | write, fsync, fstat, futimes, close | rename, hashed by one command kept running on the connection (xargs -0 -n 32 sha256sum --, paths on its stdin)",
      }),
      variant({
        subject: `sftp-object ${smallLabel}, verify auto, concurrency 16`,
        unit: "files/s",
        amount: count,
        run: async () => await sinkUpload(`${dir}/small`, await sinkOptions({ concurrency: 16 })),
      }),
    ];
    // ssh2's server in process answers no exec request: a forced remote hash would retry forever.
    const runsCommands = server.label.startsWith("OpenSSH");
    const measure = async (v: _Variant) => {
      if (v.failed || (v.exec && !runsCommands)) return;
      try {
        v.runs.push(await v.run());
      } catch (err) {
        v.failed = firstLine(err);
      }
    };
    // Alternating: each round runs the reference, then every variant, so load drifts hit all.
    for (let round = 0; round < rounds; round++) {
      if (sftp) await measure(bigRef);
      for (const v of big) await measure(v);
      if (sftp) await measure(smallRef);
      for (const v of smallOnes) await measure(v);
    }
    const once = [
      variant({
        subject: `sftp-object ${bigLabel}, verify manifest`,
        unit: "MB/s",
        amount: mb,
        run: async () => await sinkUpload(`${dir}/big`, await sinkOptions({ verify: "manifest" })),
        note: "size check + streamed SHA-256 in the manifest, as much checking as sftp does",
      }),
      variant({
        subject: `sftp-object ${bigLabel}, AES-256-GCM at rest, verify manifest`,
        unit: "MB/s",
        amount: mb,
        run: async () =>
          await sinkUpload(
            `${dir}/big`,
            await sinkOptions({ verify: "manifest", encryptionKeyFile: keyFile }),
          ),
      }),
      variant({
        subject: `sftp-object ${smallLabel}, verify manifest, concurrency 16`,
        unit: "files/s",
        amount: count,
        run: async () =>
          await sinkUpload(
            `${dir}/small`,
            await sinkOptions({ verify: "manifest", concurrency: 16 }),
          ),
      }),
    ];
    for (const v of once) await measure(v);

    const refOf = (v: _Variant) => {
      const ref = v.unit === "MB/s" ? bigRef : smallRef;
      if (v.sftp || ref.runs.length === 0) return undefined;
      return ref;
    };
    const toRow = (v: _Variant): MeasuredRow => {
      if (v.exec && !runsCommands) {
        return {
          scenario: "objects",
          subject: v.subject,
          value: 0,
          unit: v.unit,
          skipped: `needs sshd (the ${server.label} runs no commands)`,
        };
      }
      if (v.failed || v.runs.length === 0) {
        return {
          scenario: "objects",
          subject: v.subject,
          value: 0,
          unit: v.unit,
          failed: v.failed ?? "not measured",
        };
      }
      const values = v.runs.map((m) => v.amount / m.seconds);
      const cpu = _median(v.runs.map((m) => m.cpu));
      const ref = refOf(v);
      const refCpu = ref ? _median(ref.runs.map((m) => m.cpu)) : 0;
      const notes = [
        v.note,
        v.sftp ? server.label : undefined,
        ref && refCpu > 0 ? `client CPU ${(cpu / refCpu).toFixed(1)}× sftp's` : undefined,
        v.sftp ? "memory: sftp and its ssh" : "memory: the sink's own process",
      ].filter((t) => t);
      return {
        scenario: "objects",
        subject: v.subject,
        value: _median(values),
        unit: v.unit,
        ...(values.length > 1 ? { runs: values } : {}),
        ...(ref
          ? {
            reference: {
              subject: "OpenSSH sftp -b put",
              value: _median(ref.runs.map((m) => v.amount / m.seconds)),
            },
          }
          : {}),
        cpuSeconds: cpu,
        ...memoryFields(medianPeak(v.runs.map((m) => m.memory))),
        ...(notes.length ? { note: notes.join("; ") } : {}),
      };
    };
    if (sftp) rows.push(toRow(bigRef));
    for (const v of big) rows.push(toRow(v));
    for (const v of once.slice(0, 2)) rows.push(toRow(v));
    if (sftp) rows.push(toRow(smallRef));
    for (const v of smallOnes) rows.push(toRow(v));
    rows.push(toRow(once[2] as _Variant));
    const sftpBig = bigRef.runs.length ? _median(bigRef.runs.map((m) => m.seconds)) : undefined;
    const sftpSmall = smallRef.runs.length
      ? _median(smallRef.runs.map((m) => m.seconds))
      : undefined;
    const ref = (value: number | undefined) =>
      value === undefined ? {} : { reference: { subject: "OpenSSH sftp -b put", value } };
    if (rclone) {
      const remote = (name: string, path: string) =>
        `:sftp,host=127.0.0.1,port=${server.port},user=${server.user},key_file=${key.file},known_hosts_file=${knownHosts}:${path}/${name}`;
      const copy = async (what: string, from: string, to: string, timeoutMs: number) => {
        const target = remote("", await server.remoteDir(to));
        try {
          return await runReference(`rclone copy ${what}`, timeoutMs, rclone, [
            "copy",
            from,
            target,
          ]);
        } catch (err) {
          rows.push({
            scenario: "objects",
            subject: `rclone copy ${what}`,
            value: 0,
            unit: "",
            failed: firstLine(err),
          });
          return undefined;
        }
      };
      const rbig = await copy(bigLabel, `${dir}/big`, "r-big", bigMs);
      if (rbig !== undefined) {
        rows.push({
          scenario: "objects",
          subject: `rclone copy ${bigLabel}`,
          value: mb / rbig.seconds,
          unit: "MB/s",
          cpuSeconds: rbig.cpu,
          ...memoryFields(rbig.memory),
          ...ref(sftpBig === undefined ? undefined : mb / sftpBig),
        });
      }
      const rsmall = await copy(smallLabel, `${dir}/small`, "r-small", smallMs);
      if (rsmall !== undefined) {
        rows.push({
          scenario: "objects",
          subject: `rclone copy ${smallLabel}`,
          value: count / rsmall.seconds,
          cpuSeconds: rsmall.cpu,
          ...memoryFields(rsmall.memory),
          unit: "files/s",
          ...ref(sftpSmall === undefined ? undefined : count / sftpSmall),
        });
      }
    }
  } finally {
    await server.close();
  }
  return rows;
};
