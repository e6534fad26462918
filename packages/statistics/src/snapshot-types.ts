import type { Timestamp } from "./timestamp";

/*
 * The seed's `StatisticsSnapshot` JSON, field for field (snake_case, as Go's json tags name them),
 * plus `latency_ms` on each detail (later seed versions). Every number is an int64 in Go and a safe
 * integer here; maps are plain objects.
 */

/** The seed's `TokenStats` JSON. */
export interface TokenStatsJson {
  input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  total_tokens: number;
}

/** The seed's `RequestDetail` JSON, with `latency_ms` in the position later seed versions give it. */
export interface RequestDetailJson {
  /** RFC3339Nano in the detail's own offset (Go's `time.Time` JSON). */
  timestamp: string;
  latency_ms: number;
  source: string;
  auth_index: string;
  tokens: TokenStatsJson;
  failed: boolean;
}

/** The seed's `ModelSnapshot` JSON. */
export interface ModelSnapshotJson {
  total_requests: number;
  total_tokens: number;
  details: RequestDetailJson[];
}

/** The seed's `APISnapshot` JSON. */
export interface ApiSnapshotJson {
  total_requests: number;
  total_tokens: number;
  models: Record<string, ModelSnapshotJson>;
}

/** The seed's `StatisticsSnapshot` JSON (the `usage` of GET /v0/management/usage and of an export). */
export interface StatisticsSnapshot {
  total_requests: number;
  success_count: number;
  failure_count: number;
  total_tokens: number;
  apis: Record<string, ApiSnapshotJson>;
  requests_by_day: Record<string, number>;
  /** Keys `00`..`23`: hour of day in each detail's own offset, all days folded together. */
  requests_by_hour: Record<string, number>;
  tokens_by_day: Record<string, number>;
  tokens_by_hour: Record<string, number>;
}

/** Options of `snapshot()` / `snapshotJson()`. The totals and buckets are always whole. */
export interface SnapshotOptions {
  /** false: every model's `details` is `[]` (totals unchanged). Default true. */
  readonly details?: boolean;
  /** Only details at or after this instant (offsets play no part). Default: all. */
  readonly detailsSince?: Timestamp;
}

/** The seed's `MergeResult`: details added, and duplicates skipped (blank API names count in neither). */
export interface MergeResult {
  added: number;
  skipped: number;
}

/** The global counters of the store. */
export interface StatisticsTotals {
  totalRequests: number;
  successCount: number;
  failureCount: number;
  totalTokens: number;
}
