/**
 * A bench scenario that starts a child in a group of its own, writes the
 * child's pid to `$BENCH_TEST_PID_FILE` and never ends, for the test that a
 * bench stopped by a signal takes its children with it.
 *
 * @module
 */

import type { Scenario } from "../../bench/lib.ts";
import { spawnGroup } from "../_peers.ts";

/** Starts `sleep 600`, writes its pid, never resolves. */
export const scenario: Scenario = async () => {
  const child = spawnGroup("sleep", { args: ["600"] });
  await Deno.writeTextFile(Deno.env.get("BENCH_TEST_PID_FILE") as string, String(child.pid));
  return await new Promise(() => {});
};
