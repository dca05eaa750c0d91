/**
 * A bench scenario that never ends, for the test that the bench's
 * per-scenario deadline reports it (`bench/main.ts --quick
 * ../tests/bench/_hanging_scenario`).
 *
 * @module
 */

import type { Scenario } from "../../bench/lib.ts";

/** Never resolves. */
export const scenario: Scenario = () => new Promise(() => {});
