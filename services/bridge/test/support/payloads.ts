import { formatRfc3339Nano, type UsageRecord } from "@usage-ledger/statistics";

/**
 * Literal CLIProxyAPI usage-queue payloads of both eras (the seed-era and the current payload shapes
 * in packages/wire/README.md), each with the UsageRecord the documented mapping gives (packages/wire's
 * mapUsageQueuePayload; `extra.nodeId` is the bridge's node id, added by the test).
 */
export interface LiteralPayload {
  readonly name: string;
  readonly json: string;
  readonly expected: UsageRecord;
}

/** Seed era (v6.9.38 – v6.9.49): the fields of the seed's Record only. */
export const SEED_ERA: readonly LiteralPayload[] = [
  {
    name: "seed era, success, +08:00, nanoseconds",
    json: `{"timestamp":"2026-01-10T14:46:59.123456789+08:00","latency_ms":1834,"source":"alice@example.com","auth_index":"0","tokens":{"input_tokens":1200,"output_tokens":340,"reasoning_tokens":64,"cached_tokens":800,"total_tokens":1604},"failed":false,"provider":"gemini","model":"gemini-2.5-pro","endpoint":"POST /v1/chat/completions","auth_type":"oauth","api_key":"sk-team-a","request_id":"req-0001"}`,
    expected: {
      timestamp: { epochSeconds: 1_768_027_619, nanos: 123_456_789, offsetSeconds: 28_800 },
      apiKey: "sk-team-a",
      model: "gemini-2.5-pro",
      provider: "gemini",
      endpoint: "POST /v1/chat/completions",
      source: "alice@example.com",
      authIndex: "0",
      authId: "",
      authType: "oauth",
      failed: false,
      statusCode: 0,
      latencyMs: 1834,
      tokens: { inputTokens: 1200, outputTokens: 340, reasoningTokens: 64, cachedTokens: 800, totalTokens: 1604 },
      extra: { requestId: "req-0001" },
    },
  },
  {
    name: "seed era, failed, UTC, zero total (normalised later by the core, kept 0 on the wire)",
    json: `{"timestamp":"2026-01-10T23:59:59.5Z","latency_ms":0,"source":"proj-7","auth_index":"3","tokens":{"input_tokens":10,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"total_tokens":0},"failed":true,"provider":"claude","model":"claude-sonnet-4","endpoint":"POST /v1/messages","auth_type":"apikey","api_key":"","request_id":"req-0002"}`,
    expected: {
      timestamp: { epochSeconds: 1_768_089_599, nanos: 500_000_000, offsetSeconds: 0 },
      apiKey: "",
      model: "claude-sonnet-4",
      provider: "claude",
      endpoint: "POST /v1/messages",
      source: "proj-7",
      authIndex: "3",
      authId: "",
      authType: "apikey",
      failed: true,
      statusCode: 0,
      latencyMs: 0,
      tokens: { inputTokens: 10, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
      extra: { requestId: "req-0002" },
    },
  },
];

/** Current CLIProxyAPI (v6.10+): more fields, some unknown to the mapping (tolerated). */
export const CURRENT_ERA: readonly LiteralPayload[] = [
  {
    name: "current, success, -05:00 around midnight, cache reads present, unknown fields",
    json: `{"timestamp":"2026-03-01T23:30:00.000000001-05:00","latency_ms":912,"ttft_ms":230,"source":"bob@example.com","auth_index":"2","access_token_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","client_ip":"10.0.0.7","x_forwarded_for":"","user_agent":"codex-cli/0.41","tokens":{"input_tokens":100,"output_tokens":30,"reasoning_tokens":12,"cached_tokens":40,"cache_read_tokens":40,"cache_read_tokens_present":true,"cache_creation_tokens":5,"total_tokens":142},"failed":false,"fail":{"status_code":200,"body":""},"generate":true,"accounting_version":2,"token_breakdown":{"input":{"total":100,"uncached":60,"cache_read":40,"cache_write":5},"output":{"total":30,"non_reasoning":18,"reasoning":12},"unclassified":0,"quality":"exact"},"provider":"codex","executor_type":"codex","model":"gpt-5-codex","alias":"codex-latest","endpoint":"POST /v1/responses","auth_type":"oauth","api_key":"sk-team-b","request_id":"req-0003","reasoning_effort":"high","service_tier":"default","response_service_tier":"default","some_future_field":{"nested":[1,2,3]}}`,
    expected: {
      timestamp: { epochSeconds: 1_772_425_800, nanos: 1, offsetSeconds: -18_000 },
      apiKey: "sk-team-b",
      model: "gpt-5-codex",
      provider: "codex",
      endpoint: "POST /v1/responses",
      source: "bob@example.com",
      authIndex: "2",
      authId: "",
      authType: "oauth",
      failed: false,
      statusCode: 200,
      latencyMs: 912,
      tokens: { inputTokens: 100, outputTokens: 30, reasoningTokens: 12, cachedTokens: 40, totalTokens: 142 },
      extra: {
        ttftMs: 230,
        alias: "codex-latest",
        executorType: "codex",
        requestId: "req-0003",
        cacheReadTokens: 40,
        cacheCreationTokens: 5,
        generate: true,
        reasoningEffort: "high",
        serviceTier: "default",
        responseServiceTier: "default",
      },
    },
  },
  {
    name: "current, upstream error 429 (failed by status), warm-up call, no cache reads reported",
    json: `{"timestamp":"2026-03-02T08:00:00.25+09:30","latency_ms":45,"ttft_ms":0,"source":"carol@example.com","auth_index":"11","tokens":{"input_tokens":0,"output_tokens":0,"reasoning_tokens":0,"cached_tokens":0,"cache_read_tokens":0,"cache_read_tokens_present":false,"cache_creation_tokens":0,"total_tokens":0},"failed":false,"fail":{"status_code":429,"body":"{\\"error\\":\\"rate limited\\"}"},"generate":false,"provider":"openai","executor_type":"openai-compat","model":"","alias":"","endpoint":"POST /v1/chat/completions","auth_type":"apikey","api_key":"sk-team-a","request_id":"req-0004"}`,
    expected: {
      timestamp: { epochSeconds: 1_772_404_200, nanos: 250_000_000, offsetSeconds: 34_200 },
      apiKey: "sk-team-a",
      model: "",
      provider: "openai",
      endpoint: "POST /v1/chat/completions",
      source: "carol@example.com",
      authIndex: "11",
      authId: "",
      authType: "apikey",
      failed: false,
      statusCode: 429,
      latencyMs: 45,
      tokens: { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
      extra: {
        ttftMs: 0,
        alias: "",
        executorType: "openai-compat",
        requestId: "req-0004",
        cacheCreationTokens: 0,
        generate: false,
      },
    },
  },
];

/** Malformed payloads and the WIRE_* code each must reach the dead-letter topic with. */
export const MALFORMED: ReadonlyArray<{
  readonly name: string;
  readonly json: string;
  readonly reason: string;
  readonly httpSafe: boolean;
}> = [
  { name: "not JSON", json: `{"timestamp":"2026-01-10T14:46:59Z","tokens":`, reason: "WIRE_INVALID_JSON", httpSafe: false },
  {
    name: "tokens as a string",
    json: `{"timestamp":"2026-01-10T14:47:00Z","api_key":"sk-team-a","model":"m","tokens":{"input_tokens":"12"}}`,
    reason: "WIRE_INVALID_PAYLOAD",
    httpSafe: true,
  },
  {
    name: "timestamp not RFC 3339",
    json: `{"timestamp":"10/01/2026 14:47","api_key":"sk-team-a","model":"m","tokens":{"input_tokens":1}}`,
    reason: "WIRE_INVALID_TIMESTAMP",
    httpSafe: true,
  },
  {
    name: "negative tokens",
    json: `{"timestamp":"2026-01-10T14:47:01Z","api_key":"sk-team-a","model":"m","tokens":{"input_tokens":-5,"output_tokens":1}}`,
    reason: "WIRE_NEGATIVE_TOKENS",
    httpSafe: true,
  },
  { name: "an array, not an object", json: `[1,2,3]`, reason: "WIRE_INVALID_PAYLOAD", httpSafe: true },
];

/**
 * `count` distinct current-era payloads (one API key per `count % keys`), with their expected
 * records: the same template, a timestamp 1 ms apart plus a per-record nanosecond tail, so no two
 * share a dedup key.
 */
export function generatedPayloads(count: number, options: { prefix: string; keys?: number; startSecond?: number }): LiteralPayload[] {
  const keys = options.keys ?? 5;
  const start = options.startSecond ?? 1_772_409_600; // 2026-03-02T00:00:00Z
  const payloads: LiteralPayload[] = [];
  for (let index = 0; index < count; index += 1) {
    const epochSeconds = start + Math.floor(index / 1000);
    const nanos = (index % 1000) * 1_000_000 + 7;
    const time = formatRfc3339Nano({ epochSeconds, nanos, offsetSeconds: 0 });
    const apiKey = `${options.prefix}-key-${index % keys}`;
    const input = 100 + (index % 37);
    const output = 10 + (index % 11);
    const failed = index % 13 === 0;
    payloads.push({
      name: `generated ${index}`,
      json: `{"timestamp":"${time}","latency_ms":${index % 500},"source":"acct-${index % 3}@example.com","auth_index":"${index % 4}","tokens":{"input_tokens":${input},"output_tokens":${output},"reasoning_tokens":0,"cached_tokens":0,"total_tokens":0},"failed":${failed},"provider":"codex","model":"gpt-5","endpoint":"POST /v1/responses","auth_type":"oauth","api_key":"${apiKey}","request_id":"${options.prefix}-${index}"}`,
      expected: {
        timestamp: { epochSeconds, nanos, offsetSeconds: 0 },
        apiKey,
        model: "gpt-5",
        provider: "codex",
        endpoint: "POST /v1/responses",
        source: `acct-${index % 3}@example.com`,
        authIndex: String(index % 4),
        authId: "",
        authType: "oauth",
        failed,
        statusCode: 0,
        latencyMs: index % 500,
        tokens: { inputTokens: input, outputTokens: output, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0 },
        extra: { requestId: `${options.prefix}-${index}` },
      },
    });
  }
  return payloads;
}

/** The expected record as the bridge publishes it from node `nodeId`. */
export function fromNode(record: UsageRecord, nodeId: string): UsageRecord {
  return { ...record, extra: { ...record.extra, nodeId } };
}
