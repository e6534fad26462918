import { createHash } from "node:crypto";
import type { Timestamp } from "@usage-ledger/statistics";
import { fromAvroTimestamp, toAvroTimestamp, type AvroTimestamp } from "./avro-timestamp";
import { WireError } from "./errors";
import { fingerprintFromHex, fingerprintToBytes, fingerprintToHex } from "./fingerprint";
import { snapshotManifestSchemaJson } from "./schema-files";
import { SingleObjectCodec, type SchemaRegistry, type SchemaVersion } from "./single-object-codec";
import { isCount, MAX_AVRO_INT, MAX_WIRE_INTEGER, validateTimestamp } from "./validation";

/** A full generation holds the whole state; an incremental one the details appended since its base. */
export type SnapshotKind = "full" | "incremental";

/** Where one chunk of a generation is and how to verify it. */
export interface ChunkRef {
  /** Kafka record key of the chunk on the snapshot topic. */
  readonly key: string;
  /** Details in the chunk. */
  readonly detailCount: number;
  /** Length of the chunk's record value in bytes. */
  readonly bytes: number;
  /** {@link chunkChecksum} of the chunk's record value: SHA-256, 64 lowercase hex digits. */
  readonly checksum: string;
}

/** The statistics' top-level counters of the state after a generation. */
export interface SnapshotTotals {
  readonly totalRequests: number;
  readonly successCount: number;
  readonly failureCount: number;
  readonly totalTokens: number;
}

/** The manifest of one snapshot generation of one source partition (schemas/snapshot-manifest.avsc). */
export interface SnapshotManifest {
  readonly sourceTopic: string;
  readonly partition: number;
  readonly generation: number;
  readonly writerEpoch: number;
  /** Next offset of the source partition to consume after a restore: a non-negative decimal integer. */
  readonly resumeOffset: string;
  readonly kind: SnapshotKind;
  /** The generation an incremental one builds on (smaller than `generation`); `undefined` for a full one. */
  readonly baseGeneration: number | undefined;
  /** Chunk records in chunk-index order. */
  readonly chunks: readonly ChunkRef[];
  /** Details in the state after this generation (full: the sum of the chunks' counts; incremental: at least that). */
  readonly detailCount: number;
  readonly totals: SnapshotTotals;
  /** When the manifest was written (the writer's injected clock). */
  readonly writtenAt: Timestamp;
  /** Fingerprint (16 hex digits, as `detailChunkSchema.fingerprintHex`) of the chunk schema the chunks use. */
  readonly schemaFingerprint: string;
}

interface AvroManifest {
  source_topic: string;
  partition: number;
  generation: number;
  writer_epoch: number;
  resume_offset: string;
  kind: "FULL" | "INCREMENTAL";
  base_generation: number | null;
  chunks: { key: string; detail_count: number; bytes: number; checksum: string }[];
  detail_count: number;
  totals: { total_requests: number; success_count: number; failure_count: number; total_tokens: number };
  written_at: AvroTimestamp;
  schema_fingerprint: Buffer;
}

const codec = new SingleObjectCodec({ schema: snapshotManifestSchemaJson });

/** The manifest schema version (schemas/snapshot-manifest.avsc). */
export const snapshotManifestSchema: SchemaVersion = codec.schema;

/** The writer schema versions {@link decodeSnapshotManifest} accepts. */
export const snapshotManifestRegistry: SchemaRegistry = codec;

