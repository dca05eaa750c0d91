/**
 * An executor that records every firewall command instead of running it,
 * answering like an empty, working firewall: what the backends would run,
 * checked argument by argument.
 *
 * @module
 */

import type { Executor } from "../../respond/executor.ts";

/** Records commands; `calls` holds each argument array. */
export function recorder(): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    where: "local",
    calls,
    run(argv) {
      calls.push([...argv]);
      const listing = argv.includes("-j") && argv.includes("list");
      return Promise.resolve({ code: 0, stdout: listing ? '{"nftables":[]}' : "", stderr: "" });
    },
  };
}
