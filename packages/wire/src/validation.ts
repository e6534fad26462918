import { timestampProblem, type Timestamp, type UsageRecord } from "@usage-ledger/statistics";
import { WireError } from "./errors";

/**
 * The largest Avro long on the wire, 9,007,199,254,740,990 (2^53 − 2): avsc refuses to write or read
 * beyond it.
 */
export const MAX_WIRE_INTEGER = 9_007_199_254_740_990;

/**
 * The smallest Avro long on the wire, −4,503,599,627,370,496 (−2^52). avsc's own bound is
 * −(2^53 − 2), but it zigzag-encodes in float arithmetic: below −2^52 the odd zigzag value is not
 * exact, and −(2^52 + 1) would come back as +(2^52 + 1).
 */
export const MIN_WIRE_INTEGER = -4_503_599_627_370_496;

/** The wire integer range as text, for messages. */
export const WIRE_INTEGER_RANGE = `${String(MIN_WIRE_INTEGER)}..${String(MAX_WIRE_INTEGER)}`;

/** Largest Avro int. */
export const MAX_AVRO_INT = 2_147_483_647;

/** Largest HTTP status code (0 = unknown). */
export const MAX_STATUS_CODE = 999;

/** Size limit in UTF-8 bytes of every string field of a usage record (see README.md). */
export const STRING_LIMITS = {
  apiKey: 4096,
  model: 4096,
  provider: 4096,
  endpoint: 8192,
  authType: 4096,
  authId: 4096,
  source: 4096,
  authIndex: 4096,
  alias: 4096,
  executorType: 4096,
  requestId: 4096,
  reasoningEffort: 4096,
  serviceTier: 4096,
  responseServiceTier: 4096,
  nodeId: 4096,
} as const;

type Fields = Record<string, unknown>;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a usage record against the wire's rules; throws a {@link WireError} on the first breach:
 * `WIRE_INVALID_FIELD` (a field of the wrong type, a lone UTF-16 surrogate, a status code outside
 * 0..999, a negative latency), `WIRE_UNSAFE_INTEGER` (a count or latency that is not an integer
 * in {@link MIN_WIRE_INTEGER}..{@link MAX_WIRE_INTEGER}), `WIRE_NEGATIVE_TOKENS`, `WIRE_TIMESTAMP_OUT_OF_RANGE` (see
 * {@link validateTimestamp}) or `WIRE_STRING_TOO_LONG` (over {@link STRING_LIMITS}). Run by the encoder and by the decoder.
 */
export function validateUsageRecord(record: UsageRecord): void {
  const fields = object(record, "record");
  if (fields.timestamp !== undefined) {
    validateTimestamp(fields.timestamp as Timestamp, "timestamp");
  }
  checkString(fields.apiKey, "apiKey", STRING_LIMITS.apiKey);
  checkString(fields.model, "model", STRING_LIMITS.model);
  checkString(fields.provider, "provider", STRING_LIMITS.provider);
  checkString(fields.endpoint, "endpoint", STRING_LIMITS.endpoint);
  checkString(fields.source, "source", STRING_LIMITS.source);
  checkString(fields.authIndex, "authIndex", STRING_LIMITS.authIndex);
  checkString(fields.authId, "authId", STRING_LIMITS.authId);
  checkString(fields.authType, "authType", STRING_LIMITS.authType);
  if (typeof fields.failed !== "boolean") {
    throw invalidField("failed", "must be a boolean");
  }
  const status = fields.statusCode;
  if (!isCount(status, MAX_STATUS_CODE)) {
    throw invalidField("statusCode", `must be an integer in 0..${String(MAX_STATUS_CODE)}, got ${String(status)}`);
  }
  checkDuration(fields.latencyMs, "latencyMs");
  const tokens = object(fields.tokens, "tokens");
  checkTokens(tokens.inputTokens, "tokens.inputTokens");
  checkTokens(tokens.outputTokens, "tokens.outputTokens");
  checkTokens(tokens.reasoningTokens, "tokens.reasoningTokens");
  checkTokens(tokens.cachedTokens, "tokens.cachedTokens");
  checkTokens(tokens.totalTokens, "tokens.totalTokens");
  if (fields.extra !== undefined) {
    checkExtra(object(fields.extra, "extra"));
  }
}

