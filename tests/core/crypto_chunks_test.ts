import assert from "node:assert/strict";
import {
  encryptedSize,
  HEADER_SIZE,
  objectKey,
  readObjectKey,
  TAG_SIZE,
} from "../../core/crypto_chunks.ts";
import { decryptFile, encryptFile } from "../../core/crypto_files.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const key = await objectKey(new Uint8Array(32).fill(7));

Deno.test("encryptFile() and decryptFile() round-trip every size around chunk boundaries", async () => {
  await withDir(async (dir) => {
    for (const size of [0, 1, 15, 16, 17, 48, 100]) {
      const plain = crypto.getRandomValues(new Uint8Array(size));
      await Deno.writeFile(`${dir}/p`, plain);
      const stored = await encryptFile(`${dir}/p`, `${dir}/c`, key, 16);
      assert.equal(stored, encryptedSize(size, 16), `size ${size}`);
      assert.equal(await decryptFile(`${dir}/c`, `${dir}/d`, key), size);
      assert.deepEqual(await Deno.readFile(`${dir}/d`), plain);
      await Deno.remove(`${dir}/d`);
    }
  });
});

Deno.test("encryptFile() gives each file its own key: the same plaintext encrypts differently", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/p`, "same content");
    await encryptFile(`${dir}/p`, `${dir}/a`, key);
    await encryptFile(`${dir}/p`, `${dir}/b`, key);
    const a = await Deno.readFile(`${dir}/a`);
    const b = await Deno.readFile(`${dir}/b`);
    assert.notDeepEqual(a.subarray(HEADER_SIZE), b.subarray(HEADER_SIZE));
  });
});

Deno.test("decryptFile() refuses a truncated, extended, reordered or altered file and writes nothing", async () => {
  await withDir(async (dir) => {
    const plain = crypto.getRandomValues(new Uint8Array(64));
    await Deno.writeFile(`${dir}/p`, plain);
    await encryptFile(`${dir}/p`, `${dir}/c`, key, 16);
    const good = await Deno.readFile(`${dir}/c`);
    const sealed = 16 + TAG_SIZE;
    const chunk = (i: number) =>
      good.subarray(HEADER_SIZE + i * sealed, HEADER_SIZE + (i + 1) * sealed);
    const cases: Record<string, Uint8Array> = {
      "drop the last chunk": good.subarray(0, good.length - sealed),
      "append a chunk": new Uint8Array([...good, ...chunk(1)]),
      "swap two chunks": new Uint8Array([
        ...good.subarray(0, HEADER_SIZE),
        ...chunk(1),
        ...chunk(0),
        ...chunk(2),
        ...chunk(3),
      ]),
      "flip a bit": good.map((b, i) => (i === HEADER_SIZE + 3 ? b ^ 1 : b)),
      "change the header": good.map((b, i) => (i === 20 ? b ^ 1 : b)),
      "cut mid-tag": good.subarray(0, good.length - 5),
    };
    for (const [what, bytes] of Object.entries(cases)) {
      await Deno.writeFile(`${dir}/bad`, bytes);
      await assert.rejects(decryptFile(`${dir}/bad`, `${dir}/out`, key), Error, what);
      await assert.rejects(Deno.stat(`${dir}/out`), Deno.errors.NotFound, what);
    }
    const other = await objectKey(new Uint8Array(32).fill(8));
    await assert.rejects(decryptFile(`${dir}/c`, `${dir}/out`, other), /does not authenticate/);
    await Deno.writeTextFile(`${dir}/plain`, "not encrypted at all, just text. ".repeat(4));
    await assert.rejects(decryptFile(`${dir}/plain`, `${dir}/out`, key), /bad header/);
  });
});

Deno.test("readObjectKey() reads raw, hex and base64 key files and names a bad one", async () => {
  await withDir(async (dir) => {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const hex = [...raw].map((b) => b.toString(16).padStart(2, "0")).join("");
    const b64 = btoa(String.fromCharCode(...raw));
    await Deno.writeTextFile(`${dir}/p`, "x");
    await encryptFile(`${dir}/p`, `${dir}/c`, await objectKey(raw));
    for (
      const [name, content] of [["raw", raw], ["hex", hex + "\n"], ["b64", b64 + "\n"]] as const
    ) {
      if (typeof content === "string") await Deno.writeTextFile(`${dir}/${name}`, content);
      else await Deno.writeFile(`${dir}/${name}`, content);
      await decryptFile(`${dir}/c`, `${dir}/out-${name}`, await readObjectKey(`${dir}/${name}`));
      assert.equal(await Deno.readTextFile(`${dir}/out-${name}`), "x");
    }
    await Deno.writeTextFile(`${dir}/short`, "abc");
    await assert.rejects(
      readObjectKey(`${dir}/short`),
      /key file ".*short" must hold a 32-byte key/,
    );
  });
});
