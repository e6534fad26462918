export { WIRE_ERROR_CODES, WireError, isWireError } from "./errors";
export type { WireErrorCode } from "./errors";

export { parsingCanonicalForm } from "./canonical-form";
export {
  SINGLE_OBJECT_MARKER,
  crc64Avro,
  fingerprintFromHex,
  fingerprintToBytes,
  fingerprintToHex,
  schemaFingerprint,
  singleObjectHeader,
} from "./fingerprint";
export { SingleObjectCodec } from "./single-object-codec";
export type { SchemaRegistry, SchemaVersion, SingleObjectCodecOptions } from "./single-object-codec";

export { MAX_STATUS_CODE, MAX_WIRE_INTEGER, MIN_WIRE_INTEGER, STRING_LIMITS, validateUsageRecord } from "./validation";
export { createUsageRecordCodec, decodeUsageRecord, encodeUsageRecord, usageRecordRegistry, usageRecordSchema } from "./usage-record-codec";
export type { UsageRecordCodec, UsageRecordCodecOptions } from "./usage-record-codec";

export { classifyUsageQueueMessage, mapUsageQueuePayload, parseUsageQueueMessage } from "./usage-queue";
export type { UsageQueueMappingOptions, UsageQueueMessage, UsageQueueMessageKind } from "./usage-queue";

export { decodeDetailChunk, detailChunkRegistry, detailChunkSchema, encodeDetailChunk } from "./detail-chunk";
export type { DetailChunk, DetailColumns } from "./detail-chunk";
export {
  chunkChecksum,
  decodeSnapshotManifest,
  encodeSnapshotManifest,
  snapshotManifestRegistry,
  snapshotManifestSchema,
} from "./snapshot-manifest";
export type { ChunkRef, SnapshotKind, SnapshotManifest, SnapshotTotals } from "./snapshot-manifest";

export { schemaFiles } from "./schema-files";
