import type { DetailColumns } from "@usage-ledger/wire";

/**
 * What this package needs of a statistics store (packages/statistics' `RequestStatistics` has it):
 * an append-only, insertion-ordered detail store that exports and merges columnar batches.
 */
export interface DetailStatistics {
  /** Details stored; details `[0, detailCount)` never change (the store only appends). */
  readonly detailCount: number;
  /** Details `[from, to)` as a columnar batch. */
  exportDetails(from: number, to: number): DetailColumns;
  /** Merges a batch with `mergeSnapshot` semantics (duplicates skipped). */
  mergeDetails(columns: DetailColumns): { added: number; skipped: number };
  /** The global counters. */
  totals(): StatisticsTotals;
}

/** The statistics' global counters (packages/statistics `totals()`). */
export interface StatisticsTotals {
  readonly totalRequests: number;
  readonly successCount: number;
  readonly failureCount: number;
  readonly totalTokens: number;
}

/** Rows `[start, end)` of a batch as views (no copy); the string table is shared. */
export function sliceColumns(columns: DetailColumns, start: number, end: number): DetailColumns {
  if (start === 0 && end === columns.count && columns.api.length === end) return columns;
  return {
    count: end - start,
    strings: columns.strings,
    api: columns.api.subarray(start, end),
    model: columns.model.subarray(start, end),
    source: columns.source.subarray(start, end),
    authIndex: columns.authIndex.subarray(start, end),
    epochSeconds: columns.epochSeconds.subarray(start, end),
    nanos: columns.nanos.subarray(start, end),
    offsetSeconds: columns.offsetSeconds.subarray(start, end),
    failed: columns.failed.subarray(start, end),
    latencyMs: columns.latencyMs.subarray(start, end),
    inputTokens: columns.inputTokens.subarray(start, end),
    outputTokens: columns.outputTokens.subarray(start, end),
    reasoningTokens: columns.reasoningTokens.subarray(start, end),
    cachedTokens: columns.cachedTokens.subarray(start, end),
    totalTokens: columns.totalTokens.subarray(start, end),
  };
}

/** Whether two totals are the same counters. */
export function sameTotals(a: StatisticsTotals, b: StatisticsTotals): boolean {
  return (
    a.totalRequests === b.totalRequests &&
    a.successCount === b.successCount &&
    a.failureCount === b.failureCount &&
    a.totalTokens === b.totalTokens
  );
}
