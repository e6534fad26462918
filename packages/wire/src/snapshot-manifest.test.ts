import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { detailChunkSchema, encodeDetailChunk } from "./detail-chunk";
import { schemaFingerprint, singleObjectHeader } from "./fingerprint";
import { schemaFiles } from "./schema-files";
import {
  chunkChecksum,
  decodeSnapshotManifest,
  encodeSnapshotManifest,
  snapshotManifestSchema,
  type ChunkRef,
  type SnapshotManifest,
} from "./snapshot-manifest";
import { expectWireError, sampleChunk, timestampArb } from "../test/support/fixtures";

const chunkBytes = [encodeDetailChunk(sampleChunk(10)), encodeDetailChunk({ ...sampleChunk(6), chunkIndex: 1 })];

const FULL: SnapshotManifest = {
  sourceTopic: "usage.records",
  partition: 3,
  generation: 12,
  writerEpoch: 2,
  resumeOffset: "184467",
  kind: "full",
  baseGeneration: undefined,
  chunks: chunkBytes.map((bytes, i) => ({
    key: `p3/g12/c${String(i)}`,
    detailCount: i === 0 ? 10 : 6,
    bytes: bytes.length,
    checksum: chunkChecksum(bytes),
  })),
  detailCount: 16,
  totals: { totalRequests: 16, successCount: 14, failureCount: 2, totalTokens: 4321 },
  writtenAt: { epochSeconds: 1_768_027_619, nanos: 987_654_321, offsetSeconds: -18_000 },
  schemaFingerprint: detailChunkSchema.fingerprintHex,
};

const INCREMENTAL: SnapshotManifest = {
  ...FULL,
  generation: 13,
  kind: "incremental",
  baseGeneration: 12,
  detailCount: 40,
  resumeOffset: "0",
};

describe("snapshot manifests", () => {
  it("start with the single-object header of schemas/snapshot-manifest.avsc", () => {
    expect(snapshotManifestSchema.fingerprint).toBe(schemaFingerprint(schemaFiles["snapshot-manifest.avsc"]));
    expect(encodeSnapshotManifest(FULL).subarray(0, 10)).toEqual(singleObjectHeader(snapshotManifestSchema.fingerprint));
  });

  it("round-trip full and incremental manifests", () => {
    expect(decodeSnapshotManifest(encodeSnapshotManifest(FULL))).toStrictEqual(FULL);
    expect(decodeSnapshotManifest(encodeSnapshotManifest(INCREMENTAL))).toStrictEqual(INCREMENTAL);
    expect(decodeSnapshotManifest(encodeSnapshotManifest({ ...FULL, chunks: [], detailCount: 0 }))).toStrictEqual({
      ...FULL,
      chunks: [],
      detailCount: 0,
    });
  });

  it("round-trip any valid manifest (fast-check)", () => {
    const refArb: fc.Arbitrary<ChunkRef> = fc
      .record({
        key: fc.string({ unit: "grapheme", maxLength: 30 }),
        detailCount: fc.integer({ min: 0, max: 40_000 }),
        bytes: fc.integer({ min: 0, max: 1_048_576 }),
        checksum: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex")),
      })
      .map((ref) => ({ ...ref }));
    const manifestArb = fc
      .record({
        chunks: fc.array(refArb, { maxLength: 20 }),
        generation: fc.integer({ min: 1, max: 2 ** 40 }),
        incremental: fc.boolean(),
        extraDetails: fc.nat(1000),
        success: fc.nat(1_000_000),
        failure: fc.nat(1_000_000),
        offset: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        writtenAt: timestampArb,
        tokens: fc.nat(),
      })
      .map(({ chunks, generation, incremental, extraDetails, success, failure, offset, writtenAt, tokens }): SnapshotManifest => {
        const inChunks = chunks.reduce((sum, chunk) => sum + chunk.detailCount, 0);
        return {
          ...FULL,
          generation,
          kind: incremental ? "incremental" : "full",
          baseGeneration: incremental ? generation - 1 : undefined,
          chunks,
          detailCount: incremental ? inChunks + extraDetails : inChunks,
          totals: { totalRequests: success + failure, successCount: success, failureCount: failure, totalTokens: tokens },
          resumeOffset: offset.toString(),
          writtenAt: { ...writtenAt },
        };
      });
    fc.assert(
      fc.property(manifestArb, (manifest) => {
        expect(decodeSnapshotManifest(encodeSnapshotManifest(manifest))).toStrictEqual(manifest);
      }),
      { numRuns: 300 },
    );
  });

  it("checksum a chunk's bytes with SHA-256 (reference value of the empty input)", () => {
    expect(chunkChecksum(new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(FULL.chunks[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(chunkChecksum(chunkBytes[0] ?? new Uint8Array(0))).not.toBe(chunkChecksum(chunkBytes[1] ?? new Uint8Array(0)));
  });

  it.each([
    ["a full generation with a base", { ...FULL, baseGeneration: 11 }],
    ["an incremental generation without a base", { ...INCREMENTAL, baseGeneration: undefined }],
    ["a base that is not older", { ...INCREMENTAL, baseGeneration: 13 }],
    ["an unknown kind", { ...FULL, kind: "partial" as unknown as "full" }],
    ["a negative resume offset", { ...FULL, resumeOffset: "-1" }],
    ["a resume offset with leading zeros", { ...FULL, resumeOffset: "007" }],
    ["a resume offset that is not a number", { ...FULL, resumeOffset: "latest" }],
    ["a detail count that differs from a full generation's chunks", { ...FULL, detailCount: 17 }],
    ["a detail count below an incremental generation's chunks", { ...INCREMENTAL, detailCount: 15 }],
    ["an upper-case checksum", { ...FULL, chunks: [{ ...(FULL.chunks[0] as ChunkRef), checksum: "A".repeat(64) }], detailCount: 10 }],
    ["a short checksum", { ...FULL, chunks: [{ ...(FULL.chunks[0] as ChunkRef), checksum: "ab" }], detailCount: 10 }],
    ["a negative chunk size", { ...FULL, chunks: [{ ...(FULL.chunks[0] as ChunkRef), bytes: -1 }], detailCount: 10 }],
    ["totals that do not add up", { ...FULL, totals: { ...FULL.totals, failureCount: 3 } }],
    ["negative total tokens", { ...FULL, totals: { ...FULL.totals, totalTokens: -1 } }],
    ["a bad writtenAt", { ...FULL, writtenAt: { epochSeconds: 0, nanos: -1, offsetSeconds: 0 } }],
    ["a schema fingerprint that is not 16 hex digits", { ...FULL, schemaFingerprint: "xyz" }],
    ["a negative writer epoch", { ...FULL, writerEpoch: -1 }],
    ["a partition beyond an Avro int", { ...FULL, partition: 2 ** 31 }],
  ])("reject %s with WIRE_INVALID_MANIFEST", (_name, manifest) => {
    expectWireError(() => encodeSnapshotManifest(manifest), "WIRE_INVALID_MANIFEST");
  });
});
