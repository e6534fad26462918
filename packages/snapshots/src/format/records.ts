import type { Clock } from "@usage-ledger/statistics";
import {
  chunkChecksum,
  detailChunkSchema,
  encodeDetailChunk,
  encodeSnapshotManifest,
  type ChunkRef,
  type SnapshotKind,
  type SnapshotManifest,
} from "@usage-ledger/wire";
import { maxValueBytes, splitDetails } from "./chunking";
import { sliceColumns, type DetailStatistics, type StatisticsTotals } from "./columns";
import { SnapshotError } from "../errors";
import { chunkKey, manifestKey } from "./keys";

/** One chunk record of a generation, ready to produce. */
export interface ChunkRecord {
  readonly key: string;
  readonly value: Buffer;
  /** The manifest's entry for it. */
  readonly ref: ChunkRef;
}

/** Options of {@link encodeChunkRecords}. */
export interface EncodeChunksOptions {
  readonly statistics: DetailStatistics;
  readonly sourceTopic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly generation: number;
  /** First detail to write (0 for a full generation, the details already written for an incremental one). */
  readonly from: number;
  /** One past the last detail to write. Default `statistics.detailCount`. */
  readonly to?: number;
  /** The snapshot topic's max.message.bytes: no record (key, value and overhead) may exceed it. */
  readonly maxMessageBytes: number;
}

/**
 * The chunk records of one generation, encoded lazily (one chunk per step): details `[from, to)`
 * split by encoded size so that key + value + {@link RECORD_OVERHEAD_BYTES} stays within
 * max.message.bytes. Throws `SNAPSHOT_OVERSIZE` when one detail alone does not fit.
 */
export function* encodeChunkRecords(options: EncodeChunksOptions): Generator<ChunkRecord, void, undefined> {
  const { statistics, sourceTopic, partition, epoch, generation } = options;
  const keyOf = (index: number): string => chunkKey({ sourceTopic, partition, epoch, generation, index });
  // Sized for the longest index a generation could reach, so every chunk of it fits.
  const longestKey = Buffer.byteLength(keyOf(999_999_999));
  const pieces = splitDetails({
    from: options.from,
    to: options.to ?? statistics.detailCount,
    maxValueBytes: maxValueBytes(options.maxMessageBytes, longestKey),
    encode: (from, to, index) => {
      const exported = statistics.exportDetails(from, to);
      return encodeDetailChunk({
        sourceTopic,
        partition,
        generation,
        writerEpoch: epoch,
        chunkIndex: index,
        detailOffset: from,
        columns: sliceColumns(exported, 0, exported.count),
      });
    },
  });
  let index = 0;
  for (const piece of pieces) {
    const key = keyOf(index);
    index += 1;
    yield {
      key,
      value: piece.value,
      ref: { key, detailCount: piece.to - piece.from, bytes: piece.value.length, checksum: chunkChecksum(piece.value) },
    };
  }
}

/** Options of {@link encodeManifestRecord}. */
export interface EncodeManifestOptions {
  /** Details in the state (the chunks hold exactly these). */
  readonly detailCount: number;
  /** The state's totals, taken together with `detailCount`. */
  readonly totals: StatisticsTotals;
  readonly sourceTopic: string;
  readonly partition: number;
  readonly epoch: number;
  readonly generation: number;
  readonly kind: SnapshotKind;
  /** For an incremental generation: the generation it extends. */
  readonly baseGeneration: number | undefined;
  /** Every chunk of the state, in detail order (an incremental generation lists its base's chunks first). */
  readonly chunks: readonly ChunkRef[];
  readonly resumeOffset: string;
  readonly clock: Clock;
  readonly maxMessageBytes: number;
}

/** The manifest record of a generation. Throws `SNAPSHOT_OVERSIZE` when it would not fit in one record. */
export function encodeManifestRecord(options: EncodeManifestOptions): { key: string; value: Buffer; manifest: SnapshotManifest } {
  const { sourceTopic, partition, epoch } = options;
  const key = manifestKey({ sourceTopic, partition, epoch });
  const manifest: SnapshotManifest = {
    sourceTopic,
    partition,
    generation: options.generation,
    writerEpoch: epoch,
    resumeOffset: options.resumeOffset,
    kind: options.kind,
    baseGeneration: options.kind === "full" ? undefined : options.baseGeneration,
    chunks: options.chunks,
    detailCount: options.detailCount,
    totals: { ...options.totals },
    writtenAt: options.clock(),
    schemaFingerprint: detailChunkSchema.fingerprintHex,
  };
  const value = encodeSnapshotManifest(manifest);
  const limit = maxValueBytes(options.maxMessageBytes, Buffer.byteLength(key));
  if (value.length > limit) {
    throw new SnapshotError(
      "SNAPSHOT_OVERSIZE",
      `the manifest of ${String(options.chunks.length)} chunks encodes to ${String(value.length)} bytes, more than ${String(limit)}`,
    );
  }
  return { key, value, manifest };
}
