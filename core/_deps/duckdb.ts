/**
 * `npm:@duckdb/node-api@1.5.6-r.1`, DuckDB, for `sluice archive query` over the Parquet archives (loaded only by that command), under one pinned specifier. Library files import
 * it from here rather than by the bare name, so a project that imports sluice
 * by path or URL (without our deno.json and its import map) resolves it too.
 * Keep the version equal to deno.json's "imports" entry (tests and benchmarks use that).
 *
 * @module
 */

export * from "npm:@duckdb/node-api@1.5.6-r.1";
