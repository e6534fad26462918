import type { Timestamp } from "./timestamp";

/**
 * Token counts of one upstream request (the seed's `Detail` / `TokenStats`).
 * Every count is a safe integer; negative values are kept as given (the seed keeps them raw).
 */
export interface TokenCounts {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly reasoningTokens: number;
  readonly cachedTokens: number;
  /** 0 means "not reported": normalised by the seed's rule (see `normaliseTokens`). */
  readonly totalTokens: number;
}

/**
 * One usage record: one upstream request made by a proxy node.
 *
 * The seed's `coreusage.Record` fields, plus `latencyMs` and the optional fields of current
 * CLIProxyAPI usage-queue payloads (mapping table in packages/wire/README.md). Empty string means
 * "not given" for every string field, as in Go.
 */
export interface UsageRecord {
  /** When the request was made; keeps nanoseconds and the node's UTC offset. `undefined` = not given (the seed then uses "now"). */
  readonly timestamp: Timestamp | undefined;
  /** The client's API key to the proxy: the statistics key. */
  readonly apiKey: string;
  readonly model: string;
  readonly provider: string;
  /** The HTTP route as `METHOD /path` (the seed reads it from gin); statistics key when `apiKey` is empty. */
  readonly endpoint: string;
  /** The upstream credential (an e-mail, a project id, a masked key). */
  readonly source: string;
  readonly authIndex: string;
  readonly authId: string;
  readonly authType: string;
  /** The record's own failure flag. */
  readonly failed: boolean;
  /** HTTP status of the response; 0 = unknown (counts as success). Failed when >= 400. */
  readonly statusCode: number;
  /** Request latency in milliseconds; 0 = not measured. Not part of the dedup key. */
  readonly latencyMs: number;
  readonly tokens: TokenCounts;
  /** Optional facts of current CLIProxyAPI payloads; carried on the wire, not part of the statistics. */
  readonly extra?: UsageRecordExtra;
}

/** Optional facts of current CLIProxyAPI usage payloads and of the publishing node. */
export interface UsageRecordExtra {
  readonly ttftMs?: number;
  readonly alias?: string;
  readonly executorType?: string;
  readonly requestId?: string;
  readonly cacheReadTokens?: number;
  readonly cacheCreationTokens?: number;
  /** false only for non-generating calls (warm-ups). */
  readonly generate?: boolean;
  readonly reasoningEffort?: string;
  readonly serviceTier?: string;
  readonly responseServiceTier?: string;
  /** Id of the proxy node that published the record. */
  readonly nodeId?: string;
}
