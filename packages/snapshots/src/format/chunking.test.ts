import { chunkChecksum, decodeDetailChunk, type DetailColumns } from "@usage-ledger/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxValueBytes, RECORD_OVERHEAD_BYTES, splitDetails, type ChunkPiece } from "./chunking";
import { isSnapshotError } from "../errors";
import { encodeChunkRecords } from "./records";
import { fillStatistics } from "../../test/support/statistics";
import { encodeDetailChunk } from "@usage-ledger/wire";
import type { RequestStatistics } from "@usage-ledger/statistics";
import { parseSnapshotKey } from "./keys";

const statistics = fillStatistics({ count: 20_000, seed: 7 });

function encoder(store: RequestStatistics) {
  return (from: number, to: number, index: number): Buffer =>
    encodeDetailChunk({
      sourceTopic: "usage.records",
      partition: 0,
      generation: 1,
      writerEpoch: 0,
      chunkIndex: index,
      detailOffset: from,
      columns: store.exportDetails(from, to),
    });
}

/** Plain rows of a batch, for comparing batches whose string tables differ. */
function rows(columns: DetailColumns): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < columns.count; i++) {
    out.push([
      columns.strings[columns.api[i] ?? 0],
      columns.strings[columns.model[i] ?? 0],
      columns.strings[columns.source[i] ?? 0],
      columns.strings[columns.authIndex[i] ?? 0],
      columns.epochSeconds[i],
      columns.nanos[i],
      columns.offsetSeconds[i],
      columns.failed[i],
      columns.latencyMs[i],
      columns.inputTokens[i],
      columns.outputTokens[i],
      columns.reasoningTokens[i],
      columns.cachedTokens[i],
      columns.totalTokens[i],
    ]);
  }
  return out;
}

/** Asserts the pieces tile [from, to) with no gap and no overlap, each within the limit. */
function expectTiling(pieces: readonly ChunkPiece[], from: number, to: number, limit: number): void {
  let position = from;
  for (const piece of pieces) {
    expect(piece.from).toBe(position);
    expect(piece.to).toBeGreaterThan(piece.from);
    expect(piece.value.length).toBeLessThanOrEqual(limit);
    position = piece.to;
  }
  expect(position).toBe(to);
}

describe("splitDetails", () => {
  it("tiles the range with chunks within the limit whose contents are exactly the exported details", () => {
    const limit = 64 * 1024;
    const pieces = [...splitDetails({ from: 0, to: statistics.detailCount, maxValueBytes: limit, encode: encoder(statistics) })];
    expectTiling(pieces, 0, statistics.detailCount, limit);
    expect(pieces.length).toBeGreaterThan(5);
    // Chunks are filled well (all but the last at least half the limit).
    for (const piece of pieces.slice(0, -1)) expect(piece.value.length).toBeGreaterThan(limit / 2);
    const decoded = pieces.flatMap((piece) => rows(decodeDetailChunk(piece.value).columns));
    expect(decoded).toEqual(rows(statistics.exportDetails(0, statistics.detailCount)));
  });

  it("splits an incremental range [from, to) the same way", () => {
    const limit = 16 * 1024;
    const pieces = [...splitDetails({ from: 12_345, to: 13_000, maxValueBytes: limit, encode: encoder(statistics) })];
    expectTiling(pieces, 12_345, 13_000, limit);
    expect(decodeDetailChunk(pieces[0]?.value ?? Buffer.alloc(0)).detailOffset).toBe(12_345);
  });

  it("re-encodes smaller when the estimate was too optimistic", () => {
    const limit = 8 * 1024;
    const encodedSizes: number[] = [];
    const encode = encoder(statistics);
    const pieces = [
      ...splitDetails({
        from: 0,
        to: 3000,
        maxValueBytes: limit,
        bytesPerDetailHint: 1,
        encode: (from, to, index) => {
          const value = encode(from, to, index);
          encodedSizes.push(value.length);
          return value;
        },
      }),
    ];
    expectTiling(pieces, 0, 3000, limit);
    expect(encodedSizes[0]).toBeGreaterThan(limit);
  });

  it("re-encodes fuller when the first guess was far too pessimistic", () => {
    const limit = 32 * 1024;
    const pieces = [...splitDetails({ from: 0, to: 5000, maxValueBytes: limit, bytesPerDetailHint: 5000, encode: encoder(statistics) })];
    expectTiling(pieces, 0, 5000, limit);
    for (const piece of pieces.slice(0, -1)) expect(piece.value.length).toBeGreaterThan(limit / 2);
  });

  it("writes nothing for an empty range", () => {
    expect([...splitDetails({ from: 5, to: 5, maxValueBytes: 1000, encode: encoder(statistics) })]).toEqual([]);
  });

  it("refuses a detail that alone exceeds the limit with SNAPSHOT_OVERSIZE", () => {
    let caught: unknown;
    try {
      Array.from(splitDetails({ from: 0, to: 10, maxValueBytes: 120, encode: encoder(statistics) }));
    } catch (error) {
      caught = error;
    }
    expect(isSnapshotError(caught, "SNAPSHOT_OVERSIZE")).toBe(true);
  });

  it("refuses a reversed range with SNAPSHOT_INVALID_OPTIONS", () => {
    expect(() => [...splitDetails({ from: 5, to: 4, maxValueBytes: 1000, encode: encoder(statistics) })]).toThrow(/not a range/);
  });

  it("tiles any range within any limit (property)", () => {
    const encode = encoder(statistics);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.integer({ min: 2048, max: 200_000 }),
        (a, b, limit) => {
          const from = Math.min(a, b);
          const to = Math.max(a, b);
          expectTiling([...splitDetails({ from, to, maxValueBytes: limit, encode })], from, to, limit);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("encodeChunkRecords", () => {
  it("keys chunks by index and describes each value exactly; no record exceeds max.message.bytes", () => {
    const maxMessageBytes = 100_000;
    const records = [
      ...encodeChunkRecords({ statistics, sourceTopic: "usage.records", partition: 4, epoch: 2, generation: 9, from: 0, maxMessageBytes }),
    ];
    expect(records.map((record) => record.key)).toEqual(records.map((_, index) => `c/usage.records/4/2/9/${String(index)}`));
    let offset = 0;
    for (const record of records) {
      expect(record.ref).toEqual({
        key: record.key,
        detailCount: record.ref.detailCount,
        bytes: record.value.length,
        checksum: chunkChecksum(record.value),
      });
      expect(Buffer.byteLength(record.key) + record.value.length + RECORD_OVERHEAD_BYTES).toBeLessThanOrEqual(maxMessageBytes);
      const chunk = decodeDetailChunk(record.value);
      const key = parseSnapshotKey(record.key);
      expect(key).toMatchObject({
        partition: chunk.partition,
        epoch: chunk.writerEpoch,
        generation: chunk.generation,
        index: chunk.chunkIndex,
      });
      expect(chunk.detailOffset).toBe(offset);
      offset += record.ref.detailCount;
    }
    expect(offset).toBe(statistics.detailCount);
  });

  it("leaves room for the key and the record overhead", () => {
    expect(maxValueBytes(1_048_576, 40)).toBe(1_048_576 - RECORD_OVERHEAD_BYTES - 40);
  });
});
