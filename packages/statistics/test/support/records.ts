import { parseRfc3339 } from "../../src/rfc3339";
import type { Clock, Timestamp } from "../../src/timestamp";
import type { TokenCounts, UsageRecord } from "../../src/usage-record";

/** Test input: a record with every field defaulted ("" / 0 / false), timestamp given as RFC 3339 text. */
export interface RecordInput extends Partial<Omit<UsageRecord, "timestamp" | "tokens">> {
  readonly timestamp?: string | Timestamp;
  readonly tokens?: Partial<TokenCounts>;
}

/** A full {@link UsageRecord} from a partial one (test helper). */
export function usageRecord(input: RecordInput = {}): UsageRecord {
  const { timestamp, tokens, ...rest } = input;
  return {
    apiKey: "",
    model: "",
    provider: "",
    endpoint: "",
    source: "",
    authIndex: "",
    authId: "",
    authType: "",
    failed: false,
    statusCode: 0,
    latencyMs: 0,
    ...rest,
    timestamp: typeof timestamp === "string" ? parseRfc3339(timestamp) : timestamp,
    tokens: { inputTokens: 0, outputTokens: 0, reasoningTokens: 0, cachedTokens: 0, totalTokens: 0, ...tokens },
  };
}

/** A deterministic clock: 2026-01-01T00:00:00.000000001Z, then 1 ns later on each call (UTC). */
export function counterClock(epochSeconds = 1_767_225_600): Clock {
  let nanos = 0;
  return () => ({ epochSeconds, nanos: ++nanos, offsetSeconds: 0 });
}
