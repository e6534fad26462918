export { SNAPSHOT_ERROR_CODES, SnapshotError, isRetryableSnapshotCode, isSnapshotError } from "./errors";
export type { SnapshotErrorCode } from "./errors";
export type { SnapshotLogger } from "./logger";
export { silentLogger } from "./logger";
export { chunkKey, manifestKey, parseSnapshotKey, snapshotPartitionFor, isTopicName } from "./format/keys";
export type { ChunkKey, ManifestKey, SnapshotKey } from "./format/keys";
export { RECORD_OVERHEAD_BYTES, maxValueBytes, splitDetails } from "./format/chunking";
export type { ChunkPiece, SplitOptions } from "./format/chunking";
export type { DetailStatistics, StatisticsTotals } from "./format/columns";
export { encodeChunkRecords, encodeManifestRecord } from "./format/records";
export type { ChunkRecord, EncodeChunksOptions, EncodeManifestOptions } from "./format/records";
export {
  applyGeneration,
  compareManifests,
  fenceOf,
  manifestCandidates,
  orphanKeys,
  selectGeneration,
  verifyChunks,
} from "./format/generation";
export type { ApplyGenerationOptions, Fence, ManifestCandidate, PartitionLog, RejectedGeneration, Selection } from "./format/generation";
export { DEFAULT_SNAPSHOT_TOPIC, describeSnapshotTopic, ensureSnapshotTopic } from "./kafka/topic";
export type { EnsureSnapshotTopicOptions, EnsuredSnapshotTopic, SnapshotTopic } from "./kafka/topic";
export { SnapshotWriter } from "./kafka/writer";
export type { ClaimOptions, GenerationReport, SnapshotWriterOptions, WriteGenerationOptions } from "./kafka/writer";
export { restorePartition, restorePartitions } from "./kafka/restore";
export type { RestorePartitionOptions, RestorePartitionsOptions, RestoredPartition } from "./kafka/restore";
export { SnapshotReader } from "./kafka/reader";
export type { GenerationEvent, PartitionView, ReadAllResult, SnapshotReaderOptions } from "./kafka/reader";
