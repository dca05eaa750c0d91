/**
 * ssh2's hand-written types moved to `ssh/_ssh2_types.ts`; this re-export
 * keeps the tests' SSH fixtures compiling.
 *
 * @module
 */

export type * from "../ssh/_ssh2_types.ts";
