import { timestampProblem } from "@usage-ledger/statistics";
import { WireError } from "./errors";
import { detailChunkSchemaJson } from "./schema-files";
import { SingleObjectCodec, type SchemaRegistry, type SchemaVersion } from "./single-object-codec";
import { isCount, isWireInteger, MAX_AVRO_INT, MAX_WIRE_INTEGER, WIRE_INTEGER_RANGE } from "./validation";

/**
 * A columnar batch of request details, the statistics store's `exportDetails(from, to)` shape:
 * detail `i` is row `i` of every column; `api`, `model`, `source` and `authIndex` index `strings`.
 */
export interface DetailColumns {
  readonly count: number;
  readonly strings: readonly string[];
  readonly api: Uint32Array;
  readonly model: Uint32Array;
  readonly source: Uint32Array;
  readonly authIndex: Uint32Array;
  readonly epochSeconds: Float64Array;
  readonly nanos: Int32Array;
  readonly offsetSeconds: Int32Array;
  /** 1 = failed, 0 = success. */
  readonly failed: Uint8Array;
  readonly latencyMs: Float64Array;
  readonly inputTokens: Float64Array;
  readonly outputTokens: Float64Array;
  readonly reasoningTokens: Float64Array;
  readonly cachedTokens: Float64Array;
  readonly totalTokens: Float64Array;
}

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

/** The chunk schema version (schemas/snapshot-chunk.avsc); its fingerprint goes into every manifest. */
export const detailChunkSchema: SchemaVersion = codec.schema;

/** The writer schema versions {@link decodeDetailChunk} accepts (register older chunk schemas here). */
export const detailChunkRegistry: SchemaRegistry = codec;

const INDEX_COLUMNS = ["api", "model", "source", "authIndex"] as const;
const NUMBER_COLUMNS = ["latencyMs", "inputTokens", "outputTokens", "reasoningTokens", "cachedTokens", "totalTokens"] as const;

/**
 * Encodes a chunk (Avro single-object encoding of schemas/snapshot-chunk.avsc) after checking it:
 * every column exactly `count` long, indexes within `strings`, storable timestamps, failed bytes 0 or
 * 1, latencies and token counts integers in −2^52..2^53 − 2 (negative token counts are kept: imports
 * may carry them). Throws `WIRE_INVALID_CHUNK`. Strings travel as UTF-8 (a lone UTF-16 surrogate
 * would come back as U+FFFD).
 */
export function encodeDetailChunk(chunk: DetailChunk): Buffer {
  checkChunk(chunk);
  const c = chunk.columns;
  const value: AvroDetailChunk = {
    source_topic: chunk.sourceTopic,
    partition: chunk.partition,
    generation: chunk.generation,
    writer_epoch: chunk.writerEpoch,
    chunk_index: chunk.chunkIndex,
    detail_offset: chunk.detailOffset,
    strings: [...c.strings],
    api: Array.from(c.api),
    model: Array.from(c.model),
    source: Array.from(c.source),
    auth_index: Array.from(c.authIndex),
    epoch_seconds: Array.from(c.epochSeconds),
    nanos: Array.from(c.nanos),
    offset_seconds: Array.from(c.offsetSeconds),
    failed: Buffer.from(c.failed.buffer, c.failed.byteOffset, c.failed.byteLength),
    latency_ms: Array.from(c.latencyMs),
    input_tokens: Array.from(c.inputTokens),
    output_tokens: Array.from(c.outputTokens),
    reasoning_tokens: Array.from(c.reasoningTokens),
    cached_tokens: Array.from(c.cachedTokens),
    total_tokens: Array.from(c.totalTokens),
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
  // Negative indexes would wrap in Uint32Array: check the decoded numbers before trusting the copy.
  for (const column of [v.api, v.model, v.source, v.auth_index]) {
    if (column.some((index) => index < 0)) {
      throw invalid("negative string index");
    }
  }
  checkChunk(chunk);
  return chunk;
}

function checkChunk(chunk: DetailChunk): void {
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
  if (typeof c !== "object" || c === null) {
    throw invalid("columns must be an object");
  }
  const count = c.count;
  checkCounter(count, "columns.count", MAX_AVRO_INT);
  if (!Array.isArray(c.strings) || !c.strings.every((s) => typeof s === "string")) {
    throw invalid("strings must be an array of strings");
  }
  checkColumn(c.api, Uint32Array, "api", count);
  checkColumn(c.model, Uint32Array, "model", count);
  checkColumn(c.source, Uint32Array, "source", count);
  checkColumn(c.authIndex, Uint32Array, "authIndex", count);
  checkColumn(c.epochSeconds, Float64Array, "epochSeconds", count);
  checkColumn(c.nanos, Int32Array, "nanos", count);
  checkColumn(c.offsetSeconds, Int32Array, "offsetSeconds", count);
  checkColumn(c.failed, Uint8Array, "failed", count);
  for (const name of NUMBER_COLUMNS) {
    checkColumn(c[name], Float64Array, name, count);
  }
  const strings = c.strings.length;
  for (const name of INDEX_COLUMNS) {
    const column = c[name];
    for (let i = 0; i < count; i++) {
      if ((column[i] ?? 0) >= strings) {
        throw invalid(`${name}[${String(i)}] = ${String(column[i])} is not an index into the ${String(strings)} strings`);
      }
    }
  }
  for (let i = 0; i < count; i++) {
    const problem = timestampProblem({ epochSeconds: c.epochSeconds[i] ?? 0, nanos: c.nanos[i] ?? 0, offsetSeconds: c.offsetSeconds[i] ?? 0 });
    if (problem !== undefined) {
      throw invalid(`timestamp of detail ${String(i)}: ${problem}`);
    }
    const failed = c.failed[i];
    if (failed !== 0 && failed !== 1) {
      throw invalid(`failed[${String(i)}] = ${String(failed)}, not 0 or 1`);
    }
  }
  for (const name of NUMBER_COLUMNS) {
    const column = c[name];
    for (let i = 0; i < count; i++) {
      const value = column[i] ?? 0;
      if (!isWireInteger(value)) {
        throw invalid(`${name}[${String(i)}] = ${String(value)} is not an integer in ${WIRE_INTEGER_RANGE}`);
      }
    }
  }
}

function checkColumn(column: unknown, kind: new (length: number) => { readonly length: number }, name: string, count: number): void {
  if (!(column instanceof kind)) {
    throw invalid(`${name} must be a ${kind.name}`);
  }
  if (column.length !== count) {
    throw invalid(`${name} has ${String(column.length)} rows, count is ${String(count)}`);
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
