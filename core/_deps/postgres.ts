/**
 * `npm:postgres@3.4.9` (porsager's PostgreSQL client: pipelining, COPY
 * streams) under one pinned specifier. Library files import it from here
 * rather than by the bare name, so a project that imports sluice by path or
 * URL (without our deno.json and its import map) resolves it too. Keep the
 * version equal to deno.json's "imports" entry.
 *
 * @module
 */

export { default } from "npm:postgres@3.4.9";
