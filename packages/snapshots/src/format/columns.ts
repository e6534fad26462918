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

/** Rows `[start, end)` of a batch as views (no copy): the statistics core's slice. */
export { sliceDetailColumns as sliceColumns } from "@usage-ledger/statistics";

/** Whether two totals are the same counters. */
export function sameTotals(a: StatisticsTotals, b: StatisticsTotals): boolean {
  return (
    a.totalRequests === b.totalRequests &&
    a.successCount === b.successCount &&
    a.failureCount === b.failureCount &&
    a.totalTokens === b.totalTokens
  );
}
