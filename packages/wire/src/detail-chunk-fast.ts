import type { DetailColumns } from "@usage-ledger/statistics";
import { AvroReader, FALL_BACK, HEADER_BYTES, asBuffer, fingerprintWords, hasHeader } from "./avro-reader";
import type { AvroWriter } from "./avro-writer";
import type { DetailChunk } from "./detail-chunk";
import { StringInterner } from "./string-interner";
import { MIN_WIRE_INTEGER } from "./validation";

/**
 * Fingerprint (hex) of the chunk schema the hand-written {@link FastDetailChunkDecoder} reads:
 * schemas/snapshot-chunk.avsc. Other writers never take the fast path, and detail-chunk-fast.test.ts
 * fails when the schema file no longer has this fingerprint (update the decoder with the schema).
 */
export const FAST_DETAIL_CHUNK_FINGERPRINT = "0166c3a618e2ccdc";

/** The fields (Avro names and types) {@link FastDetailChunkDecoder} reads, in body order; compared with the schema file by the tests. */
export const FAST_DETAIL_CHUNK_FIELDS: readonly (readonly [string, unknown])[] = [
  ["source_topic", "string"],
  ["partition", "int"],
  ["generation", "long"],
  ["writer_epoch", "long"],
  ["chunk_index", "int"],
  ["detail_offset", "long"],
  ["strings", { array: "string" }],
  ["api", { array: "int" }],
  ["model", { array: "int" }],
  ["source", { array: "int" }],
  ["auth_index", { array: "int" }],
  ["epoch_seconds", { array: "long" }],
  ["nanos", { array: "int" }],
  ["offset_seconds", { array: "int" }],
  ["failed", "bytes"],
  ["latency_ms", { array: "long" }],
  ["input_tokens", { array: "long" }],
  ["output_tokens", { array: "long" }],
  ["reasoning_tokens", { array: "long" }],
  ["cached_tokens", { array: "long" }],
  ["total_tokens", { array: "long" }],
];

/**
 * The specialised decoder of chunks written with the current chunk schema: reads the int and long
 * arrays straight into the typed arrays of `DetailColumns` (no JS arrays, no copies). Returns
 * `undefined` for bytes it leaves to the avsc path (another writer, a bad header, anything the
 * {@link AvroReader} does not read itself, columns of different lengths), which then decides the
 * outcome exactly as before. The chunk is not yet checked: the caller runs the same check as on
 * the avsc path. Not reentrant (one reader).
 */
export class FastDetailChunkDecoder {
  private readonly reader = new AvroReader(new StringInterner());
  private readonly low: number;
  private readonly high: number;
  /** Whether every long of the last chunk {@link decode} returned is within −2^52..2^53 − 2 (they are all integers within avsc's ±(2^53 − 2)). */
  wireIntegers = false;

  /** `fingerprint`: the chunk codec's own schema fingerprint (must be {@link FAST_DETAIL_CHUNK_FINGERPRINT}). */
  constructor(fingerprint: bigint) {
    ({ low: this.low, high: this.high } = fingerprintWords(fingerprint));
  }

  /**
   * The unchecked chunk, or `undefined` when the avsc path must decode these bytes (see {@link wireIntegers}).
   */
  decode(bytes: Uint8Array): DetailChunk | undefined {
    if (!hasHeader(bytes, this.low, this.high)) {
      return undefined;
    }
    const r = this.reader;
    r.reset(asBuffer(bytes), HEADER_BYTES);
    try {
      const chunk = readBody(r);
      this.wireIntegers = r.lowestLong >= MIN_WIRE_INTEGER;
      return chunk;
    } catch (error) {
      if (error === FALL_BACK) return undefined;
      throw error;
    } finally {
      // Drop the reference to the caller's buffer (a chunk can be large).
      r.reset(EMPTY, 0);
    }
  }
}

const EMPTY = Buffer.alloc(0);

