export { RequestStatistics } from "./request-statistics";
export type { ApplyResult, RequestStatisticsOptions, StorageStats } from "./request-statistics";
export type {
  ApiSnapshotJson,
  MergeResult,
  ModelSnapshotJson,
  RequestDetailJson,
  SnapshotOptions,
  StatisticsSnapshot,
  StatisticsTotals,
  TokenStatsJson,
} from "./snapshot-types";
export { allocateDetailColumns, sliceDetailColumns, validateDetailColumns } from "./detail-columns";
export type { DetailColumns, MutableDetailColumns } from "./detail-columns";
export { parseImportBody, parseImportText, parseStatisticsSnapshot } from "./import-parse";
export type { ParsedImportBody, ParsedSnapshot } from "./import-parse";
export type { Timestamp, Clock, SystemClockOptions } from "./timestamp";
export {
  ZERO_TIMESTAMP,
  ZERO_TIME_EPOCH_SECONDS,
  compareTimestamps,
  createSystemClock,
  dayKey,
  hour,
  isZeroTimestamp,
  timestampFieldsProblem,
  timestampProblem,
  toUtc,
  validateTimestamp,
} from "./timestamp";
export { formatGoRfc3339Nano, formatRfc3339Nano, parseRfc3339 } from "./rfc3339";
export { normaliseTokens, normaliseTotal } from "./tokens";
export { compareUtf8, goJsonString, goTrimSpace } from "./go-text";
export { STATISTICS_ERROR_CODES, StatisticsError, isStatisticsError } from "./errors";
export type { StatisticsErrorCode } from "./errors";
export type { StatisticsLogger } from "./logger";
export type { TokenCounts, UsageRecord, UsageRecordExtra } from "./usage-record";
export { statisticsKey } from "./statistics-key";
