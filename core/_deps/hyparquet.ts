/**
 * `npm:hyparquet@1.33.0`, Parquet reading (pure JS): the archives read back and counted before a move commits, under one pinned specifier. Library files import
 * it from here rather than by the bare name, so a project that imports sluice
 * by path or URL (without our deno.json and its import map) resolves it too.
 * Keep the version equal to deno.json's "imports" entry (tests and benchmarks use that).
 *
 * @module
 */

export * from "npm:hyparquet@1.33.0";
