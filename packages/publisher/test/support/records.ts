import type { UsageRecord } from "@usage-ledger/statistics";

/** A valid usage record for tests; `overrides` replace fields. No timestamp unless given: the publisher stamps it. */
export function usageRecord(overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    timestamp: undefined,
    apiKey: "sk-test",
    model: "gpt-test",
    provider: "openai",
    endpoint: "POST /v1/chat/completions",
    source: "user@example.com",
    authIndex: "0",
    authId: "auth-1",
    authType: "oauth",
    failed: false,
    statusCode: 200,
    latencyMs: 120,
    tokens: { inputTokens: 100, outputTokens: 30, reasoningTokens: 12, cachedTokens: 0, totalTokens: 142 },
    ...overrides,
  };
}

/** `count` records spread over `keys` API keys (`key-0`, `key-1`, ...), with distinct latencies. */
export function usageRecords(count: number, keys: number, prefix = "key"): UsageRecord[] {
  return Array.from({ length: count }, (_, index) => usageRecord({ apiKey: `${prefix}-${String(index % keys)}`, latencyMs: index }));
}
