import assert from "node:assert/strict";
import { COMPILE_INCLUDES } from "../../deploy/compile.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
// Code that ships in the binary; tests, benches and build-time tools do not.
const SHIPPED = ["archive", "core", "examples", "parsers", "respond", "runner", "siem", "sinks"]
  .concat(["sources", "ssh", "store", "ui"]);
const TOOLS = new Set(["ui/assets/vendor_gen.ts"]);

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* tsFiles(rel);
    else if (entry.name.endsWith(".ts") || entry.name.endsWith(".tsx")) yield rel;
  }
}

/** Resolves `./x.ts` against the file that names it, relative to the repository root. */
function resolve(from: string, target: string): string {
  return new URL(target, `file:///${from}`).pathname.slice(1);
}

Deno.test("every module loaded by URL at run time (workers, importLate) is in deploy/compile.ts COMPILE_INCLUDES", async () => {
  const byUrl: string[] = [];
  for (const dir of SHIPPED) {
    for await (const file of tsFiles(dir)) {
      if (TOOLS.has(file)) continue;
      const text = await Deno.readTextFile(`${ROOT}${file}`);
      for (const line of text.split("\n")) {
        const code = line.trimStart();
        if (code.startsWith("*") || code.startsWith("//") || code.startsWith("/*")) continue;
        for (const m of code.matchAll(/new URL\("([^"]+\.tsx?)", import\.meta\.url\)/g)) {
          byUrl.push(`${resolve(file, m[1] as string)} (named in ${file})`);
        }
      }
    }
  }
  assert.ok(byUrl.length >= 8, `found only ${byUrl.length} modules loaded by URL`);
  const missing = byUrl.filter((entry) => {
    const path = entry.split(" ")[0] as string;
    return !COMPILE_INCLUDES.some((inc) => inc.endsWith("/") ? path.startsWith(inc) : path === inc);
  });
  assert.deepEqual(missing, [], "deno compile would leave these out of the binary");
});
