import { timestampFieldsProblem, type Timestamp, type UsageRecord, type UsageRecordExtra } from "@usage-ledger/statistics";
import { AvroReader, FALL_BACK, HEADER_BYTES, asBuffer, fingerprintWords, hasHeader } from "./avro-reader";
import { StringInterner } from "./string-interner";
import { MAX_STATUS_CODE, STRING_LIMITS, validateUsageRecord } from "./validation";

/**
 * Fingerprint (hex) of the usage record schema the hand-written {@link FastUsageRecordDecoder} reads:
 * schemas/usage-record.avsc, version 2. A codec of any other schema never takes the fast path, and
 * usage-record-fast.test.ts fails when the schema file no longer has this fingerprint (update the
 * decoder and its {@link FAST_USAGE_RECORD_FIELDS} with the schema).
 */
export const FAST_USAGE_RECORD_FINGERPRINT = "256dbfd031d40ff4";

/**
 * The fields (Avro names and types, nested records by their fields) {@link FastUsageRecordDecoder}
 * reads, in body order; compared with the schema file by the tests.
 */
export const FAST_USAGE_RECORD_FIELDS: readonly (readonly [string, unknown])[] = [
  [
    "timestamp",
    [
      "null",
      [
        ["epoch_seconds", "long"],
        ["nanos", "int"],
        ["offset_seconds", "int"],
      ],
    ],
  ],
  ["latency_ms", "long"],
  ["ttft_ms", ["null", "long"]],
  ["api_key", "string"],
  ["model", "string"],
  ["alias", ["null", "string"]],
  ["provider", "string"],
  ["executor_type", ["null", "string"]],
  ["endpoint", "string"],
  ["auth_type", "string"],
  ["auth_id", "string"],
  ["source", "string"],
  ["auth_index", "string"],
  ["request_id", ["null", "string"]],
  ["failed", "boolean"],
  ["status_code", "int"],
  [
    "tokens",
    [
      ["input", "long"],
      ["output", "long"],
      ["reasoning", "long"],
      ["cached", "long"],
      ["total", "long"],
      ["cache_read", ["null", "long"]],
      ["cache_creation", ["null", "long"]],
    ],
  ],
  ["generate", ["null", "boolean"]],
  ["reasoning_effort", ["null", "string"]],
  ["service_tier", ["null", "string"]],
  ["response_service_tier", ["null", "string"]],
  ["node_id", ["null", "string"]],
];

type MutableExtra = { -readonly [K in keyof UsageRecordExtra]: UsageRecordExtra[K] };
type MutableRecord = { -readonly [K in keyof UsageRecord]: UsageRecord[K] };

const L = STRING_LIMITS;
const EMPTY = Buffer.alloc(0);

/**
 * The specialised decoder of bodies written with the current usage record schema: reads the Avro
 * binary body straight into the final `UsageRecord` shape (no avsc record, no copy), interning the
 * short repeated strings. It returns `undefined` for any bytes it does not decode itself (another
 * writer fingerprint, a bad header, anything the {@link AvroReader} leaves to avsc): the caller then
 * runs the avsc path, which gives the value or today's exact error. Its records equal the avsc
 * path's key for key (same key order), and are validated by the same rules: when the cheap checks
 * below cannot prove a record valid, {@link validateUsageRecord} runs on it as on the avsc path.
 */
export class FastUsageRecordDecoder {
  private readonly reader: AvroReader;
  private readonly low: number;
  private readonly high: number;

  /** `fingerprint`: the codec's own schema fingerprint (must be {@link FAST_USAGE_RECORD_FINGERPRINT}). */
  constructor(fingerprint: bigint, interner: StringInterner = new StringInterner()) {
    ({ low: this.low, high: this.high } = fingerprintWords(fingerprint));
    this.reader = new AvroReader(interner);
  }

  /** The validated record, or `undefined` when the avsc path must decode these bytes. Throws validation `WireError`s. */
  decode(bytes: Uint8Array): UsageRecord | undefined {
    if (!hasHeader(bytes, this.low, this.high)) {
      return undefined;
    }
    const r = this.reader;
    r.reset(asBuffer(bytes), HEADER_BYTES);
    let record: UsageRecord;
    let plain: boolean;
    try {
      record = readBody(r);
      plain = r.plain;
    } catch (error) {
      if (error === FALL_BACK) return undefined;
      throw error;
    } finally {
      // Drop the reference to the caller's buffer (often a view of a whole fetched batch).
      r.reset(EMPTY, 0);
    }
    if (!plain) {
      // The cheap checks could not prove it valid: the full rules, with their exact codes and messages.
      validateUsageRecord(record);
    }
    return record;
  }
}

