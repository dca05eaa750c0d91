import { deepEqual as assertEquals } from "node:assert/strict";
import { readParquetRows, writeParquetFile } from "../../archive/parquet.ts";
import { asyncBufferFromFile, parquetMetadataAsync } from "../../core/_deps/hyparquet.ts";

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

Deno.test("writeParquetFile() ends a row group at rowGroupChars of text as well as at rowGroupSize rows", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/a.parquet`;
    // 100 rows of 1,000 characters: 10 rows a group by text (10,000 chars), not 1,000 by rows.
    const rows = Array.from({ length: 100 }, (_, i) => [BigInt(i), `${i}`.padEnd(1000, "x")]);
    await writeParquetFile(path, cols, rows, { rowGroupSize: 1000, rowGroupChars: 10_000 });
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(path));
    assertEquals(meta.row_groups.map((g) => Number(g.num_rows)), Array(10).fill(10));
    assertEquals((await readParquetRows(path)).map((r) => r.t), rows.map((r) => r[1]));
    // The default: 10,000 rows a group.
    const many = `${dir}/b.parquet`;
    await writeParquetFile(many, cols, Array.from({ length: 25_000 }, (_, i) => [BigInt(i), "x"]));
    const m = await parquetMetadataAsync(await asyncBufferFromFile(many));
    assertEquals(m.row_groups.map((g) => Number(g.num_rows)), [10_000, 10_000, 5_000]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
