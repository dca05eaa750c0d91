/**
 * `npm:hyparquet-writer@0.17.0`, Parquet writing (pure JS): the archives of the SIEM tables, under one pinned specifier. Library files import
 * it from here rather than by the bare name, so a project that imports sluice
 * by path or URL (without our deno.json and its import map) resolves it too.
 * Keep the version equal to deno.json's "imports" entry (tests and benchmarks use that).
 *
 * @module
 */

export * from "npm:hyparquet-writer@0.17.0";
