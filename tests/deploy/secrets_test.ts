// No secret reaches sluice's own logs: a database URL's password, the dashboard admin's
// password from the environment, an SSH key's passphrase. Each run logs at debug level, in
// both formats, and its stderr (and stdout) is searched for the secret.
import assert from "node:assert/strict";
import { killTree, peer, runWithDeadline, spawnGroup, waitFor } from "../_peers.ts";

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/runner/main.ts`;
const DB_PASSWORD = "Db-pa55-word-9f1c";
const ADMIN_PASSWORD = "Admin-pa55-word-4e7a";
const PASSPHRASE = "Key-pa55-phrase-2b8d";
const sshKeygen = peer("ssh-keygen", "openssh-client");

function assertClean(what: string, text: string, secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `${what} logged a secret:\n${text.slice(-3000)}`);
  }
}

Deno.test("deploy: a database URL's password is never printed by the query commands", async () => {
  const url = `postgres://sluice:${DB_PASSWORD}@127.0.0.1:1/siem`;
  for (
    const [args, env] of [
      [["query", "critical", "--db", url], {}],
      [["query", "critical"], { SLUICE_DB: url }],
      [["hosts", "list", "--db", url], {}],
    ] as const
  ) {
    const r = await runWithDeadline(Deno.execPath(), ["run", "-A", MAIN, ...args], {
      timeoutMs: 60_000,
      what: `sluice ${args.join(" ")}`,
      env: { ...env, NO_COLOR: "1" },
    });
    assert.notEqual(r.code, 0);
    assertClean(`sluice ${args[0]}`, r.stdout + r.stderr, [DB_PASSWORD]);
  }
});

Deno.test("deploy: the central at debug level in JSON logs never writes ADMIN_PASSWORD", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice-secrets-" });
  const child = spawnGroup(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "--log-format",
      "json",
      "--log-level",
      "debug",
      "--state-dir",
      `${dir}/state`,
      "central",
      "--data",
      dir,
      "--json-port",
      "0",
      "--relp-port",
      "0",
      "--syslog-port",
      "0",
      "--ui",
      "127.0.0.1:0",
    ],
    env: { ADMIN_USER: "admin", ADMIN_PASSWORD, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  let err = "";
  let out = "";
  const decoder = new TextDecoder();
  const pumps = Promise.all([
    (async () => {
      for await (const c of child.stderr) err += decoder.decode(c, { stream: true });
    })(),
    (async () => {
      for await (const c of child.stdout) out += decoder.decode(c, { stream: true });
    })(),
  ]);
  try {
    const ui = await waitFor(
      "the dashboard's address",
      () => (err + out).match(/dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/)?.[1],
      60_000,
    );
    // A failed login carrying the password, then a page: neither is logged with the secret.
    const login = await fetch(`${ui}login`, {
      method: "POST",
      body: new URLSearchParams({ user: "admin", password: `${ADMIN_PASSWORD}-wrong` }),
    });
    await login.body?.cancel();
    await (await fetch(ui)).body?.cancel();
    child.kill("SIGTERM");
    const timer = setTimeout(() => killTree(child), 30_000);
    const status = await child.status.finally(() => clearTimeout(timer));
    await pumps;
    assert.equal(status.code, 0, err.slice(-2000));
    assertClean("the central", err + out, [ADMIN_PASSWORD]);
    // Every log line is one JSON object (the example's banner, for a terminal, is not a log line).
    const lines = err.split("\n").filter((l) => l.startsWith("{"));
    assert.ok(lines.length > 5, err);
    assert.doesNotMatch(err, /^\d{4}-\d\d-\d\dT\S+ (DEBUG|INFO|WARN|ERROR) /m);
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      assert.ok(typeof record.ts === "string" && typeof record.msg === "string", line);
    }
  } finally {
    killTree(child);
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "deploy: an SSH key's passphrase is never logged when the upload fails",
  ignore: !sshKeygen,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sluice-secrets-" });
    try {
      await runWithDeadline(
        sshKeygen!,
        ["-q", "-t", "ed25519", "-N", PASSPHRASE, "-f", `${dir}/key`],
        { timeoutMs: 30_000, what: "ssh-keygen" },
      );
      await Deno.mkdir(`${dir}/objects`);
      await Deno.writeTextFile(`${dir}/objects/sample.bin`, "x".repeat(100));
      const file = `${dir}/pipeline.upload.ts`;
      await Deno.writeTextFile(
        file,
        [
          `import { definePipeline } from "${ROOT}/mod.ts";`,
          `import { objectsSource } from "${ROOT}/sources/objects.ts";`,
          `import { sftpObjectSink } from "${ROOT}/sinks/sftp_object.ts";`,
          `export default ({ env }: { env: Record<string, string> }) => definePipeline({`,
          `  sources: { obj: objectsSource({ dir: ${
            JSON.stringify(`${dir}/objects`)
          }, settle: 0 }) },`,
          `  sinks: { up: sftpObjectSink({ host: "127.0.0.1", port: 1, user: "sluice",`,
          `    privateKeyFile: ${JSON.stringify(`${dir}/key`)}, passphrase: env.KEY_PASSPHRASE,`,
          `    hostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", readyTimeoutMs: 2000 }) },`,
          `  paths: [{ from: ["obj"], to: ["up"] }],`,
          `});`,
        ].join("\n"),
      );
      {
        const r = await runWithDeadline(Deno.execPath(), [
          "run",
          "-A",
          MAIN,
          "sync",
          file,
          "--once",
          "--retries",
          "1",
          "--log-level",
          "debug",
          "--state-dir",
          `${dir}/state`,
        ], {
          timeoutMs: 90_000,
          what: "sluice sync --once against a closed port",
          env: { KEY_PASSPHRASE: PASSPHRASE, NO_COLOR: "1" },
        });
        assert.notEqual(r.code, 0, r.stdout + r.stderr);
        // The key was decrypted with the passphrase and the connection attempted.
        assert.match(r.stdout + r.stderr, /cannot connect to 127\.0\.0\.1:1/);
        assertClean("sluice sync", r.stdout + r.stderr, [PASSPHRASE]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
