/**
 * `npm:mysql2@3.24.5` (its promise API), the MySQL/MariaDB client, under one
 * pinned specifier. Library files import it from here rather than by the
 * bare name, so a project that imports sluice by path or URL (without our
 * deno.json and its import map) resolves it too. Keep the version equal to
 * deno.json's "imports" entry.
 *
 * @module
 */

export * from "npm:mysql2@3.24.5/promise";
export { default } from "npm:mysql2@3.24.5/promise";
