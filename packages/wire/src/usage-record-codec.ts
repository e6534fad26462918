import type { UsageRecord, UsageRecordExtra } from "@usage-ledger/statistics";
import { fromAvroTimestamp, toAvroTimestamp, type AvroTimestamp } from "./avro-timestamp";
import { SingleObjectCodec, type SchemaRegistry, type SchemaVersion } from "./single-object-codec";
import { usageRecordSchemaJson } from "./schema-files";
import { FAST_USAGE_RECORD_FINGERPRINT, FastUsageRecordDecoder } from "./usage-record-fast";
import { validateUsageRecord } from "./validation";

/** Encoder and decoder of usage records (Avro single-object encoding of schemas/usage-record.avsc). */
export interface UsageRecordCodec {
  /** Validates ({@link validateUsageRecord}) and encodes a record. Throws a `WireError`. */
  encode(record: UsageRecord): Buffer;
  /** Decodes and validates a record written with any registered schema version. Throws a `WireError`. */
  decode(bytes: Uint8Array): UsageRecord;
  /** The writer schema versions the decoder accepts. */
  readonly registry: SchemaRegistry;
  /** The codec's own schema version (writer of `encode`, reader of `decode`). */
  readonly schema: SchemaVersion;
}

/** Options of {@link createUsageRecordCodec}. */
export interface UsageRecordCodecOptions {
  /** A version of the usage record schema (parsed JSON); default: schemas/usage-record.avsc. */
  readonly schema?: unknown;
  /** Further writer schema versions to accept when decoding. */
  readonly writerSchemas?: readonly unknown[];
  /**
   * Whether bytes of the current schema (schemas/usage-record.avsc) skip avsc and take the
   * specialised decoder (same records, same errors); default true. False: always avsc (tests, benchmarks).
   */
  readonly fastPath?: boolean;
}

/** The usage record as avsc reads and writes it (snake_case fields of the schema; absent in older readers). */
interface AvroUsageRecord {
  timestamp: AvroTimestamp | null;
  latency_ms: number;
  ttft_ms?: number | null;
  api_key: string;
  model: string;
  alias?: string | null;
  provider: string;
  executor_type?: string | null;
  endpoint: string;
  auth_type: string;
  auth_id: string;
  source: string;
  auth_index: string;
  request_id?: string | null;
  failed: boolean;
  status_code: number;
  tokens: {
    input: number;
    output: number;
    reasoning: number;
    cached: number;
    total: number;
    cache_read?: number | null;
    cache_creation?: number | null;
  };
  generate?: boolean | null;
  reasoning_effort?: string | null;
  service_tier?: string | null;
  response_service_tier?: string | null;
  node_id?: string | null;
}

type MutableExtra = { -readonly [K in keyof UsageRecordExtra]: UsageRecordExtra[K] };

/**
 * A usage record codec. The default one (schemas/usage-record.avsc) backs {@link encodeUsageRecord}
 * and {@link decodeUsageRecord}; others serve tests and readers of another schema version.
 */
export function createUsageRecordCodec(options: UsageRecordCodecOptions = {}): UsageRecordCodec {
  const codec = new SingleObjectCodec({ schema: options.schema ?? usageRecordSchemaJson, writerSchemas: options.writerSchemas ?? [] });
  // Bytes of the schema the hand-written fast decoder reads skip avsc; everything else (older writers,
  // and any bytes the fast decoder leaves to avsc, errors included) takes the avsc path.
  const fast =
    options.fastPath !== false && codec.schema.fingerprintHex === FAST_USAGE_RECORD_FINGERPRINT
      ? new FastUsageRecordDecoder(codec.schema.fingerprint)
      : undefined;
  return {
    encode(record) {
      validateUsageRecord(record);
      return codec.encode(toAvro(record));
    },
    decode(bytes) {
      if (fast !== undefined) {
        const decoded = fast.decode(bytes);
        if (decoded !== undefined) {
          return decoded;
        }
      }
      const record = fromAvro(codec.decode(bytes) as AvroUsageRecord);
      validateUsageRecord(record);
      return record;
    },
    registry: codec,
    schema: codec.schema,
  };
}

const defaultCodec = createUsageRecordCodec();

/**
 * The writer schema versions {@link decodeUsageRecord} accepts: the current schema, plus any older
 * version a producer still writes (`usageRecordRegistry.register(schemaJson)`).
 */
export const usageRecordRegistry: SchemaRegistry = defaultCodec.registry;

