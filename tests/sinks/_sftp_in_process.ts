/**
 * The in-process ssh2 SFTP server the sftp-object sink's and `sluice sync`'s
 * tests run against (tests/sinks/sftp_object_test.ts, tests/runner/sync_test.ts).
 *
 * @module
 */

import { type SftpTestServer, startSftpServer } from "../fixtures/ssh/sftp_server.ts";
import type { StartServer } from "../fixtures/ssh/suite.ts";

let last: SftpTestServer | undefined;

/**
 * The last server {@linkcode inProcess} started (tests flip its `corruptWrites`).
 *
 * @example
 * ```ts ignore
 * lastInProcessServer().corruptWrites = true;
 * ```
 */
export function lastInProcessServer(): SftpTestServer {
  if (!last) throw new Error("no in-process SFTP server started yet");
  return last;
}

/**
 * The in-process ssh2 server, serving `<dir>/jail`; the sink's root is `upload` under it.
 *
 * @example
 * ```ts ignore
 * const w = await world(inProcess);
 * ```
 */
export const inProcess: StartServer = async (dir, authorizedKey) => {
  await Deno.mkdir(`${dir}/jail/upload`, { recursive: true });
  const server = await startSftpServer({ root: `${dir}/jail`, authorizedKey });
  last = server;
  return {
    port: server.port,
    user: "sluice",
    hostPublicKey: server.hostPublicKey,
    fingerprint: server.fingerprint,
    root: "upload",
    remoteDir: `${dir}/jail/upload`,
    close: () => server.close(),
  };
};
