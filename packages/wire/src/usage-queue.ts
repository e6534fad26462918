import { parseRfc3339, type Timestamp, type UsageRecord, type UsageRecordExtra } from "@usage-ledger/statistics";
import { WireError } from "./errors";
import { checkWireInteger, validateUsageRecord } from "./validation";

/**
 * CLIProxyAPI's usage queue: the JSON of one queue message, seed era (v6.9.38 – v6.9.49) or current
 * (v6.10+), mapped to a {@link UsageRecord}. The mapping table in packages/wire/README.md is the
 * contract as this repository reads it.
 */

/** What one usage-queue message is: a usage record, or one of the two control payloads of `SUBSCRIBE usage`. */
export type UsageQueueMessageKind = "usage" | "support-refresh" | "refresh";

/** A parsed usage-queue message. */
export type UsageQueueMessage =
  { readonly kind: "usage"; readonly record: UsageRecord } | { readonly kind: "support-refresh" } | { readonly kind: "refresh" };

/** Options of {@link mapUsageQueuePayload}. */
export interface UsageQueueMappingOptions {
  /** Id of the node (the bridge) publishing the record: becomes `extra.nodeId`. */
  readonly nodeId?: string;
}

type Json = Record<string, unknown>;
type MutableExtra = { -readonly [K in keyof UsageRecordExtra]: UsageRecordExtra[K] };

/**
 * Tells a control payload from a usage record: `{"support_refresh":true}` (first message of a
 * subscription) → `"support-refresh"`, `{"refresh":true}` → `"refresh"`; an object with either flag
 * true and neither `timestamp` nor `tokens` is control; everything else is `"usage"` (and is then
 * mapped, or rejected, by {@link mapUsageQueuePayload}).
 */
export function classifyUsageQueueMessage(json: unknown): UsageQueueMessageKind {
  if (!isObject(json) || "timestamp" in json || "tokens" in json) {
    return "usage";
  }
  if (json.support_refresh === true) {
    return "support-refresh";
  }
  return json.refresh === true ? "refresh" : "usage";
}

/**
 * Maps the JSON of one usage-queue record (parsed; either era) to a validated {@link UsageRecord}.
 * Unknown fields are ignored, missing or null fields take their defaults (README.md, "Usage-queue
 * mapping"). Throws a `WireError`: `WIRE_INVALID_PAYLOAD` (not an object, a field of the wrong JSON
 * type), `WIRE_INVALID_TIMESTAMP` (not RFC 3339), `WIRE_UNSAFE_INTEGER` (a count that is not an
 * integer in −2^52..2^53 − 2) or any code of `validateUsageRecord` (e.g. `WIRE_NEGATIVE_TOKENS`).
 */
