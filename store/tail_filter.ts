/**
 * The filter language of `sluice tail`, shared by the CLI and the
 * dashboard's live tail: categories, severities, host.
 *
 * @module
 */

import { isSiemCategory, SIEM_CATEGORIES, type SiemCategory } from "../siem/categorize.ts";

export { SIEM_CATEGORIES, type SiemCategory };

/**
 * Lists the categories a tail follows for a `--category` value.
 *
 * @param categories Category names; all but `heartbeat` when empty.
 * @returns The categories.
 * @throws {RangeError} When a name is not a category.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tailCategories } from "./tail_filter.ts";
 * assert.ok(!tailCategories([]).includes("heartbeat"));
 * ```
 */
export function tailCategories(categories: readonly string[] = []): SiemCategory[] {
  if (categories.length === 0) return SIEM_CATEGORIES.filter((c) => c !== "heartbeat");
  const out: SiemCategory[] = [];
  for (const c of categories) {
    if (!isSiemCategory(c)) {
      throw new RangeError(
        `--category: expected one of ${SIEM_CATEGORIES.join(", ")}, got "${c}"`,
      );
    }
    if (!out.includes(c)) out.push(c);
  }
  return out;
}
