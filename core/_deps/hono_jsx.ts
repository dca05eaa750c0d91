/**
 * `npm:hono@4.13.23/jsx`, hono's JSX types (the .tsx files of ui/ name their JSX runtime, npm:hono@4.13.23/jsx, in a pragma), under one pinned specifier. Library files
 * import it from here rather than by the bare name, so a project that imports
 * sluice by path or URL (without our deno.json and its import map) resolves it
 * too. Keep the version equal to deno.json's "imports" entry.
 *
 * @module
 */

export * from "npm:hono@4.13.23/jsx";
