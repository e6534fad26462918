import { isStatisticsError, validateDetailColumns, type DetailColumns } from "@usage-ledger/statistics";
import { AvroWriter } from "./avro-writer";
import { FAST_DETAIL_CHUNK_FINGERPRINT, FastDetailChunkDecoder, writeDetailChunk } from "./detail-chunk-fast";
import { singleObjectHeader } from "./fingerprint";
import { WireError } from "./errors";
import { detailChunkSchemaJson } from "./schema-files";
import { SingleObjectCodec, type SchemaRegistry, type SchemaVersion } from "./single-object-codec";
import { isCount, isWireInteger, MAX_AVRO_INT, MAX_WIRE_INTEGER, WIRE_INTEGER_RANGE } from "./validation";

/** The statistics store's columnar batch (`exportDetails(from, to)`), re-exported for the snapshot packages. */
export type { DetailColumns };

/** One chunk record of a snapshot generation (schemas/snapshot-chunk.avsc). */
export interface DetailChunk {
  /** Topic whose partition the state was computed from. */
  readonly sourceTopic: string;
  /** Partition of `sourceTopic`, >= 0. */
  readonly partition: number;
  /** Snapshot generation the chunk belongs to, >= 0. */
  readonly generation: number;
  /** Epoch of the writer of the generation, >= 0. */
  readonly writerEpoch: number;
  /** Position of the chunk in its generation, >= 0. */
  readonly chunkIndex: number;
  /** Index of the chunk's first detail in the writer's append-only detail store (`from` of `exportDetails`), >= 0. */
  readonly detailOffset: number;
  /** The details; columns may be longer than `count` (only the first `count` rows are written). */
  readonly columns: DetailColumns;
}

/** The chunk as avsc reads and writes it. */
interface AvroDetailChunk {
  source_topic: string;
  partition: number;
  generation: number;
  writer_epoch: number;
  chunk_index: number;
  detail_offset: number;
  strings: string[];
  api: number[];
  model: number[];
  source: number[];
  auth_index: number[];
  epoch_seconds: number[];
  nanos: number[];
  offset_seconds: number[];
  failed: Buffer;
  latency_ms: number[];
  input_tokens: number[];
  output_tokens: number[];
  reasoning_tokens: number[];
  cached_tokens: number[];
  total_tokens: number[];
}

const codec = new SingleObjectCodec({ schema: detailChunkSchemaJson });
// Chunks of the schema the hand-written fast decoder reads skip avsc (anything it leaves, avsc decides).
const fast =
  codec.schema.fingerprintHex === FAST_DETAIL_CHUNK_FINGERPRINT ? new FastDetailChunkDecoder(codec.schema.fingerprint) : undefined;
// And are written without avsc's JS arrays, byte for byte as avsc writes them.
const writer = fast === undefined ? undefined : new AvroWriter(64 * 1024);
const header = singleObjectHeader(codec.schema.fingerprint);

/** The chunk schema version (schemas/snapshot-chunk.avsc); its fingerprint goes into every manifest. */
export const detailChunkSchema: SchemaVersion = codec.schema;

/** The writer schema versions {@link decodeDetailChunk} accepts (register older chunk schemas here). */
export const detailChunkRegistry: SchemaRegistry = codec;

const NUMBER_COLUMNS = ["latencyMs", "inputTokens", "outputTokens", "reasoningTokens", "cachedTokens", "totalTokens"] as const;

/**
 * Encodes a chunk (Avro single-object encoding of schemas/snapshot-chunk.avsc) after checking it:
 * the statistics core's `validateDetailColumns` (column types, at least `count` rows, indexes within
 * `strings`, storable timestamps, failed 0 or 1, safe integers), plus latencies and token counts
 * within the wire's integer range −2^52..2^53 − 2 (negative token counts are kept: imports may carry
 * them). Throws `WIRE_INVALID_CHUNK`. Strings travel as UTF-8 (a lone UTF-16 surrogate would come
 * back as U+FFFD).
 */
export function encodeDetailChunk(chunk: DetailChunk): Buffer {
  if (writer === undefined) {
    return encodeDetailChunkWithAvsc(chunk);
  }
  checkChunk(chunk);
  return writeDetailChunk(writer, header, chunk);
}

/** {@link encodeDetailChunk} through avsc only (the reference the fast path is tested against). */
export function encodeDetailChunkWithAvsc(chunk: DetailChunk): Buffer {
  checkChunk(chunk);
  const c = chunk.columns;
  const rows = <T extends Uint32Array | Float64Array | Int32Array>(column: T): number[] => Array.from(column.subarray(0, c.count));
  const value: AvroDetailChunk = {
    source_topic: chunk.sourceTopic,
    partition: chunk.partition,
    generation: chunk.generation,
    writer_epoch: chunk.writerEpoch,
    chunk_index: chunk.chunkIndex,
    detail_offset: chunk.detailOffset,
    strings: [...c.strings],
    api: rows(c.api),
    model: rows(c.model),
    source: rows(c.source),
    auth_index: rows(c.authIndex),
    epoch_seconds: rows(c.epochSeconds),
    nanos: rows(c.nanos),
    offset_seconds: rows(c.offsetSeconds),
    failed: Buffer.from(c.failed.buffer, c.failed.byteOffset, c.count),
    latency_ms: rows(c.latencyMs),
    input_tokens: rows(c.inputTokens),
    output_tokens: rows(c.outputTokens),
    reasoning_tokens: rows(c.reasoningTokens),
    cached_tokens: rows(c.cachedTokens),
    total_tokens: rows(c.totalTokens),
  };
  return codec.encode(value);
}