function readBody(r: AvroReader): DetailChunk {
  const sourceTopic = r.string(Infinity);
  const partition = r.int();
  const generation = r.long();
  const writerEpoch = r.long();
  const chunkIndex = r.int();
  const detailOffset = r.long();

  const stringCount = r.blockCount();
  const strings = new Array<string>(stringCount);
  for (let i = 0; i < stringCount; i++) strings[i] = r.string(Infinity);
  if (stringCount > 0) r.blockEnd();

  // The detail count is the length of the first column; every other column must have it too.
  const count = r.blockCount();
  const api = new Uint32Array(count);
  intColumn(r, api, count, true);
  const model = intColumn(r, new Uint32Array(count), count, false);
  const source = intColumn(r, new Uint32Array(count), count, false);
  const authIndex = intColumn(r, new Uint32Array(count), count, false);
  const epochSeconds = longColumn(r, count);
  const nanos = intColumn(r, new Int32Array(count), count, false);
  const offsetSeconds = intColumn(r, new Int32Array(count), count, false);
  if (r.length() !== count) throw FALL_BACK;
  const failed = new Uint8Array(count);
  failed.set(r.buf.subarray(r.pos, r.pos + count));
  r.pos += count;
  const latencyMs = longColumn(r, count);
  const inputTokens = longColumn(r, count);
  const outputTokens = longColumn(r, count);
  const reasoningTokens = longColumn(r, count);
  const cachedTokens = longColumn(r, count);
  const totalTokens = longColumn(r, count);
  if (r.pos !== r.end) throw FALL_BACK;

  // The shape and key order of the avsc path's chunk.
  const columns: DetailColumns = {
    count,
    strings,
    api,
    model,
    source,
    authIndex,
    epochSeconds,
    nanos,
    offsetSeconds,
    failed,
    latencyMs,
    inputTokens,
    outputTokens,
    reasoningTokens,
    cachedTokens,
    totalTokens,
  };
  return { sourceTopic, partition, generation, writerEpoch, chunkIndex, detailOffset, columns };
}

/** An int array of `count` items (its count already read when `counted`). */
function intColumn<T extends Uint32Array | Int32Array>(r: AvroReader, out: T, count: number, counted: boolean): T {
  if (!counted && r.blockCount() !== count) throw FALL_BACK;
  r.intColumn(out, count);
  if (count > 0) r.blockEnd();
  return out;
}

function longColumn(r: AvroReader, count: number): Float64Array {
  if (r.blockCount() !== count) throw FALL_BACK;
  const out = new Float64Array(count);
  r.longColumn(out, count);
  if (count > 0) r.blockEnd();
  return out;
}

/**
 * The single-object encoding of a checked chunk of the current schema, byte for byte what avsc
 * writes (only the first `count` rows of each column; `header`: marker and fingerprint).
 */
export function writeDetailChunk(w: AvroWriter, header: Uint8Array, chunk: DetailChunk): Buffer {
  const c = chunk.columns;
  const count = c.count;
  w.reset();
  w.reserve(header.length + 60);
  w.raw(header);
  w.string(chunk.sourceTopic);
  w.reserve(50);
  w.long(chunk.partition);
  w.long(chunk.generation);
  w.long(chunk.writerEpoch);
  w.long(chunk.chunkIndex);
  w.long(chunk.detailOffset);
  const strings = c.strings;
  if (strings.length > 0) {
    w.long(strings.length);
    for (const text of strings) w.string(text);
  }
  w.reserve(1);
  w.buf[w.pos++] = 0;
  w.column(c.api, count);
  w.column(c.model, count);
  w.column(c.source, count);
  w.column(c.authIndex, count);
  w.column(c.epochSeconds, count);
  w.column(c.nanos, count);
  w.column(c.offsetSeconds, count);
  w.reserve(count + 10);
  w.long(count);
  w.raw(c.failed.subarray(0, count));
  w.column(c.latencyMs, count);
  w.column(c.inputTokens, count);
  w.column(c.outputTokens, count);
  w.column(c.reasoningTokens, count);
  w.column(c.cachedTokens, count);
  w.column(c.totalTokens, count);
  return w.output();
}
