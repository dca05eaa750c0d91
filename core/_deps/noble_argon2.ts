/**
 * `npm:@noble/hashes@2.4.0` argon2 (pure JavaScript, no WebAssembly), under
 * one pinned specifier, for the dashboard's password hashes (ui/password.ts).
 * Library files import it from here rather than by a bare name, so a project
 * that imports sluice by path or URL resolves it too.
 *
 * @module
 */

export { argon2id, argon2idAsync } from "npm:@noble/hashes@2.4.0/argon2.js";