/** The record of the body; leaves `r.plain` true only when the cheap checks prove it valid (see {@link validateUsageRecord}). */
function readBody(r: AvroReader): UsageRecord {
  let timestamp: Timestamp | undefined;
  let timestampValid = true;
  if (r.present()) {
    const epochSeconds = r.long();
    const nanos = r.int();
    const offsetSeconds = r.int();
    timestamp = { epochSeconds, nanos, offsetSeconds };
    // Checked on the numbers read, not through the new object (the same check as timestampProblem).
    timestampValid = timestampFieldsProblem(epochSeconds, nanos, offsetSeconds) === undefined;
  }
  const latencyMs = r.long();
  const ttftMs = r.optionalLong();
  const apiKey = r.string(L.apiKey);
  const model = r.string(L.model);
  const alias = r.optionalString(L.alias);
  const provider = r.string(L.provider);
  const executorType = r.optionalString(L.executorType);
  const endpoint = r.string(L.endpoint);
  const authType = r.string(L.authType);
  const authId = r.string(L.authId);
  const source = r.string(L.source);
  const authIndex = r.string(L.authIndex);
  const requestId = r.present() ? r.uniqueString(L.requestId) : undefined;
  const failed = r.boolean();
  const statusCode = r.int();
  const inputTokens = r.long();
  const outputTokens = r.long();
  const reasoningTokens = r.long();
  const cachedTokens = r.long();
  const totalTokens = r.long();
  const cacheReadTokens = r.optionalLong();
  const cacheCreationTokens = r.optionalLong();
  const generate = r.present() ? r.boolean() : undefined;
  const reasoningEffort = r.optionalString(L.reasoningEffort);
  const serviceTier = r.optionalString(L.serviceTier);
  const responseServiceTier = r.optionalString(L.responseServiceTier);
  const nodeId = r.optionalString(L.nodeId);
  if (r.pos !== r.end) {
    throw FALL_BACK;
  }

  // The shape and key order of the avsc path's `fromAvro`.
  let extra: MutableExtra | undefined;
  if (ttftMs !== undefined) (extra ??= {}).ttftMs = ttftMs;
  if (alias !== undefined) (extra ??= {}).alias = alias;
  if (executorType !== undefined) (extra ??= {}).executorType = executorType;
  if (requestId !== undefined) (extra ??= {}).requestId = requestId;
  if (cacheReadTokens !== undefined) (extra ??= {}).cacheReadTokens = cacheReadTokens;
  if (cacheCreationTokens !== undefined) (extra ??= {}).cacheCreationTokens = cacheCreationTokens;
  if (generate !== undefined) (extra ??= {}).generate = generate;
  if (reasoningEffort !== undefined) (extra ??= {}).reasoningEffort = reasoningEffort;
  if (serviceTier !== undefined) (extra ??= {}).serviceTier = serviceTier;
  if (responseServiceTier !== undefined) (extra ??= {}).responseServiceTier = responseServiceTier;
  if (nodeId !== undefined) (extra ??= {}).nodeId = nodeId;
  const record: MutableRecord = {
    timestamp,
    apiKey,
    model,
    provider,
    endpoint,
    source,
    authIndex,
    authId,
    authType,
    failed,
    statusCode,
    latencyMs,
    tokens: { inputTokens, outputTokens, reasoningTokens, cachedTokens, totalTokens },
  };
  if (extra !== undefined) {
    record.extra = extra;
  }

  // What validateUsageRecord checks beyond what reading guarantees (numbers are integers within
  // avsc's long bound, strings decoded from UTF-8): ASCII strings within their limits (no lone
  // surrogate, byte length = length), non-negative counts and durations, the status code, the timestamp.
  r.plain =
    r.plain &&
    statusCode >= 0 &&
    statusCode <= MAX_STATUS_CODE &&
    latencyMs >= 0 &&
    inputTokens >= 0 &&
    outputTokens >= 0 &&
    reasoningTokens >= 0 &&
    cachedTokens >= 0 &&
    totalTokens >= 0 &&
    (ttftMs === undefined || ttftMs >= 0) &&
    (cacheReadTokens === undefined || cacheReadTokens >= 0) &&
    (cacheCreationTokens === undefined || cacheCreationTokens >= 0) &&
    timestampValid;
  return record;
}
