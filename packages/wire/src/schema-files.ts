import { readFileSync } from "node:fs";

/**
 * The one I/O place of packages/wire: reads the `.avsc` files of the repository's `schemas/` folder,
 * the single source of truth of the wire contract. Read once, at module load.
 */
function readSchema(fileName: string): unknown {
  const url = new URL(`../../../schemas/${fileName}`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as unknown;
}

/** schemas/usage-record.avsc: the current usage record schema (value of usage.records). */
export const usageRecordSchemaJson: unknown = readSchema("usage-record.avsc");
/** schemas/snapshot-chunk.avsc: a columnar batch of details of one snapshot generation. */
export const detailChunkSchemaJson: unknown = readSchema("snapshot-chunk.avsc");
/** schemas/snapshot-manifest.avsc: the manifest written last for a snapshot generation. */
export const snapshotManifestSchemaJson: unknown = readSchema("snapshot-manifest.avsc");

/** The parsed JSON of every schema file, by file name (the wire contract's source of truth). */
export const schemaFiles: Readonly<Record<"usage-record.avsc" | "snapshot-chunk.avsc" | "snapshot-manifest.avsc", unknown>> = {
  "usage-record.avsc": usageRecordSchemaJson,
  "snapshot-chunk.avsc": detailChunkSchemaJson,
  "snapshot-manifest.avsc": snapshotManifestSchemaJson,
};
