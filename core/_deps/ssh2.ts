/**
 * `npm:ssh2@1.17.0`, the SSH2/SFTP client, under one pinned specifier. Library
 * files import it from here rather than by the bare name, so a project that
 * imports sluice by path or URL (without our deno.json and its import map)
 * resolves it too. Keep the version equal to deno.json's "imports" entry.
 * The package has no types: callers cast it to ssh/_ssh2_types.ts.
 *
 * @module
 */

export { default } from "npm:ssh2@1.17.0";
