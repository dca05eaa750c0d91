/**
 * `sluice decrypt FILE --key KEYFILE [-o OUT]`: restores an object the
 * sftp-object sink stored encrypted (`<name>.enc`).
 *
 * ```sh
 * deno run -A runner/main.ts decrypt samples/vm1/quarantine/abc.bin.enc --key /etc/sluice/object.key
 * ```
 *
 * @module
 */

import type { Command } from "../core/_deps/commander.ts";
import { readObjectKey } from "../core/crypto_chunks.ts";
import { decryptFile } from "../core/crypto_files.ts";
import { PipelineLoadError } from "./load.ts";

/** Options for {@linkcode decryptObject}. */
export interface DecryptOptions {
  /** The 32-byte key file the sink was given as `encryptionKeyFile`. */
  key: string;
  /** Where the plaintext goes. @default {the input without ".enc"} */
  output?: string;
  /** Replace an existing output file. @default {false} */
  force?: boolean;
}

/**
 * Decrypts one stored object. The output appears only once every chunk
 * authenticated; a wrong key or an altered file leaves nothing behind.
 *
 * @param input The encrypted file.
 * @param options Key file, output, overwrite.
 * @returns The output path and its size.
 * @throws {Error} When the output exists (without `force`), the key is wrong or the file was altered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decryptObject } from "./decrypt.ts";
 * import { objectKey } from "../core/crypto_chunks.ts";
 * import { encryptFile } from "../core/crypto_files.ts";
 * const dir = await Deno.makeTempDir();
 * const raw = crypto.getRandomValues(new Uint8Array(32));
 * await Deno.writeFile(`${dir}/key`, raw);
 * await Deno.writeTextFile(`${dir}/a.bin`, "sample");
 * await encryptFile(`${dir}/a.bin`, `${dir}/b.bin.enc`, await objectKey(raw));
 * const { output } = await decryptObject(`${dir}/b.bin.enc`, { key: `${dir}/key` });
 * assert.ok(output.endsWith("/b.bin") && (await Deno.readTextFile(output)) === "sample");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function decryptObject(
  input: string,
  options: DecryptOptions,
): Promise<{ output: string; size: number }> {
  const output = options.output ?? (input.endsWith(".enc") ? input.slice(0, -4) : `${input}.dec`);
  if (!options.force) {
    let exists = true;
    try {
      await Deno.lstat(output);
    } catch {
      exists = false;
    }
    if (exists) throw new Error(`decrypt: "${output}" exists; pass --force to replace it`);
  }
  const key = await readObjectKey(options.key);
  const size = await decryptFile(input, output, key);
  return { output, size };
}

/**
 * Adds `decrypt` to the command line.
 *
 * @param program The commander program (`runner/cli.ts` builds it).
 * @param setExitCode Receives the exit code: 0, or 1 when decryption failed.
 * @returns The `decrypt` command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 * import { registerDecryptCommand } from "./decrypt.ts";
 * const program = new Command("sluice");
 * registerDecryptCommand(program);
 * assert.ok(program.commands.some((c) => c.name() === "decrypt"));
 * ```
 */
export function registerDecryptCommand(
  program: Command,
  setExitCode: (code: number) => void = (code) => (Deno.exitCode = code),
): Command {
  return program.command("decrypt")
    .description("restore an object the sftp-object sink stored encrypted")
    .argument("<file>", "the encrypted file (<name>.enc)")
    .requiredOption("--key <file>", "the 32-byte key file (the sink's encryptionKeyFile)")
    .option("-o, --output <file>", "where the plaintext goes (default: the name without .enc)")
    .option("--force", "replace an existing output file")
    .action(async (file: string, opts: { key: string; output?: string; force?: boolean }) => {
      try {
        const { output, size } = await decryptObject(file, {
          key: opts.key,
          ...(opts.output !== undefined ? { output: opts.output } : {}),
          ...(opts.force ? { force: true } : {}),
        });
        console.log(`decrypted ${file} -> ${output} (${size} bytes)`);
        setExitCode(0);
      } catch (err) {
        if (err instanceof RangeError) throw new PipelineLoadError(err.message);
        console.error(err instanceof Error ? err.message : String(err));
        setExitCode(1);
      }
    });
}