/** The current usage record schema version (schemas/usage-record.avsc). */
export const usageRecordSchema: SchemaVersion = defaultCodec.schema;

/**
 * Encodes a usage record as an Avro single-object encoding of schemas/usage-record.avsc after
 * {@link validateUsageRecord}. Throws a `WireError` (never retryable) for an invalid record.
 */
export function encodeUsageRecord(record: UsageRecord): Buffer {
  return defaultCodec.encode(record);
}

/**
 * Decodes a usage record written with the current schema or any version in
 * {@link usageRecordRegistry}, and validates it. Throws a `WireError` (never retryable):
 * `WIRE_BAD_MARKER`, `WIRE_TRUNCATED`, `WIRE_UNKNOWN_FINGERPRINT`, `WIRE_MALFORMED_BODY`,
 * `WIRE_TRAILING_BYTES` or any code of {@link validateUsageRecord}.
 */
export function decodeUsageRecord(bytes: Uint8Array): UsageRecord {
  return defaultCodec.decode(bytes);
}

function toAvro(record: UsageRecord): AvroUsageRecord {
  const { timestamp, tokens } = record;
  const extra: UsageRecordExtra = record.extra ?? {};
  return {
    timestamp: timestamp === undefined ? null : toAvroTimestamp(timestamp),
    latency_ms: record.latencyMs,
    ttft_ms: extra.ttftMs ?? null,
    api_key: record.apiKey,
    model: record.model,
    alias: extra.alias ?? null,
    provider: record.provider,
    executor_type: extra.executorType ?? null,
    endpoint: record.endpoint,
    auth_type: record.authType,
    auth_id: record.authId,
    source: record.source,
    auth_index: record.authIndex,
    request_id: extra.requestId ?? null,
    failed: record.failed,
    status_code: record.statusCode,
    tokens: {
      input: tokens.inputTokens,
      output: tokens.outputTokens,
      reasoning: tokens.reasoningTokens,
      cached: tokens.cachedTokens,
      total: tokens.totalTokens,
      cache_read: extra.cacheReadTokens ?? null,
      cache_creation: extra.cacheCreationTokens ?? null,
    },
    generate: extra.generate ?? null,
    reasoning_effort: extra.reasoningEffort ?? null,
    service_tier: extra.serviceTier ?? null,
    response_service_tier: extra.responseServiceTier ?? null,
    node_id: extra.nodeId ?? null,
  };
}

function fromAvro(value: AvroUsageRecord): UsageRecord {
  const { timestamp: ts, tokens } = value;
  let extra: MutableExtra | undefined;
  // Fields an older reader schema lacks are undefined; null means "not given": both stay absent.
  if (value.ttft_ms != null) (extra ??= {}).ttftMs = value.ttft_ms;
  if (value.alias != null) (extra ??= {}).alias = value.alias;
  if (value.executor_type != null) (extra ??= {}).executorType = value.executor_type;
  if (value.request_id != null) (extra ??= {}).requestId = value.request_id;
  if (tokens.cache_read != null) (extra ??= {}).cacheReadTokens = tokens.cache_read;
  if (tokens.cache_creation != null) (extra ??= {}).cacheCreationTokens = tokens.cache_creation;
  if (value.generate != null) (extra ??= {}).generate = value.generate;
  if (value.reasoning_effort != null) (extra ??= {}).reasoningEffort = value.reasoning_effort;
  if (value.service_tier != null) (extra ??= {}).serviceTier = value.service_tier;
  if (value.response_service_tier != null) (extra ??= {}).responseServiceTier = value.response_service_tier;
  if (value.node_id != null) (extra ??= {}).nodeId = value.node_id;
  const record: { -readonly [K in keyof UsageRecord]: UsageRecord[K] } = {
    timestamp: ts === null ? undefined : fromAvroTimestamp(ts),
    apiKey: value.api_key,
    model: value.model,
    provider: value.provider,
    endpoint: value.endpoint,
    source: value.source,
    authIndex: value.auth_index,
    authId: value.auth_id,
    authType: value.auth_type,
    failed: value.failed,
    statusCode: value.status_code,
    latencyMs: value.latency_ms,
    tokens: {
      inputTokens: tokens.input,
      outputTokens: tokens.output,
      reasoningTokens: tokens.reasoning,
      cachedTokens: tokens.cached,
      totalTokens: tokens.total,
    },
  };
  if (extra !== undefined) {
    record.extra = extra;
  }
  return record;
}