export function mapUsageQueuePayload(json: unknown, options: UsageQueueMappingOptions = {}): UsageRecord {
  if (!isObject(json)) {
    throw payload("", `a usage record must be a JSON object, got ${describe(json)}`);
  }
  const tokens = optionalObject(json.tokens, "tokens") ?? {};
  const fail = optionalObject(json.fail, "fail");
  const extra: MutableExtra = {};
  setIfPresent(extra, "ttftMs", optionalInteger(json.ttft_ms, "ttft_ms"));
  setIfPresent(extra, "alias", optionalString(json.alias, "alias"));
  setIfPresent(extra, "executorType", optionalString(json.executor_type, "executor_type"));
  setIfPresent(extra, "requestId", optionalString(json.request_id, "request_id"));
  // cache_read_tokens_present (current payloads) says whether the provider reported cache reads at all.
  const cacheReadPresent = optionalBoolean(tokens.cache_read_tokens_present, "tokens.cache_read_tokens_present");
  const cacheRead = optionalInteger(tokens.cache_read_tokens, "tokens.cache_read_tokens");
  if (cacheReadPresent === true) {
    extra.cacheReadTokens = cacheRead ?? 0;
  } else if (cacheReadPresent === undefined) {
    setIfPresent(extra, "cacheReadTokens", cacheRead);
  }
  setIfPresent(extra, "cacheCreationTokens", optionalInteger(tokens.cache_creation_tokens, "tokens.cache_creation_tokens"));
  setIfPresent(extra, "generate", optionalBoolean(json.generate, "generate"));
  setIfPresent(extra, "reasoningEffort", optionalString(json.reasoning_effort, "reasoning_effort"));
  setIfPresent(extra, "serviceTier", optionalString(json.service_tier, "service_tier"));
  setIfPresent(extra, "responseServiceTier", optionalString(json.response_service_tier, "response_service_tier"));
  setIfPresent(extra, "nodeId", options.nodeId);
  const base: UsageRecord = {
    timestamp: timestamp(json.timestamp),
    apiKey: optionalString(json.api_key, "api_key") ?? "",
    model: optionalString(json.model, "model") ?? "",
    provider: optionalString(json.provider, "provider") ?? "",
    endpoint: optionalString(json.endpoint, "endpoint") ?? "",
    source: optionalString(json.source, "source") ?? "",
    authIndex: authIndex(json.auth_index),
    authId: optionalString(json.auth_id, "auth_id") ?? "",
    authType: optionalString(json.auth_type, "auth_type") ?? "",
    failed: optionalBoolean(json.failed, "failed") ?? false,
    statusCode: (fail === undefined ? undefined : optionalInteger(fail.status_code, "fail.status_code")) ?? 0,
    latencyMs: optionalInteger(json.latency_ms, "latency_ms") ?? 0,
    tokens: {
      inputTokens: optionalInteger(tokens.input_tokens, "tokens.input_tokens") ?? 0,
      outputTokens: optionalInteger(tokens.output_tokens, "tokens.output_tokens") ?? 0,
      reasoningTokens: optionalInteger(tokens.reasoning_tokens, "tokens.reasoning_tokens") ?? 0,
      cachedTokens: optionalInteger(tokens.cached_tokens, "tokens.cached_tokens") ?? 0,
      totalTokens: optionalInteger(tokens.total_tokens, "tokens.total_tokens") ?? 0,
    },
  };
  const record = Object.keys(extra).length === 0 ? base : { ...base, extra };
  validateUsageRecord(record);
  return record;
}

/**
 * Parses the text of one usage-queue message (a RESP bulk string, a pub/sub message, or one element
 * of the HTTP queue's array re-serialised) and classifies and maps it. Throws `WIRE_INVALID_JSON`
 * for text that is not JSON, else as {@link mapUsageQueuePayload}.
 */
export function parseUsageQueueMessage(text: string | Uint8Array, options: UsageQueueMappingOptions = {}): UsageQueueMessage {
  const source = typeof text === "string" ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (error) {
    throw new WireError("WIRE_INVALID_JSON", `usage-queue message is not JSON: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const kind = classifyUsageQueueMessage(json);
  switch (kind) {
    case "usage":
      return { kind, record: mapUsageQueuePayload(json, options) };
    case "support-refresh":
    case "refresh":
      return { kind };
  }
}

function timestamp(value: unknown): Timestamp | undefined {
  if (value === undefined || value === null || value === "") {
    return undefined;
  }
  if (typeof value !== "string") {
    throw payload("timestamp", `must be an RFC 3339 string, got ${describe(value)}`);
  }
  try {
    return parseRfc3339(value);
  } catch (error) {
    throw new WireError("WIRE_INVALID_TIMESTAMP", `timestamp: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** `auth_index` is text; a JSON integer (older builds) is taken as its decimal text. */
function authIndex(value: unknown): string {
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    return String(value);
  }
  return optionalString(value, "auth_index") ?? "";
}

function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== "string") {
    throw payload(path, `must be a string, got ${describe(value)}`);
  }
  return value;
}

function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== "boolean") {
    throw payload(path, `must be a boolean, got ${describe(value)}`);
  }
  return value;
}

function optionalInteger(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== "number") {
    throw payload(path, `must be a number, got ${describe(value)}`);
  }
  return checkWireInteger(value, path);
}

function optionalObject(value: unknown, path: string): Json | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!isObject(value)) {
    throw payload(path, `must be an object, got ${describe(value)}`);
  }
  return value;
}

function setIfPresent<K extends keyof MutableExtra>(extra: MutableExtra, key: K, value: MutableExtra[K] | undefined): void {
  if (value !== undefined) {
    extra[key] = value;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case "number":
    case "boolean":
      return `${typeof value} ${String(value)}`;
    default:
      return typeof value;
  }
}

function payload(path: string, message: string): WireError {
  return new WireError("WIRE_INVALID_PAYLOAD", path === "" ? message : `${path}: ${message}`);
}