const OFFSET = /^(?:0|[1-9][0-9]*)$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The checksum a {@link ChunkRef} carries: SHA-256 of the chunk's record value, 64 lowercase hex digits. */
export function chunkChecksum(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Checks and encodes a manifest (Avro single-object encoding). Throws `WIRE_INVALID_MANIFEST`. */
export function encodeSnapshotManifest(manifest: SnapshotManifest): Buffer {
  checkManifest(manifest);
  const value: AvroManifest = {
    source_topic: manifest.sourceTopic,
    partition: manifest.partition,
    generation: manifest.generation,
    writer_epoch: manifest.writerEpoch,
    resume_offset: manifest.resumeOffset,
    kind: manifest.kind === "full" ? "FULL" : "INCREMENTAL",
    base_generation: manifest.baseGeneration ?? null,
    chunks: manifest.chunks.map((chunk) => ({
      key: chunk.key,
      detail_count: chunk.detailCount,
      bytes: chunk.bytes,
      checksum: chunk.checksum,
    })),
    detail_count: manifest.detailCount,
    totals: {
      total_requests: manifest.totals.totalRequests,
      success_count: manifest.totals.successCount,
      failure_count: manifest.totals.failureCount,
      total_tokens: manifest.totals.totalTokens,
    },
    written_at: toAvroTimestamp(manifest.writtenAt),
    schema_fingerprint: fingerprintToBytes(fingerprintFromHex(manifest.schemaFingerprint) ?? 0n),
  };
  return codec.encode(value);
}

/**
 * Decodes and checks a manifest. Throws a `WireError`: the single-object codes or `WIRE_INVALID_MANIFEST`.
 */
export function decodeSnapshotManifest(bytes: Uint8Array): SnapshotManifest {
  const v = codec.decode(bytes) as AvroManifest;
  const manifest: SnapshotManifest = {
    sourceTopic: v.source_topic,
    partition: v.partition,
    generation: v.generation,
    writerEpoch: v.writer_epoch,
    resumeOffset: v.resume_offset,
    kind: v.kind === "FULL" ? "full" : "incremental",
    baseGeneration: v.base_generation ?? undefined,
    chunks: v.chunks.map((chunk) => ({ key: chunk.key, detailCount: chunk.detail_count, bytes: chunk.bytes, checksum: chunk.checksum })),
    detailCount: v.detail_count,
    totals: {
      totalRequests: v.totals.total_requests,
      successCount: v.totals.success_count,
      failureCount: v.totals.failure_count,
      totalTokens: v.totals.total_tokens,
    },
    writtenAt: fromAvroTimestamp(v.written_at),
    schemaFingerprint: fingerprintToHex(v.schema_fingerprint.readBigUInt64LE(0)),
  };
  checkManifest(manifest);
  return manifest;
}

function checkManifest(m: SnapshotManifest): void {
  if (typeof m !== "object" || m === null) {
    throw invalid("a manifest must be an object");
  }
  if (typeof m.sourceTopic !== "string") {
    throw invalid("sourceTopic must be a string");
  }
  checkCount(m.partition, "partition", MAX_AVRO_INT);
  checkCount(m.generation, "generation");
  checkCount(m.writerEpoch, "writerEpoch");
  if (typeof m.resumeOffset !== "string" || !OFFSET.test(m.resumeOffset)) {
    throw invalid(`resumeOffset must be a non-negative decimal integer, got ${JSON.stringify(m.resumeOffset)}`);
  }
  switch (m.kind) {
    case "full":
      if (m.baseGeneration !== undefined) {
        throw invalid("a full generation has no baseGeneration");
      }
      break;
    case "incremental":
      checkCount(m.baseGeneration, "baseGeneration");
      if ((m.baseGeneration ?? 0) >= m.generation) {
        throw invalid(`baseGeneration ${String(m.baseGeneration)} must be smaller than generation ${String(m.generation)}`);
      }
      break;
    default:
      throw invalid(`kind must be "full" or "incremental", got ${JSON.stringify(m.kind)}`);
  }
  if (!Array.isArray(m.chunks)) {
    throw invalid("chunks must be an array");
  }
  let chunkDetails = 0;
  m.chunks.forEach((chunk: ChunkRef, i) => {
    if (typeof chunk !== "object" || chunk === null || typeof chunk.key !== "string") {
      throw invalid(`chunks[${String(i)}] needs a string key`);
    }
    checkCount(chunk.detailCount, `chunks[${String(i)}].detailCount`);
    checkCount(chunk.bytes, `chunks[${String(i)}].bytes`);
    if (typeof chunk.checksum !== "string" || !SHA256_HEX.test(chunk.checksum)) {
      throw invalid(`chunks[${String(i)}].checksum must be 64 lowercase hex digits`);
    }
    chunkDetails += chunk.detailCount;
  });
  checkCount(m.detailCount, "detailCount");
  if (m.kind === "full" ? m.detailCount !== chunkDetails : m.detailCount < chunkDetails) {
    throw invalid(
      `detailCount ${String(m.detailCount)} does not fit the chunks' ${String(chunkDetails)} details of a ${m.kind} generation`,
    );
  }
  const totals = m.totals;
  if (typeof totals !== "object" || totals === null) {
    throw invalid("totals must be an object");
  }
  checkCount(totals.totalRequests, "totals.totalRequests");
  checkCount(totals.successCount, "totals.successCount");
  checkCount(totals.failureCount, "totals.failureCount");
  checkCount(totals.totalTokens, "totals.totalTokens");
  if (totals.successCount + totals.failureCount !== totals.totalRequests) {
    throw invalid("totals: successCount + failureCount must equal totalRequests");
  }
  try {
    validateTimestamp(m.writtenAt, "writtenAt");
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error));
  }
  if (typeof m.schemaFingerprint !== "string" || fingerprintFromHex(m.schemaFingerprint) === undefined) {
    throw invalid(`schemaFingerprint must be 16 lowercase hex digits, got ${JSON.stringify(m.schemaFingerprint)}`);
  }
}

function checkCount(value: unknown, name: string, max = MAX_WIRE_INTEGER): void {
  if (!isCount(value, max)) {
    throw invalid(`${name} must be an integer in 0..${String(max)}, got ${String(value)}`);
  }
}

function invalid(message: string): WireError {
  return new WireError("WIRE_INVALID_MANIFEST", message);
}
