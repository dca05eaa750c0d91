/** The uplot version in deno.json, whose files `_vendor.ts` holds. */
export const UPLOT_VERSION = "1.6.32";
