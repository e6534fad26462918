/** Every error code of packages/statistics (each one documented in packages/statistics/README.md). */
export const STATISTICS_ERROR_CODES = [
  "STATS_INVALID_JSON",
  "STATS_UNSUPPORTED_VERSION",
  "STATS_INVALID_TIMESTAMP",
  "STATS_INVALID_RECORD",
  "STATS_INVALID_COLUMNS",
  "STATS_INVALID_RANGE",
  "STATS_CAPACITY_EXCEEDED",
] as const;

/** One of {@link STATISTICS_ERROR_CODES}. */
export type StatisticsErrorCode = (typeof STATISTICS_ERROR_CODES)[number];

/**
 * The only error packages/statistics throws for bad input. Never retryable: the same input fails the
 * same way again. A throwing call leaves the store unchanged.
 */
export class StatisticsError extends Error {
  override readonly name = "StatisticsError";
  readonly code: StatisticsErrorCode;
  readonly retryable = false as const;

  constructor(code: StatisticsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for a {@link StatisticsError}, optionally of one code. */
export function isStatisticsError(error: unknown, code?: StatisticsErrorCode): error is StatisticsError {
  return error instanceof StatisticsError && (code === undefined || error.code === code);
}
