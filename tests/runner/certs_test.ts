import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { initCa, issueCertificate } from "../../runner/certs.ts";
import { clientTls, listenerTls } from "../../examples/_tls.ts";
import { peer, runWithDeadline } from "../_peers.ts";

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-certs-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("certs: a CA and a host certificate are X.509 v3 with the extensions WebPKI checks", () =>
  withDir(async (dir) => {
    await initCa(dir);
    const files = await issueCertificate(dir, "vm-1", { altNames: ["10.0.0.5", "vm-1.lan"] });
    assert.equal((await Deno.stat(files.keyFile)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/ca.key`)).mode! & 0o777, 0o600);
    const ca = new X509Certificate(await Deno.readTextFile(`${dir}/ca.crt`));
    const leaf = new X509Certificate(await Deno.readTextFile(files.certFile));
    assert.ok(ca.ca);
    assert.ok(!leaf.ca);
    assert.ok(leaf.checkIssued(ca));
    assert.ok(leaf.verify(ca.publicKey));
    assert.match(leaf.subject, /CN=vm-1/);
    assert.equal(leaf.subjectAltName, "DNS:vm-1, IP Address:10.0.0.5, DNS:vm-1.lan");
  }));

const openssl = peer("openssl", "openssl");

Deno.test({
  name: "certs: openssl reads version 3, basicConstraints, keyUsage and verifies the chain",
  ignore: !openssl,
  fn: () =>
    withDir(async (dir) => {
      await initCa(dir, { name: "home CA" });
      const files = await issueCertificate(dir, "central");
      const text = await runWithDeadline(openssl as string, [
        "x509",
        "-in",
        files.certFile,
        "-noout",
        "-text",
      ], { timeoutMs: 10_000, what: "openssl x509 -text" });
      assert.match(text.stdout, /Version: 3 \(0x2\)/);
      assert.match(text.stdout, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(text.stdout, /Key Usage: critical\s+Digital Signature/);
      assert.match(text.stdout, /TLS Web Server Authentication, TLS Web Client Authentication/);
      const caText = await runWithDeadline(openssl as string, [
        "x509",
        "-in",
        `${dir}/ca.crt`,
        "-noout",
        "-text",
      ], { timeoutMs: 10_000, what: "openssl x509 -text of the CA" });
      assert.match(caText.stdout, /CA:TRUE/);
      assert.match(caText.stdout, /Certificate Sign, CRL Sign/);
      const verify = await runWithDeadline(openssl as string, [
        "verify",
        "-x509_strict",
        "-CAfile",
        `${dir}/ca.crt`,
        files.certFile,
      ], { timeoutMs: 10_000, what: "openssl verify" });
      assert.equal(verify.code, 0, verify.stderr);
    }),
});

Deno.test("certs: an existing CA or certificate is never replaced without force; bad names are refused", () =>
  withDir(async (dir) => {
    await initCa(dir);
    await assert.rejects(() => initCa(dir), /exists.*--force/);
    await issueCertificate(dir, "vm-1");
    await assert.rejects(() => issueCertificate(dir, "vm-1"), /exists.*--force/);
    await issueCertificate(dir, "vm-1", { force: true });
    for (const bad of ["../etc/passwd", "a b", "", "-x", "ca", "x;rm"]) {
      await assert.rejects(() => issueCertificate(dir, bad), RangeError, bad);
    }
    await assert.rejects(() => issueCertificate(`${dir}/none`, "vm-2"), /certs init/);
    await assert.rejects(() => issueCertificate(dir, "vm-3", { days: 0 }), RangeError);
  }));

Deno.test("examples' TLS flags: mutual TLS with a CA, server-only without, pairs checked", () => {
  const server = listenerTls(
    ["--tls-cert", "c.crt", "--tls-key", "c.key", "--tls-ca", "ca.crt", "--tls-host-from-cert"],
    {},
  );
  assert.deepEqual(server, {
    tls: { certFile: "c.crt", keyFile: "c.key", caFile: "ca.crt", peerVerify: "required" },
    hostFromCertificate: true,
  });
  assert.equal(
    listenerTls([], { SLUICE_TLS_CERT: "c.crt", SLUICE_TLS_KEY: "c.key" })?.tls.peerVerify,
    "none",
  );
  assert.throws(() => listenerTls(["--tls-cert", "c.crt"], {}), /go together/);
  assert.throws(
    () => listenerTls(["--tls-cert", "c", "--tls-key", "k", "--tls-host-from-cert"], {}),
    /needs --tls-ca/,
  );
  assert.deepEqual(clientTls(["--tls-ca", "ca.crt"], {}), { caFile: "ca.crt" });
  assert.equal(clientTls([], {}), undefined);
  assert.throws(() => clientTls(["--tls-key", "k"], {}), /go together/);
});