function checkExtra(extra: Fields): void {
  if (extra.ttftMs !== undefined) {
    checkDuration(extra.ttftMs, "extra.ttftMs");
  }
  if (extra.cacheReadTokens !== undefined) {
    checkTokens(extra.cacheReadTokens, "extra.cacheReadTokens");
  }
  if (extra.cacheCreationTokens !== undefined) {
    checkTokens(extra.cacheCreationTokens, "extra.cacheCreationTokens");
  }
  if (extra.generate !== undefined && typeof extra.generate !== "boolean") {
    throw invalidField("extra.generate", "must be a boolean");
  }
  optionalString(extra.alias, "extra.alias", STRING_LIMITS.alias);
  optionalString(extra.executorType, "extra.executorType", STRING_LIMITS.executorType);
  optionalString(extra.requestId, "extra.requestId", STRING_LIMITS.requestId);
  optionalString(extra.reasoningEffort, "extra.reasoningEffort", STRING_LIMITS.reasoningEffort);
  optionalString(extra.serviceTier, "extra.serviceTier", STRING_LIMITS.serviceTier);
  optionalString(extra.responseServiceTier, "extra.responseServiceTier", STRING_LIMITS.responseServiceTier);
  optionalString(extra.nodeId, "extra.nodeId", STRING_LIMITS.nodeId);
}

/**
 * Checks a timestamp by the statistics core's rule (`timestampProblem`), so that every timestamp the
 * wire accepts can be stored: a safe-integer `epochSeconds`, integer `nanos` in 0..999,999,999, an
 * offset of whole minutes strictly within ±24 h, a year in 0000..9999 in its own offset. Throws
 * `WIRE_INVALID_FIELD` when it is not an object of three numbers, `WIRE_TIMESTAMP_OUT_OF_RANGE` for the rest.
 */
export function validateTimestamp(timestamp: Timestamp, name = "timestamp"): void {
  const { epochSeconds, nanos, offsetSeconds } = object(timestamp, name) as Partial<Record<keyof Timestamp, unknown>>;
  if (typeof epochSeconds !== "number" || typeof nanos !== "number" || typeof offsetSeconds !== "number") {
    throw invalidField(name, "epochSeconds, nanos and offsetSeconds must be numbers");
  }
  const problem = timestampProblem(timestamp);
  if (problem !== undefined) {
    throw new WireError("WIRE_TIMESTAMP_OUT_OF_RANGE", `${name}: ${problem}`);
  }
}

/**
 * Checks a wire integer (an Avro long): `WIRE_INVALID_FIELD` if not a number, `WIRE_UNSAFE_INTEGER`
 * if not an integer in {@link MIN_WIRE_INTEGER}..{@link MAX_WIRE_INTEGER}.
 */
export function checkWireInteger(value: unknown, name: string): number {
  if (typeof value !== "number") {
    throw invalidField(name, `must be a number, got ${typeof value}`);
  }
  if (!isWireInteger(value)) {
    throw new WireError("WIRE_UNSAFE_INTEGER", `${name}: ${String(value)} is not an integer in ${WIRE_INTEGER_RANGE}`);
  }
  return value;
}

/** Whether a number is an integer an Avro long carries exactly through avsc (see {@link MIN_WIRE_INTEGER}). */
export function isWireInteger(value: number): boolean {
  return Number.isInteger(value) && value >= MIN_WIRE_INTEGER && value <= MAX_WIRE_INTEGER;
}

/** Whether a value is an integer in 0..max (counters, partitions, generations, offsets). */
export function isCount(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max;
}

function checkTokens(value: unknown, name: string): void {
  if (checkWireInteger(value, name) < 0) {
    throw new WireError("WIRE_NEGATIVE_TOKENS", `${name}: negative token count ${String(value)}`);
  }
}

function checkDuration(value: unknown, name: string): void {
  if (checkWireInteger(value, name) < 0) {
    throw invalidField(name, `negative duration ${String(value)}`);
  }
}

function checkString(value: unknown, name: string, limit: number): void {
  if (typeof value !== "string") {
    throw invalidField(name, `must be a string, got ${typeof value}`);
  }
  // A UTF-16 code unit takes at most 3 UTF-8 bytes: short strings need no byte count.
  if (value.length * 3 > limit && Buffer.byteLength(value, "utf8") > limit) {
    throw new WireError(
      "WIRE_STRING_TOO_LONG",
      `${name}: ${String(Buffer.byteLength(value, "utf8"))} UTF-8 bytes, the limit is ${String(limit)}`,
    );
  }
  if (LONE_SURROGATE.test(value)) {
    throw invalidField(name, "contains a lone UTF-16 surrogate (not encodable as UTF-8)");
  }
}

function optionalString(value: unknown, name: string, limit: number): void {
  if (value !== undefined) {
    checkString(value, name, limit);
  }
}

function object(value: unknown, name: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidField(name, "must be an object");
  }
  return value as Fields;
}

function invalidField(name: string, message: string): WireError {
  return new WireError("WIRE_INVALID_FIELD", `${name}: ${message}`);
}
