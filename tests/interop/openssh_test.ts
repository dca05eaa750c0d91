/**
 * The object-channel suite against OpenSSH's sshd with internal-sftp,
 * started in the foreground on a free loopback port with a temporary
 * config, host key and authorized_keys. Skipped (with a message) when sshd
 * is not installed; .ci/run installs openssh-server.
 */

import { peer } from "../_peers.ts";
import { sftpSuite, type StartServer } from "../fixtures/ssh/suite.ts";
import { startSshd } from "../fixtures/ssh/sshd.ts";

const sshd = peer("sshd", "openssh-server");

/** sshd serving the real file system; the sink's root is an absolute temp directory. */
const openssh: StartServer = async (dir, authorizedKey) => {
  const server = await startSshd(dir, authorizedKey);
  const remoteDir = `${dir}/remote`;
  await Deno.mkdir(remoteDir);
  return {
    port: server.port,
    user: server.user,
    hostPublicKey: server.hostPublicKey,
    fingerprint: server.fingerprint,
    root: remoteDir,
    remoteDir,
    close: () => server.close(),
  };
};

sftpSuite(openssh, { label: "OpenSSH sshd", ignore: !sshd });