/**
 * Decodes a chunk written by {@link encodeDetailChunk} (or an older registered chunk schema) into
 * typed-array columns and checks it as the encoder does. Throws a `WireError`: the single-object
 * codes (`WIRE_BAD_MARKER`, `WIRE_TRUNCATED`, `WIRE_UNKNOWN_FINGERPRINT`, `WIRE_MALFORMED_BODY`,
 * `WIRE_UNSAFE_INTEGER`, `WIRE_TRAILING_BYTES`) or `WIRE_INVALID_CHUNK`.
 */
export function decodeDetailChunk(bytes: Uint8Array): DetailChunk {
  const decoded = fast?.decode(bytes);
  if (decoded !== undefined) {
    checkChunk(decoded, fast?.wireIntegers === true);
    return decoded;
  }
  return decodeDetailChunkWithAvsc(bytes);
}

/** {@link decodeDetailChunk} through avsc only (the reference the fast path is tested against). */
export function decodeDetailChunkWithAvsc(bytes: Uint8Array): DetailChunk {
  const v = codec.decode(bytes) as AvroDetailChunk;
  const chunk: DetailChunk = {
    sourceTopic: v.source_topic,
    partition: v.partition,
    generation: v.generation,
    writerEpoch: v.writer_epoch,
    chunkIndex: v.chunk_index,
    detailOffset: v.detail_offset,
    columns: {
      count: v.api.length,
      strings: v.strings,
      api: Uint32Array.from(v.api),
      model: Uint32Array.from(v.model),
      source: Uint32Array.from(v.source),
      authIndex: Uint32Array.from(v.auth_index),
      epochSeconds: Float64Array.from(v.epoch_seconds),
      nanos: Int32Array.from(v.nanos),
      offsetSeconds: Int32Array.from(v.offset_seconds),
      failed: new Uint8Array(v.failed),
      latencyMs: Float64Array.from(v.latency_ms),
      inputTokens: Float64Array.from(v.input_tokens),
      outputTokens: Float64Array.from(v.output_tokens),
      reasoningTokens: Float64Array.from(v.reasoning_tokens),
      cachedTokens: Float64Array.from(v.cached_tokens),
      totalTokens: Float64Array.from(v.total_tokens),
    },
  };
  // A negative index wraps to 2^32 - n in the Uint32Array: beyond any string table, so the check rejects it.
  checkChunk(chunk);
  return chunk;
}

/** `wireIntegers`: the number columns are known to hold integers in the wire's range (their check, the last one, is skipped). */
function checkChunk(chunk: DetailChunk, wireIntegers = false): void {
  if (typeof chunk !== "object" || chunk === null) {
    throw invalid("a chunk must be an object");
  }
  if (typeof chunk.sourceTopic !== "string") {
    throw invalid("sourceTopic must be a string");
  }
  checkCounter(chunk.partition, "partition", MAX_AVRO_INT);
  checkCounter(chunk.generation, "generation", MAX_WIRE_INTEGER);
  checkCounter(chunk.writerEpoch, "writerEpoch", MAX_WIRE_INTEGER);
  checkCounter(chunk.chunkIndex, "chunkIndex", MAX_AVRO_INT);
  checkCounter(chunk.detailOffset, "detailOffset", MAX_WIRE_INTEGER);
  const c = chunk.columns;
  try {
    validateDetailColumns(c);
  } catch (error) {
    throw isStatisticsError(error) ? invalid(error.message) : error;
  }
  checkCounter(c.count, "columns.count", MAX_AVRO_INT);
  if (wireIntegers) {
    return;
  }
  for (const name of NUMBER_COLUMNS) {
    const column = c[name];
    for (let i = 0; i < c.count; i++) {
      const value = column[i] ?? 0;
      if (!isWireInteger(value)) {
        throw invalid(`${name}[${String(i)}] = ${String(value)} is not an integer in ${WIRE_INTEGER_RANGE}`);
      }
    }
  }
}

function checkCounter(value: unknown, name: string, max: number): void {
  if (!isCount(value, max)) {
    throw invalid(`${name} must be an integer in 0..${String(max)}, got ${String(value)}`);
  }
}

function invalid(message: string): WireError {
  return new WireError("WIRE_INVALID_CHUNK", message);
}
