/**
 * Real peers for the tests (sshd, syslog-ng, chromium, postgres …): where
 * they are, one line when one is missing; and, from tests/_processes.ts
 * (re-exported here), child processes that never outlive their deadline.
 *
 * `SLUICE_TEST_HIDE_PEERS=1` (or a comma-separated list of peer names) makes
 * the named peers look missing, so the suite can be run as on a fresh
 * machine that has only Node and npm (`deno task test:fresh`).
 *
 * @example
 * ```ts
 * import { peer } from "./_peers.ts";
 * const sshd = peer("sshd", "openssh-server");
 * Deno.test({ name: "talks to sshd", ignore: !sshd, fn() {} });
 * ```
 *
 * @module
 */

export * from "./_processes.ts";

/**
 * Whether the skip line for `name` was printed already, and marks it. Test
 * modules run in workers of one process under `--parallel`: the mark lives
 * in the process's environment, which they share (a worker's globals are
 * its own), so a peer missing for several files is named once.
 */
function _firstTime(name: string): boolean {
  const key = "SLUICE_TEST_SKIPS_SAID";
  let said: string[];
  try {
    said = (Deno.env.get(key) ?? "").split("\n");
    if (said.includes(name)) return false;
    Deno.env.set(key, [...said, name].join("\n"));
  } catch {
    // no env permission: say it
  }
  return true;
}

function _hidden(name: string): boolean {
  const hide = Deno.env.get("SLUICE_TEST_HIDE_PEERS");
  if (!hide) return false;
  if (hide === "1" || hide === "all") return true;
  return hide.split(",").map((s) => s.trim()).includes(name);
}

/**
 * Finds a binary on PATH or in the sbin directories, unless
 * `SLUICE_TEST_HIDE_PEERS` hides it.
 *
 * @param name The binary's name (`sshd`), or an absolute path.
 * @param hideAs The peer name that hides it. @default {name}
 * @returns Its path, or `undefined` when missing or hidden.
 *
 * @example
 * ```ts
 * import { which } from "./_peers.ts";
 * const sh = which("sh");
 * ```
 */
export function which(name: string, hideAs: string = name): string | undefined {
  if (_hidden(hideAs)) return undefined;
  const candidates = name.startsWith("/")
    ? [name]
    : (Deno.env.get("PATH") ?? "").split(":").concat([
      "/usr/sbin",
      "/sbin",
      "/usr/bin",
      "/usr/local/sbin",
      "/usr/local/bin",
      "/lib/systemd",
      "/usr/lib/systemd",
      "/usr/lib/postgresql/15/bin",
    ]).filter(Boolean).map((dir) => `${dir}/${name}`);
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Finds a peer and, when it is missing, prints one line (once per process)
 * naming it and how to get it.
 *
 * @param name The binary (`sshd`, `chromium`, `nft`).
 * @param debPackage The Debian package that brings it (`.ci/run` installs it).
 * @returns Its path, or `undefined`.
 *
 * @example
 * ```ts
 * import { peer } from "./_peers.ts";
 * const nft = peer("nft", "nftables");
 * ```
 */
export function peer(name: string, debPackage: string = name): string | undefined {
  const path = which(name);
  if (!path) notFound(name, `apt-get install ${debPackage}, as .ci/run does`);
  return path;
}

/**
 * Prints (once per process) the one line that says a peer is missing, for
 * peers that do not come from a Debian package of their own (rsyslog is
 * fetched into data/peers).
 *
 * @param name The peer.
 * @param how How to get it.
 *
 * @example
 * ```ts
 * import { notFound, which } from "./_peers.ts";
 * function rsyslogd(path: string): string | undefined {
 *   const found = which(path, "rsyslog");
 *   if (!found) notFound("rsyslog", "bash tests/interop/fetch_rsyslog.sh, as .ci/run does");
 *   return found;
 * }
 * ```
 */
export function notFound(name: string, how: string): void {
  if (!_firstTime(name)) return;
  console.log(`skip: ${name} not found (${how})`);
}

/**
 * Says (once per process) why tests are skipped when the reason is not a
 * missing binary (no network namespaces, not root).
 *
 * @param what What is missing.
 * @param how How to get it.
 *
 * @example
 * ```ts
 * import { skipLine } from "./_peers.ts";
 * const haveNetns = true;
 * if (!haveNetns) skipLine("network namespaces", "run as root with iproute2");
 * ```
 */
export function skipLine(what: string, how: string): void {
  if (!_firstTime(what)) return;
  console.log(`skip: ${what} not available (${how})`);
}
