import { deepEqual as assertEquals } from "node:assert/strict";
import { readParquetRows, writeParquetFile } from "../../archive/parquet.ts";

const cols = [
  { name: "n", type: "INT64", nullable: false },
  { name: "t", type: "STRING", nullable: true },
] as const;

async function roundTrip(texts: Array<string | null>): Promise<unknown[]> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.parquet`;
    const w = await writeParquetFile(path, cols, texts.map((t, i) => [BigInt(i), t]), {
      rowGroupSize: 1000,
    });
    assertEquals(w.rows, texts.length);
    return (await readParquetRows(path)).map((r) => r.t);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("writeParquetFile() keeps mostly-distinct ASCII text whole, nulls included", async () => {
  const texts = Array.from({ length: 2500 }, (_, i) => i % 7 === 0 ? null : `line ${i} {"a":${i}}`);
  assertEquals(await roundTrip(texts), texts);
});

Deno.test("writeParquetFile() keeps a group with non-ASCII text whole (2-, 3- and 4-byte characters)", async () => {
  // One character in a group of 1000 is enough to leave the byte-per-character path.
  const texts = Array.from(
    { length: 2500 },
    (_, i) => i === 1500 ? `naïve ${i} € 🙂` : i % 11 === 0 ? null : `plain ${i}`,
  );
  texts[10] = `Grüße ${10}`;
  assertEquals(await roundTrip(texts), texts);
});
